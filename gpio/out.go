package gpio

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"

	pgpio "periph.io/x/conn/v3/gpio"
)

// OutConfig describes one digital output of the mapping.
type OutConfig struct {
	Name      string // mapping name, used in logs and errors
	ActiveLow bool   // on = electrical low (most relay boards)
	Initial   bool   // logical level written when the output is created
	Safe      bool   // logical level written by SetSafe (exit, crash, reload)
}

// Out is a digital output with active-low and a safe level. It remembers the
// level it wrote and never reads the pin back: on periph's gpioioctl driver
// Read() on an output silently turns the line into an input with pull-up.
// Its methods are safe for concurrent use.
type Out struct {
	p   pgpio.PinOut
	cfg OutConfig
	log *slog.Logger

	mu sync.Mutex
	on bool // logical level last written successfully
}

// NewOut configures p as an output of c. Its first and only configuration is
// the write of the initial level: there is no separate "set as output" step.
//
// About the glitch on periph's gpioioctl driver (host v3.8.5, read from its
// code): on a line that is not yet an output, GPIOLine.Out first calls
// setOut, which requests the line with a config whose flags are 0 (line left
// as it is) and then issues GPIO_V2_LINE_SET_CONFIG_IOCTL with only
// GPIO_V2_LINE_FLAG_OUTPUT and no GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES
// attribute. The kernel then switches the line to output with value 0, i.e.
// electrical LOW (periph never sets ACTIVE_LOW), and only the next ioctl
// (SET_VALUES) writes the level asked for. So when the first level is HIGH
// (an active-low relay that is off) the line is driven LOW for the time
// between two syscalls (microseconds, longer if the thread is preempted).
// periph offers no way around it: GPIOChip.LineSetFromConfig/LineSet build
// their request from flags only (getLineSetRequestStruct never adds an
// OUTPUT_VALUES attribute, and the request fields are unexported), so an
// output LineSet also starts at 0; SetFunc(gpio.OUT_HIGH) is Out(High). When
// the first level is LOW there is no glitch. Writing the initial level as the
// one and only first call (and never reading back, which would turn the line
// into an input and make the next Out glitch again) is all that can be done
// here. periph's bcm283x register driver, when it is the pin's driver, writes
// the level before switching the function and does not glitch.
func NewOut(p pgpio.PinOut, c OutConfig, log *slog.Logger) (*Out, error) {
	if p == nil {
		return nil, fmt.Errorf("output %q: no pin", c.Name)
	}
	if log == nil {
		log = slog.Default()
	}
	o := &Out{p: p, cfg: c, log: log}
	if err := o.write(c.Initial); err != nil {
		return nil, fmt.Errorf("output %q on %s: setting the initial level: %w", c.Name, p.Name(), pinHint(err))
	}
	log.Debug("output ready", "name", c.Name, "pin", p.Name(), "on", c.Initial, "active_low", c.ActiveLow)
	return o, nil
}

// level returns the electrical level for the logical state on.
func (o *Out) level(on bool) pgpio.Level {
	return pgpio.Level(on != o.cfg.ActiveLow)
}

// write drives the pin to the logical state on and remembers it if it worked.
// The caller holds o.mu (or o is not shared yet).
func (o *Out) write(on bool) error {
	if err := o.p.Out(o.level(on)); err != nil {
		return err
	}
	o.on = on
	return nil
}

// Set drives the output to the logical level on (active-low applied here).
func (o *Out) Set(on bool) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.write(on); err != nil {
		return fmt.Errorf("output %q on %s: %w", o.cfg.Name, o.p.Name(), err)
	}
	return nil
}

// Toggle inverts the logical level last written.
func (o *Out) Toggle() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.write(!o.on); err != nil {
		return fmt.Errorf("output %q on %s: %w", o.cfg.Name, o.p.Name(), err)
	}
	return nil
}

// On returns the logical level last written (never read back from the pin).
func (o *Out) On() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.on
}

// SetSafe writes the configured safe level and logs it at info level.
func (o *Out) SetSafe() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.write(o.cfg.Safe); err != nil {
		return fmt.Errorf("output %q on %s: setting the safe level: %w", o.cfg.Name, o.p.Name(), err)
	}
	o.log.Info("output at safe level", "name", o.cfg.Name, "pin", o.p.Name(), "level", levelName(o.level(o.cfg.Safe)))
	return nil
}

// pinHint adds what to do to an error configuring a pin. periph's gpioioctl
// flattens errno into a string, hence the text match.
func pinHint(err error) error {
	if strings.Contains(err.Error(), "device or resource busy") {
		return fmt.Errorf("%w — another program or a kernel driver (a dtoverlay in config.txt) is using this pin", err)
	}
	return err
}

// levelName is "high" or "low", as the logs write levels.
func levelName(l pgpio.Level) string {
	if l {
		return "high"
	}
	return "low"
}
