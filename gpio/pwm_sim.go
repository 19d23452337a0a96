package gpio

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"

	"periph.io/x/conn/v3/physic"
)

// SimPWM is the sim backend's PWM: it keeps the duty it is set to, readable
// with Duty or Sim.PWMDuty, and logs each change at debug level
// (`GPIO18 pwm -> 0.25`), outside its locks. It accepts servos on any pin
// (the sim has no PWM hardware to lack).
type SimPWM struct {
	sim       *Sim
	name, pin string
	freq      physic.Frequency
	log       *slog.Logger

	mu     sync.Mutex
	duty   float64
	closed bool
}

var _ PWM = (*SimPWM)(nil)

// openPWM opens a simulated PWM on pin (canonical "GPIO18") at c.Frequency.
// One pin takes one PWM at a time.
func (s *Sim) openPWM(pin string, c PWMConfig, log *slog.Logger) (*SimPWM, error) {
	key, _, err := simName(pin)
	if err != nil {
		return nil, fmt.Errorf("pwm %q: %w", c.Name, err)
	}
	s.mu.Lock()
	if s.pwms == nil {
		s.pwms = map[string]*SimPWM{}
	}
	if o := s.pwms[key]; o != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("pwm %q: sim: %s is already the PWM %q; close it first", c.Name, key, o.name)
	}
	p := &SimPWM{sim: s, name: c.Name, pin: key, freq: c.Frequency, log: log}
	s.pwms[key] = p
	s.mu.Unlock()
	log.Debug("sim pwm ready", "name", c.Name, "pin", key, "frequency", c.Frequency.String(), "servo", c.Servo)
	return p, nil
}

// PWMDuty returns the duty of the PWM open on pin name, and whether one is
// open.
func (s *Sim) PWMDuty(name string) (float64, bool) {
	key, _, err := simName(name)
	if err != nil {
		return 0, false
	}
	s.mu.Lock()
	p := s.pwms[key]
	s.mu.Unlock()
	if p == nil {
		return 0, false
	}
	return p.Duty(), true
}

// Set implements PWM.
func (p *SimPWM) Set(duty float64) error {
	if err := checkDuty(p.name, duty); err != nil {
		return err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return fmt.Errorf("pwm %q on %s: closed", p.name, p.pin)
	}
	changed := p.duty != duty
	p.duty = duty
	p.mu.Unlock()
	if changed && p.log.Enabled(context.Background(), slog.LevelDebug) {
		p.log.Debug(p.pin + " pwm -> " + strconv.FormatFloat(duty, 'g', 6, 64))
	}
	return nil
}

// Duty implements PWM.
func (p *SimPWM) Duty() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.duty
}

// Frequency returns the PWM's frequency (the default filled in).
func (p *SimPWM) Frequency() physic.Frequency { return p.freq }

// Name implements PWM.
func (p *SimPWM) Name() string { return p.name }

// Close implements PWM: the duty becomes 0 and the pin takes a new PWM.
func (p *SimPWM) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.duty = 0
	p.mu.Unlock()
	p.sim.mu.Lock()
	if p.sim.pwms[p.pin] == p {
		delete(p.sim.pwms, p.pin)
	}
	p.sim.mu.Unlock()
	p.log.Debug("sim pwm closed", "name", p.name, "pin", p.pin)
	return nil
}
