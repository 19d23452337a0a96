package gpio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The kernel's PWM sysfs interface (Documentation/driver-api/pwm.rst):
// /sys/class/pwm/pwmchipN/{npwm,export,unexport} and, once channel C is
// exported, pwmchipN/pwmC/{period,duty_cycle,enable} in nanoseconds. The
// kernel refuses (EINVAL) a duty_cycle larger than the period, and a period
// smaller than the duty_cycle. periph.io has no driver for it; this is one.

// udevRuleHint says how to make the PWM files writable without root.
const udevRuleHint = "install the udev rule (sudo cp deploy/99-oscgpio-pwm.rules /etc/udev/rules.d/ && sudo udevadm control --reload-rules && sudo udevadm trigger --subsystem-match=pwm), " +
	"add the user to the gpio group (sudo usermod -aG gpio $USER, then log in again), or run as root"

// sysfsIO is how the kernel PWM driver writes sysfs files and checks that it
// may; tests replace it with a fake kernel.
type sysfsIO interface {
	// WriteFile writes data to the existing file path, as one write.
	WriteFile(path, data string) error
	// Writable returns nil when path can be opened for writing.
	Writable(path string) error
}

// osSysfs is sysfsIO on the real filesystem.
type osSysfs struct{}

func (osSysfs) WriteFile(path, data string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(data)
	return errors.Join(err, f.Close())
}

func (osSysfs) Writable(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

// kernelChannel is a PWM channel found in sysfs.
type kernelChannel struct {
	chipDir string // <root>/sys/class/pwm/pwmchipN
	chip    string // "pwmchipN"
	channel int
	how     string // what recognised it, for logs
}

// rp1PWMChannels maps a GPIO to its channel of the Pi 5's RP1 PWM0.
var rp1PWMChannels = map[int]int{12: 0, 13: 1, 18: 2, 19: 3}

// bcm2835PWMChannels maps a GPIO to its channel of a Pi 1-4's PWM (PWM0 =
// channel 0, PWM1 = channel 1).
var bcm2835PWMChannels = map[int]int{12: 0, 13: 1, 18: 0, 19: 1}

// findKernelPWM looks in <root>/sys/class/pwm for a chip that has a channel
// on GPIO n. Chips are recognised by the compatible string of their device
// tree node (the chip's device/of_node), never by number:
//
//   - brcm,bcm2835-pwm (Pi 1-4): GPIO12/18 channel 0, GPIO13/19 channel 1,
//     for the pins its pinctrl-0 routes to it (dtoverlay=pwm-2chan: 18
//     and 19; with pin= overrides, 12 and 13). When the pinctrl cannot be
//     read, the overlay's default 18 and 19 are assumed.
//   - raspberrypi,rp1-pwm (Pi 5): GPIO12, 13, 18, 19 are channels 0-3, for
//     the pins its pinctrl-0 routes (all four when it cannot be read).
//   - pwm-gpio and raspberrypi,pwm-pio-rp1 (any pin): one channel, 0, on
//     the line of its gpios property.
func findKernelPWM(root string, n int) (kernelChannel, bool, error) {
	class := filepath.Join(root, "sys/class/pwm")
	chips, err := filepath.Glob(filepath.Join(class, "pwmchip*"))
	if err != nil || len(chips) == 0 {
		return kernelChannel{}, false, err
	}
	sort.Strings(chips)
	var errs []error
	for _, dir := range chips {
		of := filepath.Join(dir, "device", "of_node")
		compat, err := os.ReadFile(filepath.Join(of, "compatible"))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", filepath.Base(dir), err))
			continue
		}
		npwm := int(readInt(filepath.Join(dir, "npwm"), -1))
		kc := kernelChannel{chipDir: dir, chip: filepath.Base(dir)}
		for _, c := range strings.Split(strings.TrimRight(string(compat), "\x00\n"), "\x00") {
			var table map[int]int
			var deflt []int
			switch c {
			case "brcm,bcm2835-pwm":
				table, deflt = bcm2835PWMChannels, []int{18, 19}
			case "raspberrypi,rp1-pwm":
				table, deflt = rp1PWMChannels, []int{12, 13, 18, 19}
			case "pwm-gpio", "raspberrypi,pwm-pio-rp1":
				if line, ok := dtGPIOLine(of); ok && line == n {
					kc.channel, kc.how = 0, c+" gpios"
					return kc, true, nil
				}
				continue
			default:
				continue
			}
			ch, ok := table[n]
			if !ok || (npwm >= 0 && ch >= npwm) {
				continue
			}
			routed, known := dtPinctrlPins(root, of)
			if !known {
				routed = deflt
			}
			for _, p := range routed {
				if p == n {
					kc.channel, kc.how = ch, c
					if !known {
						kc.how += " (pinctrl not readable; overlay default pins assumed)"
					}
					return kc, true, nil
				}
			}
		}
	}
	return kernelChannel{}, false, errors.Join(errs...)
}

