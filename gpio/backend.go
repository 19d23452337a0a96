package gpio

import (
	"bytes"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	pgpio "periph.io/x/conn/v3/gpio"
)

// Backend hands out pins by their BCM name. Both backends return periph
// gpio.PinIO values, so Out and In work the same on each.
type Backend interface {
	// Name returns "host" or "sim".
	Name() string
	// Pin returns the pin with the BCM name, e.g. "GPIO17"; the error names
	// the pin and why it is not available.
	Pin(name string) (pgpio.PinIO, error)
	// Release releases one pin alone, for a reload that removes it: the host
	// closes its line (the kernel frees it), the sim returns it to
	// unconfigured and removes its jumpers. A Run on the pin returns an error.
	// The next Pin with that name configures it afresh.
	Release(name string) error
	// Close releases the pins handed out and interrupts pending edge waits.
	Close() error
}

// Open opens the backend kind: "host" (periph.io on the machine's GPIO),
// "sim" (virtual pins) or "auto": host when a Raspberry Pi GPIO chip is
// present, otherwise sim with one warning line. On a Raspberry Pi, auto
// returns the host backend's error (for example a permission problem) instead
// of falling back to sim.
func Open(kind string, log *slog.Logger) (Backend, error) {
	if log == nil {
		log = slog.Default()
	}
	switch kind {
	case "sim":
		return NewSim(log), nil
	case "host":
		return openHostBackend(log)
	case "auto":
		if how, ok := detectPi(os.DirFS("/")); ok {
			log.Debug("Raspberry Pi GPIO found", "by", how)
			return openHostBackend(log)
		}
		log.Warn("no Raspberry Pi GPIO found; using the simulated backend (--gpio sim)")
		return NewSim(log), nil
	}
	return nil, fmt.Errorf("unknown GPIO backend %q: use auto, host or sim", kind)
}

// openHostBackend avoids returning a typed nil *Host inside a Backend.
func openHostBackend(log *slog.Logger) (Backend, error) {
	h, err := OpenHost(log)
	if err != nil {
		return nil, err
	}
	return h, nil
}

// piChipLabels are the labels of the GPIO chips that carry a Raspberry Pi's
// 40-pin header, in order of preference: Pi 5 (RP1), Pi 4, Pi 1-3 and Zero.
var piChipLabels = []string{"pinctrl-rp1", "pinctrl-bcm2711", "pinctrl-bcm2835"}

// detectPi reports whether the machine whose root is fsys has Raspberry Pi
// GPIO, and how it was recognised: a GPIO chip label in sysfs, the device
// tree model, or /dev/gpiomem. Paths are relative to fsys (os.DirFS("/")).
func detectPi(fsys fs.FS) (string, bool) {
	for _, pattern := range []string{"sys/bus/gpio/devices/*/label", "sys/class/gpio/gpiochip*/label"} {
		files, _ := fs.Glob(fsys, pattern)
		for _, f := range files {
			b, err := fs.ReadFile(fsys, f)
			if err != nil {
				continue
			}
			label := strings.TrimSpace(string(b))
			for _, l := range piChipLabels {
				if label == l {
					return "GPIO chip label " + label + " (/" + f + ")", true
				}
			}
		}
	}
	for _, f := range []string{"proc/device-tree/model", "sys/firmware/devicetree/base/model"} {
		b, err := fs.ReadFile(fsys, f)
		if err == nil && bytes.Contains(b, []byte("Raspberry Pi")) {
			return "device tree model " + strings.TrimRight(string(b), "\x00\n"), true
		}
	}
	if _, err := fs.Stat(fsys, "dev/gpiomem"); err == nil {
		return "/dev/gpiomem", true
	}
	return "", false
}
