package gpio

import (
	"fmt"
	"log/slog"
	"math"
	"os"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"

	"github.com/oscgpio/oscgpio/wiring"
)

// PWM is one pulse-width-modulated pin: an LED's brightness or a servo's
// position. Its methods are safe for concurrent use.
type PWM interface {
	// Set sets the duty cycle: the fraction of each period the pin is high,
	// 0..1 (0 = always low, 1 = always high). A value outside 0..1 or NaN is
	// an error and changes nothing.
	Set(duty float64) error
	// Duty returns the duty last set successfully (0 before the first Set).
	Duty() float64
	// Close drives the pin low, disables the PWM and releases it (the
	// kernel channel is unexported, the software PWM goroutine stopped).
	// A second Close does nothing.
	Close() error
	// Name returns the PWM's mapping name (PWMConfig.Name).
	Name() string
}

// PWMConfig describes one PWM output of the mapping.
type PWMConfig struct {
	// Name is the mapping name, used in logs and errors.
	Name string
	// Frequency is the PWM frequency. 0 means the default: ServoFrequency
	// for a servo, DefaultPWMFrequency on hardware (kernel or bcm283x PWM)
	// and DefaultSoftPWMFrequency on software PWM.
	Frequency physic.Frequency
	// Servo marks a hobby servo: it needs a steady pulse, so software PWM is
	// refused, and its frequency must be ServoFrequency (or 0).
	Servo bool
}

const (
	// ServoFrequency is a hobby servo's frame rate: one pulse every 20ms.
	ServoFrequency = 50 * physic.Hertz
	// DefaultPWMFrequency is an LED's frequency on hardware PWM: well above
	// what the eye or a camera sees as flicker.
	DefaultPWMFrequency = 1 * physic.KiloHertz
	// DefaultSoftPWMFrequency is an LED's frequency on software PWM: above
	// flicker, low enough that a 5-50µs timer error is a small part of it.
	DefaultSoftPWMFrequency = 200 * physic.Hertz
	// MaxSoftPWMFrequency is the highest frequency software PWM accepts.
	MaxSoftPWMFrequency = 1 * physic.KiloHertz
	// ServoMinPulse and ServoMaxPulse bound the pulse ServoDuty accepts.
	ServoMinPulse = 500 * time.Microsecond
	ServoMaxPulse = 2500 * time.Microsecond
	// servoPeriod is 1/ServoFrequency.
	servoPeriod = 20 * time.Millisecond
)

// ServoDuty returns the duty cycle of a servo pulse of length pulse at 50 Hz
// (pulse / 20ms): 1.5ms, the usual centre, is 0.075. It does not check the
// pulse: validate it with ServoPulseOK first.
func ServoDuty(pulse time.Duration) float64 {
	return float64(pulse) / float64(servoPeriod)
}

// ServoPulseOK returns an error when pulse is outside ServoMinPulse to
// ServoMaxPulse (500-2500µs), the range of common hobby servos; driving a
// servo past its end stops strains its gears.
func ServoPulseOK(pulse time.Duration) error {
	if pulse < ServoMinPulse || pulse > ServoMaxPulse {
		return fmt.Errorf("servo pulse %v is outside %v to %v", pulse, ServoMinPulse, ServoMaxPulse)
	}
	return nil
}

// checkDuty returns an error for a duty outside 0..1.
func checkDuty(name string, duty float64) error {
	if math.IsNaN(duty) || duty < 0 || duty > 1 {
		return fmt.Errorf("pwm %q: duty %v is outside 0..1", name, duty)
	}
	return nil
}

// pwmEnv is what OpenPWM uses of the machine, replaced in tests.
type pwmEnv struct {
	root   string        // filesystem root holding sys/class/pwm and the device tree ("/")
	sysfs  sysfsIO       // how kernel PWM files are written and checked
	wait   time.Duration // how long to wait for an exported channel's files to become writable
	euid   func() int
	bcmPin func(n int) (bcmPWMPin, bool) // periph's bcm283x pin n on a Pi 1-4, when loaded
}

var realPWMEnv = pwmEnv{
	root:   "/",
	sysfs:  osSysfs{},
	wait:   5 * time.Second,
	euid:   os.Geteuid,
	bcmPin: realBCMPin,
}

// OpenPWM opens PWM on pin ("GPIO18") of backend b. On the sim backend it is
// a SimPWM. On any other backend it chooses, in order:
//
//  1. the kernel's PWM (/sys/class/pwm) when the pin is a channel of a PWM
//     chip there (dtoverlay=pwm-2chan on a Pi 1-4, the RP1's PWM0 on a Pi 5,
//     pwm-gpio or pwm-pio overlays), found through the device tree, never
//     by chip number;
//  2. periph's bcm283x PWM when running as root on a Pi 1-4 and the pin is
//     GPIO12, 13, 18 or 19 (13 and 19: the PWM1 hardware; 12 and 18: periph
//     uses DMA);
//  3. software PWM on the pin as a digital output, for LEDs only: a servo
//     is refused, with the reason and how to get hardware PWM.
//
// The PWM starts at duty 0 (low). The chosen way is logged at info level.
func OpenPWM(b Backend, pin string, c PWMConfig, log *slog.Logger) (PWM, error) {
	return openPWM(b, pin, c, log, realPWMEnv)
}