// readInt reads a decimal integer file, or returns def.
func readInt(path string, def int64) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return def
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return def
	}
	return v
}

// dtCells reads a device tree property of big-endian 32-bit cells.
func dtCells(path string) ([]uint32, bool) {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 || len(b)%4 != 0 {
		return nil, false
	}
	out := make([]uint32, len(b)/4)
	for i := range out {
		out[i] = binary.BigEndian.Uint32(b[4*i:])
	}
	return out, true
}

// dtGPIOLine returns the line of a node's gpios property (<&gpio LINE FLAGS>):
// on a Pi's header chip, the BCM number.
func dtGPIOLine(of string) (int, bool) {
	c, ok := dtCells(filepath.Join(of, "gpios"))
	if !ok || len(c) < 2 {
		return 0, false
	}
	return int(c[1]), true
}

// dtPinctrlPins returns the GPIOs the pin groups of a node's pinctrl-0
// select, found by phandle under <root>/sys/firmware/devicetree/base:
// brcm,pins cells (Pi 1-4) or pins strings "gpio18" (Pi 5), in the group
// node or its children. known is false when they cannot be read.
func dtPinctrlPins(root, of string) (pins []int, known bool) {
	handles, ok := dtCells(filepath.Join(of, "pinctrl-0"))
	if !ok {
		return nil, false
	}
	want := map[uint32]bool{}
	for _, h := range handles {
		want[h] = true
	}
	base := filepath.Join(root, "sys/firmware/devicetree/base")
	var groups []string
	_ = filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "phandle" {
			return nil
		}
		if c, ok := dtCells(path); ok && len(c) == 1 && want[c[0]] {
			groups = append(groups, filepath.Dir(path))
		}
		return nil
	})
	if len(groups) < len(want) {
		return nil, false
	}
	for _, g := range groups {
		nodes := []string{g}
		if ents, err := os.ReadDir(g); err == nil {
			for _, e := range ents {
				if e.IsDir() {
					nodes = append(nodes, filepath.Join(g, e.Name()))
				}
			}
		}
		for _, node := range nodes {
			if c, ok := dtCells(filepath.Join(node, "brcm,pins")); ok {
				for _, p := range c {
					pins = append(pins, int(p))
				}
			}
			if b, err := os.ReadFile(filepath.Join(node, "pins")); err == nil {
				for _, s := range bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0}) {
					if v, err := strconv.Atoi(strings.TrimPrefix(string(s), "gpio")); err == nil {
						pins = append(pins, v)
					}
				}
			}
		}
	}
	return pins, true
}

// sysfsPWM is a kernel PWM channel.
type sysfsPWM struct {
	name, pin string
	io        sysfsIO
	chipDir   string
	dir       string // chipDir/pwmC
	channel   int
	log       *slog.Logger

	mu       sync.Mutex
	periodNs int64
	dutyNs   int64 // last written
	duty     float64
	closed   bool
}

var _ PWM = (*sysfsPWM)(nil)

