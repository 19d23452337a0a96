package gpio

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"periph.io/x/conn/v3/driver/driverreg"
	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"
	"periph.io/x/host/v3/gpioioctl"
	"periph.io/x/host/v3/sysfs"

	"github.com/oscgpio/oscgpio/wiring"
)

// Host is the backend on the machine's own GPIO through periph.io's host
// drivers: the gpioioctl character-device driver (/dev/gpiochipN; the only
// one on a Pi 5) and, through periph's registry, the bcm283x driver (Pi 1-4).
// Lines are found by chip label and line name, never by chip number: the
// header's chip number changes between Pi models and kernels.
type Host struct {
	log      *slog.Logger
	chips    []hostChip
	byName   func(string) pgpio.PinIO
	openErrs []error // GPIO devices that exist but could not be opened

	mu   sync.Mutex
	pins map[string]pgpio.PinIO
}

var _ Backend = (*Host)(nil)

// hostChip is what Pin needs of a GPIO chip.
type hostChip struct {
	name  string                   // "gpiochip0"
	label string                   // "pinctrl-bcm2835"
	lines []string                 // line names, by offset
	line  func(string) pgpio.PinIO // the line with that name, or nil
	// openSet returns how to request the named line as a one-line input
	// LineSet (nil: edges through the GPIOLine only).
	openSet func(line string) func(pgpio.Pull, pgpio.Edge) (lineSet, error)
	// openPair requests two of its lines as one input LineSet (an
	// encoder's; nil: none).
	openPair pairOpener
}

// hostEnv is what OpenHost uses of the machine, replaced in tests.
type hostEnv struct {
	glob     func(pattern string) ([]string, error)
	open     func(path string, flag int) error // open and close again
	init     func() (*driverreg.State, error)
	chips    func() []hostChip
	byName   func(string) pgpio.PinIO
	anyPin   func() bool // periph registered at least one GPIO
	stdLogTo func(w *bytes.Buffer) (restore func())
}

var realHostEnv = hostEnv{
	glob: filepath.Glob,
	open: func(path string, flag int) error {
		f, err := os.OpenFile(path, flag, 0)
		if err != nil {
			return err
		}
		return f.Close()
	},
	init:   host.Init,
	chips:  ioctlChips,
	byName: registryPin,
	anyPin: func() bool { return len(gpioreg.All()) > 0 },
	stdLogTo: func(w *bytes.Buffer) func() {
		old := log.Writer()
		log.SetOutput(w)
		return func() { log.SetOutput(old) }
	},
}

// ioctlChips lists the chips periph's gpioioctl driver opened.
func ioctlChips() []hostChip {
	var out []hostChip
	for _, c := range gpioioctl.Chips {
		hc := hostChip{name: c.Name(), label: c.Label()}
		for _, l := range c.Lines() {
			hc.lines = append(hc.lines, l.Name())
		}
		hc.line = func(name string) pgpio.PinIO {
			if l := c.ByName(name); l != nil {
				return l
			}
			return nil
		}
		hc.openSet = func(line string) func(pgpio.Pull, pgpio.Edge) (lineSet, error) {
			return openIoctlSet(c, line)
		}
		hc.openPair = openIoctlPair(c)
		out = append(out, hc)
	}
	return out
}

// registryPin is gpioreg.ByName for names only (callers pass "GPIOn"; a bare
// number would make gpioreg look the pin up by number). periph's sysfs driver
// names its pins "GPIO<global number>" (a number, not the line's name, and
// edges through sysfs are broken on current kernels), so its pins are not used.
func registryPin(name string) pgpio.PinIO {
	p := gpioreg.ByName(name)
	if p == nil {
		return nil
	}
	real := p
	if r, ok := p.(pgpio.RealPin); ok {
		real = r.Real()
	}
	if _, ok := real.(*sysfs.Pin); ok {
		return nil
	}
	return p
}

// OpenHost initialises periph's host drivers (host.Init). Each driver that
// failed to load is logged on its own warning line and the others are used.
// When no GPIO is usable the error names the device and the fix, e.g.
// `open /dev/gpiochip0: permission denied — add the user to the gpio group
// (sudo usermod -aG gpio $USER, then log in again)`.
//
// periph logs some failures (a chip it cannot open) with the standard log
// package; OpenHost diverts the standard logger's output while host.Init runs
// and repeats those lines at debug level, since it reports them itself.
func OpenHost(log *slog.Logger) (*Host, error) {
	return openHost(log, realHostEnv)
}

