package gpio

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/spi"
	"periph.io/x/host/v3/sysfs"
)

// Seams for tests: the device files and periph's Linux drivers.
var (
	statDev = os.Stat
	openI2C = func(n int) (i2c.BusCloser, error) { return sysfs.NewI2C(n) }
	openSPI = func(bus, cs int) (spi.PortCloser, error) { return sysfs.NewSPI(bus, cs) }
)

// OpenI2CBus opens the Linux I2C bus name: "/dev/i2c-1", "I2C1" or "1". The
// bus's String is its device file. A missing device file means I2C is not
// enabled, and the error says how to enable it; a permission error says
// which group to join. It uses periph's sysfs driver directly, so it works
// whether or not the host GPIO backend is open (periph's registry,
// i2creg.Open, only knows buses after host.Init).
func OpenI2CBus(name string) (i2c.BusCloser, error) {
	n, ok := busNumber(name, "/dev/i2c-", "i2c")
	if !ok {
		return nil, fmt.Errorf("I2C bus %q: not a bus name; use /dev/i2c-1, I2C1 or 1", name)
	}
	dev := "/dev/i2c-" + strconv.Itoa(n)
	if err := checkDev(dev, "I2C", "i2c"); err != nil {
		return nil, err
	}
	b, err := openI2C(n)
	if err != nil {
		return nil, devError(dev, "I2C", "i2c", err)
	}
	return &namedI2C{BusCloser: b, dev: dev}, nil
}

// OpenSPIPort opens the Linux SPI port name: "SPI0.0" (bus 0, chip select
// CE0), "/dev/spidev0.0" or "0.0". The port's String is its device file.
// Errors are as for OpenI2CBus, with the SPI interface's fix.
func OpenSPIPort(name string) (spi.PortCloser, error) {
	bus, cs, ok := spiNumbers(name)
	if !ok {
		return nil, fmt.Errorf("SPI port %q: not a port name; use SPI0.0 (bus 0, CE0), SPI0.1 (CE1) or /dev/spidev0.0", name)
	}
	dev := fmt.Sprintf("/dev/spidev%d.%d", bus, cs)
	if err := checkDev(dev, "SPI", "spi"); err != nil {
		return nil, err
	}
	p, err := openSPI(bus, cs)
	if err != nil {
		return nil, devError(dev, "SPI", "spi", err)
	}
	return &namedSPI{PortCloser: p, dev: dev}, nil
}

// namedI2C is an I2C bus whose String is its device file.
type namedI2C struct {
	i2c.BusCloser
	dev string
}

func (b *namedI2C) String() string { return b.dev }

// namedSPI is an SPI port whose String is its device file.
type namedSPI struct {
	spi.PortCloser
	dev string
}

func (p *namedSPI) String() string { return p.dev }

// busNumber parses "/dev/i2c-1", "I2C1", "i2c-1" or "1".
func busNumber(name, devPrefix, short string) (int, bool) {
	s := name
	switch {
	case strings.HasPrefix(s, devPrefix):
		s = s[len(devPrefix):]
	case len(s) > len(short) && strings.EqualFold(s[:len(short)], short):
		s = strings.TrimPrefix(s[len(short):], "-")
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0 && s != "" && s[0] != '+'
}

// spiNumbers parses "SPI0.0", "/dev/spidev0.0" or "0.0".
func spiNumbers(name string) (bus, cs int, ok bool) {
	s := name
	switch {
	case strings.HasPrefix(s, "/dev/spidev"):
		s = s[len("/dev/spidev"):]
	case len(s) > 3 && strings.EqualFold(s[:3], "spi"):
		s = s[3:]
	}
	b, c, found := strings.Cut(s, ".")
	if !found {
		return 0, 0, false
	}
	bus, err1 := strconv.Atoi(b)
	cs, err2 := strconv.Atoi(c)
	return bus, cs, err1 == nil && err2 == nil && bus >= 0 && cs >= 0
}

// checkDev explains a device file that is missing or not accessible.
func checkDev(dev, iface, group string) error {
	if _, err := statDev(dev); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			dt := "spi=on"
			if iface == "I2C" {
				dt = "i2c_arm=on"
			}
			return fmt.Errorf("%s does not exist: %s is not enabled — sudo raspi-config -> Interface Options -> %s, then reboot (or add dtparam=%s to /boot/firmware/config.txt)", dev, iface, iface, dt)
		}
		return devError(dev, iface, group, err)
	}
	return nil
}

// devError explains a device file that could not be opened.
func devError(dev, iface, group string, err error) error {
	if errors.Is(err, fs.ErrPermission) || strings.Contains(err.Error(), "permission denied") {
		return fmt.Errorf("%s: permission denied: add the user to the %s group (sudo usermod -aG %s $USER) and log in again, or run as root: %w", dev, group, group, err)
	}
	if errors.Is(err, fs.ErrNotExist) || strings.Contains(err.Error(), "no such file") {
		return fmt.Errorf("%s does not exist: %s is not enabled — sudo raspi-config -> Interface Options -> %s, then reboot: %w", dev, iface, iface, err)
	}
	return fmt.Errorf("opening %s (%s): %w", dev, iface, err)
}