func openPWM(b Backend, pin string, c PWMConfig, log *slog.Logger, env pwmEnv) (PWM, error) {
	if log == nil {
		log = slog.Default()
	}
	if b == nil {
		return nil, fmt.Errorf("pwm %q: no GPIO backend", c.Name)
	}
	n, ok := wiring.GPIONumber(pin)
	if !ok {
		return nil, fmt.Errorf("pwm %q: %q is not a BCM GPIO name like GPIO18", c.Name, pin)
	}
	pin = fmt.Sprintf("GPIO%d", n)
	if c.Servo && c.Frequency != 0 && c.Frequency != ServoFrequency {
		return nil, fmt.Errorf("pwm %q on %s: a servo runs at %s, not %s (leave frequency unset)", c.Name, pin, ServoFrequency, c.Frequency)
	}
	if c.Frequency < 0 {
		return nil, fmt.Errorf("pwm %q on %s: negative frequency %s", c.Name, pin, c.Frequency)
	}
	hw := c
	if hw.Frequency == 0 {
		hw.Frequency = DefaultPWMFrequency
		if c.Servo {
			hw.Frequency = ServoFrequency
		}
	}
	if s, ok := b.(*Sim); ok {
		return s.openPWM(pin, hw, log)
	}

	// 1. Kernel PWM.
	ch, found, err := findKernelPWM(env.root, n)
	if err != nil {
		log.Debug("looking for a kernel PWM channel", "pin", pin, "err", err)
	}
	if found {
		p, err := openSysfsPWM(env, ch, pin, hw, log)
		if err != nil {
			return nil, err
		}
		log.Info("pwm ready", "name", c.Name, "pin", pin, "via", "kernel", "chip", ch.chip, "channel", ch.channel, "frequency", hw.Frequency.String())
		return p, nil
	}

	// 2. periph's bcm283x PWM (Pi 1-4, root).
	why := ""
	switch {
	case !bcmPWMCapable(n):
		why = "it is not GPIO12, 13, 18 or 19"
	case env.euid() != 0:
		why = "not running as root (periph's bcm283x PWM needs /dev/mem)"
	default:
		if bp, ok := env.bcmPin(n); ok {
			if err := bp.Out(pgpio.Low); err != nil {
				return nil, fmt.Errorf("pwm %q on %s (bcm283x): driving it low: %w", c.Name, pin, err)
			}
			p := newBCMPWM(bp, pin, hw, log)
			log.Info("pwm ready", "name", c.Name, "pin", pin, "via", "bcm283x", "frequency", hw.Frequency.String())
			return p, nil
		}
		why = "periph's bcm283x driver is not loaded (not a Pi 1-4)"
	}

	// 3. Software PWM, LEDs only.
	if c.Servo {
		return nil, fmt.Errorf("pwm %q on %s: a servo needs hardware PWM, and %s has none here (no kernel PWM channel on it; bcm283x: %s); software PWM jitters enough to make a servo twitch. "+
			"Use GPIO18 or GPIO19 with dtoverlay=pwm-2chan in /boot/firmware/config.txt (Pi 1-5; then reboot), or run as root on a Pi 1-4",
			c.Name, pin, pin, why)
	}
	sw := c
	if sw.Frequency == 0 {
		sw.Frequency = DefaultSoftPWMFrequency
	}
	if sw.Frequency > MaxSoftPWMFrequency {
		return nil, fmt.Errorf("pwm %q on %s: software PWM (no hardware PWM on this pin) runs at most at %s, not %s", c.Name, pin, MaxSoftPWMFrequency, sw.Frequency)
	}
	pp, err := b.Pin(pin)
	if err != nil {
		return nil, fmt.Errorf("pwm %q: %w", c.Name, err)
	}
	p, err := NewSoftPWM(pp, sw, log)
	if err != nil {
		return nil, err
	}
	p.release = func() error { return b.Release(pin) }
	log.Info("pwm ready", "name", c.Name, "pin", pin, "via", "software", "frequency", sw.Frequency.String(), "why", "no kernel PWM channel on this pin; bcm283x: "+why)
	return p, nil
}

// bcmPWMCapable reports whether periph's bcm283x driver gives pin n PWM that
// is steady enough for a servo: 13 and 19 (PWM1 hardware), 12 and 18 (PWM0
// pins, which periph drives by DMA).
func bcmPWMCapable(n int) bool {
	return n == 12 || n == 13 || n == 18 || n == 19
}
