//go:build linux

package e2e

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"
)

// pinToCPU runs the calling goroutine on CPU cpu only, from now on: it
// keeps its thread, whose affinity is set (threads started later inherit
// it).
func pinToCPU(cpu int) error {
	runtime.LockOSThread()
	var mask [16]uint64 // cpu_set_t: 1024 CPUs
	mask[cpu/64] |= 1 << (cpu % 64)
	if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, 0, unsafe.Sizeof(mask), uintptr(unsafe.Pointer(&mask[0]))); e != 0 {
		return fmt.Errorf("pinning to CPU %d: %w", cpu, e)
	}
	return nil
}