func openHost(log *slog.Logger, env hostEnv) (*Host, error) {
	if log == nil {
		log = slog.Default()
	}
	devices, openErrs := checkDevices(env.glob, env.open)

	var captured bytes.Buffer
	restore := env.stdLogTo(&captured)
	state, err := func() (st *driverreg.State, err error) {
		defer restore()
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return env.init()
	}()
	for _, line := range strings.Split(strings.TrimSpace(captured.String()), "\n") {
		if line != "" {
			log.Debug("periph", "log", line)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("initialising periph.io host drivers: %w", err)
	}
	if state != nil {
		for _, f := range state.Failed {
			log.Warn("gpio driver failed to load", "driver", f.D.String(), "err", f.Err)
		}
		for _, d := range state.Loaded {
			log.Debug("gpio driver loaded", "driver", d.String())
		}
	}
	h := &Host{log: log, chips: env.chips(), byName: env.byName, openErrs: openErrs, pins: map[string]pgpio.PinIO{}}
	var chipErrs []error // /dev/gpiomem* only matters when nothing else works
	for _, e := range openErrs {
		if pe := (*fs.PathError)(nil); errors.As(e, &pe) && strings.HasPrefix(pe.Path, "/dev/gpiochip") {
			chipErrs = append(chipErrs, e)
		}
	}
	piChip := false
	for _, c := range h.chips {
		piChip = piChip || chipRank(c.label) >= 0
	}
	if len(chipErrs) > 0 && !piChip {
		// The header's chip is most likely the one that could not be opened.
		return nil, deviceHint(chipErrs[0])
	}
	if len(h.chips) == 0 && !env.anyPin() {
		return nil, noGPIOError(devices, openErrs, state)
	}
	for _, e := range chipErrs {
		log.Warn("GPIO device not usable", "err", deviceHint(e))
	}
	for _, c := range h.chips {
		log.Debug("gpio chip", "chip", c.name, "label", c.label, "lines", len(c.lines))
	}
	return h, nil
}

// checkDevices opens every GPIO device the way periph will, to report
// failures that periph only writes to the standard logger. It returns the
// devices found and the errors of those that could not be opened.
func checkDevices(glob func(string) ([]string, error), open func(string, int) error) ([]string, []error) {
	var found []string
	var errs []error
	for _, d := range []struct {
		pattern string
		flag    int
	}{{"/dev/gpiochip*", os.O_RDONLY}, {"/dev/gpiomem*", os.O_RDWR}} {
		paths, _ := glob(d.pattern)
		for _, p := range paths {
			found = append(found, p)
			if err := open(p, d.flag); err != nil {
				var pe *fs.PathError
				if !errors.As(err, &pe) {
					err = &fs.PathError{Op: "open", Path: p, Err: err}
				}
				errs = append(errs, err)
			}
		}
	}
	return found, errs
}

// deviceHint adds what to do to a device open error.
func deviceHint(err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%w — add the user to the gpio group (sudo usermod -aG gpio $USER, then log in again)", err)
	}
	return err
}

// noGPIOError says why no GPIO is usable: a device that cannot be opened
// (with the fix), no device at all, or drivers that failed.
func noGPIOError(devices []string, openErrs []error, state *driverreg.State) error {
	if len(openErrs) > 0 {
		return deviceHint(openErrs[0])
	}
	if len(devices) == 0 {
		return errors.New("no GPIO device found: /dev/gpiochip* does not exist (not a Raspberry Pi, or its kernel has no GPIO character device); use --gpio sim to run without GPIO hardware")
	}
	var failed []string
	if state != nil {
		for _, f := range state.Failed {
			failed = append(failed, fmt.Sprintf("%s: %v", f.D, f.Err))
		}
	}
	msg := fmt.Sprintf("GPIO devices %s exist but periph.io found no GPIO line on them", strings.Join(devices, ", "))
	if len(failed) > 0 {
		msg += " (failed drivers: " + strings.Join(failed, "; ") + ")"
	}
	return errors.New(msg)
}

// Name returns "host".
func (h *Host) Name() string { return "host" }

// chipRank orders chips by label: the header's chip of a Pi 5, Pi 4, Pi 1-3,
// then any other "pinctrl-" chip. Other chips (expanders, firmware GPIO) are
// not searched; -1.
func chipRank(label string) int {
	for i, l := range piChipLabels {
		if label == l {
			return i
		}
	}
	if strings.HasPrefix(label, "pinctrl-") {
		return len(piChipLabels)
	}
	return -1
}