// openSysfsPWM exports channel ch, waits for its files to be writable (udev
// changes their group and mode just after the kernel creates them), sets the
// period, a duty of 0 and enables it.
func openSysfsPWM(env pwmEnv, ch kernelChannel, pin string, c PWMConfig, log *slog.Logger) (*sysfsPWM, error) {
	p := &sysfsPWM{
		name: c.Name, pin: pin, io: env.sysfs, chipDir: ch.chipDir, channel: ch.channel, log: log,
		dir: filepath.Join(ch.chipDir, "pwm"+strconv.Itoa(ch.channel)),
	}
	where := fmt.Sprintf("pwm %q on %s (kernel PWM %s channel %d)", c.Name, pin, ch.chip, ch.channel)
	if _, err := os.Stat(p.dir); err != nil {
		if err := p.io.WriteFile(filepath.Join(ch.chipDir, "export"), strconv.Itoa(ch.channel)); err != nil {
			switch {
			case errors.Is(err, fs.ErrPermission):
				return nil, fmt.Errorf("%s: exporting the channel: %w — %s", where, err, udevRuleHint)
			case errors.Is(err, syscall.EBUSY):
				// exported meanwhile (another program, or ours a moment ago): use it
			default:
				return nil, fmt.Errorf("%s: exporting the channel: %w", where, err)
			}
		}
	} else {
		log.Warn("kernel PWM channel was already exported; taking it over", "name", c.Name, "pin", pin, "dir", p.dir)
	}
	files := []string{"period", "duty_cycle", "enable"}
	deadline := time.Now().Add(env.wait)
	for {
		var bad error
		if _, err := os.Stat(p.dir); err != nil {
			bad = fmt.Errorf("%s did not appear after the export: %w", p.dir, err)
		} else {
			for _, f := range files {
				if err := p.io.Writable(filepath.Join(p.dir, f)); err != nil {
					bad = err
					break
				}
			}
		}
		if bad == nil {
			break
		}
		if time.Now().After(deadline) {
			hint := ""
			if errors.Is(bad, fs.ErrPermission) {
				hint = " — " + udevRuleHint
			}
			_ = p.io.WriteFile(filepath.Join(ch.chipDir, "unexport"), strconv.Itoa(ch.channel))
			return nil, fmt.Errorf("%s: not usable %v after the export: %w%s", where, env.wait, bad, hint)
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.periodNs = readInt(filepath.Join(p.dir, "period"), 0)
	p.dutyNs = readInt(filepath.Join(p.dir, "duty_cycle"), 0)
	period := c.Frequency.Period().Nanoseconds()
	if period <= 0 {
		return nil, fmt.Errorf("%s: frequency %s gives no period", where, c.Frequency)
	}
	err := p.setPeriodDuty(period, 0)
	if err == nil {
		err = p.io.WriteFile(filepath.Join(p.dir, "enable"), "1")
	}
	if err != nil {
		_ = p.io.WriteFile(filepath.Join(ch.chipDir, "unexport"), strconv.Itoa(ch.channel))
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return p, nil
}

// setPeriodDuty writes a new period and duty (ns, duty <= period) in the
// order the kernel accepts: it refuses a duty above the current period and
// a period below the current duty. If the new duty fits the current period
// the duty goes first (then a shrinking period stays above it); otherwise
// the period goes first (it is then larger than the old duty).
func (p *sysfsPWM) setPeriodDuty(period, duty int64) error {
	writeDuty := func() error {
		if err := p.io.WriteFile(filepath.Join(p.dir, "duty_cycle"), strconv.FormatInt(duty, 10)); err != nil {
			return fmt.Errorf("setting duty_cycle %dns: %w", duty, err)
		}
		p.dutyNs = duty
		return nil
	}
	writePeriod := func() error {
		if period == p.periodNs {
			return nil
		}
		if err := p.io.WriteFile(filepath.Join(p.dir, "period"), strconv.FormatInt(period, 10)); err != nil {
			return fmt.Errorf("setting period %dns: %w", period, err)
		}
		p.periodNs = period
		return nil
	}
	if duty <= p.periodNs {
		if err := writeDuty(); err != nil {
			return err
		}
		return writePeriod()
	}
	if err := writePeriod(); err != nil {
		return err
	}
	return writeDuty()
}

// Set implements PWM: it writes duty_cycle = duty × period (ns).
func (p *sysfsPWM) Set(duty float64) error {
	if err := checkDuty(p.name, duty); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("pwm %q on %s: closed", p.name, p.pin)
	}
	ns := int64(math.Round(duty * float64(p.periodNs)))
	if err := p.setPeriodDuty(p.periodNs, ns); err != nil {
		return fmt.Errorf("pwm %q on %s: %w", p.name, p.pin, err)
	}
	p.duty = duty
	return nil
}

// Duty implements PWM.
func (p *sysfsPWM) Duty() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.duty
}

// Name implements PWM.
func (p *sysfsPWM) Name() string { return p.name }

// Close implements PWM: duty_cycle 0, enable 0, then unexport.
func (p *sysfsPWM) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	var errs []error
	if err := p.io.WriteFile(filepath.Join(p.dir, "duty_cycle"), "0"); err != nil {
		errs = append(errs, err)
	}
	if err := p.io.WriteFile(filepath.Join(p.dir, "enable"), "0"); err != nil {
		errs = append(errs, err)
	}
	if err := p.io.WriteFile(filepath.Join(p.chipDir, "unexport"), strconv.Itoa(p.channel)); err != nil {
		errs = append(errs, err)
	}
	p.duty = 0
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("pwm %q on %s: closing: %w", p.name, p.pin, err)
	}
	return nil
}
