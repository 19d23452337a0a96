package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"unsafe"
)

// The kernel's view of a line, from GPIO_V2_GET_LINEINFO_IOCTL on the chip's
// character device (uapi linux/gpio.h, struct gpio_v2_line_info: 256 bytes).
const (
	gpioV2GetLineinfoIoctl = 0xC100B405 // _IOWR(0xB4, 0x05, struct gpio_v2_line_info)
	gpioV2LineFlagUsed     = 1 << 0
	gpioV2LineFlagInput    = 1 << 2
	gpioV2LineFlagOutput   = 1 << 3
)

type gpioV2LineInfo struct {
	name     [32]byte
	consumer [32]byte
	offset   uint32
	numAttrs uint32
	flags    uint64
	attrs    [10][16]byte
	padding  [4]uint32
}

// lineInfo is what the kernel says of one line of a GPIO chip.
type lineInfo struct {
	offset   int
	name     string
	consumer string
	flags    uint64
}

func (l lineInfo) used() bool { return l.flags&gpioV2LineFlagUsed != 0 }

func (l lineInfo) String() string {
	dir := "?"
	switch {
	case l.flags&gpioV2LineFlagOutput != 0:
		dir = "output"
	case l.flags&gpioV2LineFlagInput != 0:
		dir = "input"
	}
	return fmt.Sprintf("%s used=%v consumer=%q direction=%s (kernel's flags 0x%x)", l.name, l.used(), l.consumer, dir, l.flags)
}

// readLineInfo asks the chip at path (/dev/gpiochipN) about the line at offset.
func readLineInfo(path string, offset int) (lineInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return lineInfo{}, fmt.Errorf("line info: %w", err)
	}
	defer f.Close()
	var info gpioV2LineInfo
	if unsafe.Sizeof(info) != 256 {
		return lineInfo{}, fmt.Errorf("line info: struct gpio_v2_line_info is %d bytes here, want 256", unsafe.Sizeof(info))
	}
	info.offset = uint32(offset)
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), gpioV2GetLineinfoIoctl, uintptr(unsafe.Pointer(&info))); e != 0 {
		return lineInfo{}, fmt.Errorf("GPIO_V2_GET_LINEINFO_IOCTL %s line %d: %w", path, offset, e)
	}
	return lineInfo{
		offset:   offset,
		name:     strings.TrimRight(string(info.name[:]), "\x00"),
		consumer: strings.TrimRight(string(info.consumer[:]), "\x00"),
		flags:    info.flags,
	}, nil
}