// pickLine finds the line called name on the best-ranked chip that has it,
// by label and line name only (never by chip number or offset). It returns
// the chip's index in chips and the line name to ask that chip for: periph
// renames a line whose name another driver registered first to
// "<chip>-<name>", which is accepted too.
func pickLine(chips []hostChip, name string) (int, string, bool) {
	for rank := 0; rank <= len(piChipLabels); rank++ {
		for i, c := range chips {
			if chipRank(c.label) != rank {
				continue
			}
			for _, l := range c.lines {
				if l == name || l == c.name+"-"+name {
					return i, l, true
				}
			}
		}
	}
	return -1, "", false
}

// bcmName normalises "GPIO17" (any case) and refuses anything else: a bare
// number would make periph's registry look a pin up by number.
func bcmName(name string) (string, bool) {
	n, ok := wiring.GPIONumber(name)
	if !ok {
		return "", false
	}
	return "GPIO" + strconv.Itoa(n), true
}

// Pin returns the line called name ("GPIO17"): first on the GPIO chip with a
// Raspberry Pi label (pinctrl-rp1, pinctrl-bcm2711, pinctrl-bcm2835, then
// any pinctrl-*), else from periph's registry by name.
func (h *Host) Pin(name string) (pgpio.PinIO, error) {
	n, ok := bcmName(name)
	if !ok {
		return nil, fmt.Errorf("host: %q is not a BCM GPIO name like GPIO17 (GPIO0 to GPIO27)", name)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if p := h.pins[n]; p != nil {
		return p, nil
	}
	var p pgpio.PinIO
	if i, line, ok := pickLine(h.chips, n); ok {
		c := h.chips[i]
		if l := c.line(line); l != nil {
			hl := &hostLine{line: l, now: time.Now, log: h.log, chip: c.name, lineName: line, openPair: c.openPair}
			if c.openSet != nil {
				hl.openSet = c.openSet(line)
			}
			p = hl
			h.log.Debug("gpio line", "pin", n, "chip", c.name, "label", c.label, "line", line)
		}
	}
	if p == nil {
		if p = h.byName(n); p != nil {
			h.log.Debug("gpio line from periph's registry", "pin", n, "driver_pin", p.String())
		}
	}
	if p == nil {
		return nil, h.notFound(n)
	}
	h.pins[n] = p
	return p, nil
}

func (h *Host) notFound(name string) error {
	var chips []string
	for _, c := range h.chips {
		chips = append(chips, fmt.Sprintf("%s [%s]", c.name, c.label))
	}
	where := "no GPIO chip was opened"
	if len(chips) > 0 {
		where = "chips " + strings.Join(chips, ", ")
	}
	msg := fmt.Sprintf("host: no GPIO line named %s (%s; periph's registry has none either)", name, where)
	for _, e := range h.openErrs {
		msg += "; " + deviceHint(e).Error()
	}
	return errors.New(msg)
}

// Release closes the line of pin name alone (the kernel frees it; a Run on
// it returns an error); the next Pin requests it again. A pin an encoder's
// Run holds in its two-line set closes that set, which frees both lines (the
// encoder's Run returns an error); after the encoder stopped, its Run has
// closed the set already. Releasing a pin not handed out does nothing.
func (h *Host) Release(name string) error {
	n, ok := bcmName(name)
	if !ok {
		return fmt.Errorf("host: %q is not a BCM GPIO name like GPIO17 (GPIO0 to GPIO27)", name)
	}
	h.mu.Lock()
	p := h.pins[n]
	delete(h.pins, n)
	h.mu.Unlock()
	if p == nil {
		return nil
	}
	if err := closePin(p); err != nil {
		return fmt.Errorf("host: releasing %s: %w", n, err)
	}
	h.log.Debug("gpio line released", "pin", n)
	return nil
}

// closePin interrupts waits on p and releases it.
func closePin(p pgpio.PinIO) error {
	if hl, ok := p.(*hostLine); ok {
		return hl.Close()
	}
	err := p.Halt()
	switch c := p.(type) {
	case interface{ Close() }:
		c.Close()
	case interface{ Close() error }:
		err = errors.Join(err, c.Close())
	}
	return err
}

// Close releases the lines handed out (the kernel frees them; the next Pin
// requests them again) and interrupts pending edge waits.
func (h *Host) Close() error {
	h.mu.Lock()
	pins := h.pins
	h.pins = map[string]pgpio.PinIO{}
	h.mu.Unlock()
	var errs []error
	for name, p := range pins {
		if err := closePin(p); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
