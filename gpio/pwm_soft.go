package gpio

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"
)

// SoftPWM is PWM made by a goroutine toggling a digital output, for LEDs on
// pins without hardware PWM. Each period starts at an absolute deadline
// (start + k × period) waited for with a time.Timer and, for its last
// softPWMFine, a nanosleep (see softPWMFine), so timer errors do not add up: the frequency does not drift, only single edges are late (see the
// README for figures). If the goroutine falls more than a period behind (the
// machine was busy) it starts afresh from now instead of catching up with a
// burst. Duty 0 and 1 are steady levels with no goroutine running.
type SoftPWM struct {
	name    string
	p       pgpio.PinOut
	period  time.Duration
	log     *slog.Logger
	release func() error  // frees the pin at Close (OpenPWM: Backend.Release)
	fine    time.Duration // the end of each wait slept by preciseSleep (softPWMFine)
	// trace, when set (tests), is called after each edge with its deadline.
	trace func(deadline time.Time, l pgpio.Level)

	duty    atomic.Uint64 // math.Float64bits of the duty, read by the goroutine
	skipped atomic.Uint64 // periods restarted because the goroutine was late

	mu     sync.Mutex // serialises Set and Close
	stop   chan struct{}
	done   chan struct{} // nil: no goroutine
	closed bool
}

var _ PWM = (*SoftPWM)(nil)

// NewSoftPWM makes software PWM on output pin p at c.Frequency (0:
// DefaultSoftPWMFrequency, at most MaxSoftPWMFrequency). It refuses a servo
// (c.Servo): a servo reads the pulse length to the microsecond, and a
// software edge can be late by tens of microseconds or more. The pin is
// driven low at once.
func NewSoftPWM(p pgpio.PinOut, c PWMConfig, log *slog.Logger) (*SoftPWM, error) {
	if p == nil {
		return nil, fmt.Errorf("pwm %q: no pin", c.Name)
	}
	if log == nil {
		log = slog.Default()
	}
	if c.Servo {
		return nil, fmt.Errorf("pwm %q on %s: software PWM cannot drive a servo (its edges are late by tens of microseconds, which a servo turns into twitching); use a pin with hardware PWM", c.Name, p.Name())
	}
	f := c.Frequency
	if f == 0 {
		f = DefaultSoftPWMFrequency
	}
	if f < 0 || f > MaxSoftPWMFrequency {
		return nil, fmt.Errorf("pwm %q on %s: software PWM frequency %s is outside 0 to %s", c.Name, p.Name(), f, MaxSoftPWMFrequency)
	}
	s := &SoftPWM{name: c.Name, p: p, period: f.Period(), log: log, fine: softPWMFine}
	if err := p.Out(pgpio.Low); err != nil {
		return nil, fmt.Errorf("pwm %q on %s: %w", c.Name, p.Name(), pinHint(err))
	}
	return s, nil
}

// Set implements PWM. Between 0 and 1 exclusive it starts the goroutine if
// needed (the new duty applies from the next period); 0 or 1 stops it,
// waiting for it to return (at most softPWMFine, when it is in its final
// nanosleep), and writes the steady level.
func (s *SoftPWM) Set(duty float64) error {
	if err := checkDuty(s.name, duty); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("pwm %q on %s: closed", s.name, s.p.Name())
	}
	old := s.duty.Swap(math.Float64bits(duty))
	if duty == 0 || duty == 1 {
		s.stopLocked()
		if err := s.p.Out(duty == 1); err != nil {
			s.duty.Store(old)
			return fmt.Errorf("pwm %q on %s: %w", s.name, s.p.Name(), err)
		}
		return nil
	}
	if s.done == nil {
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.run(s.stop, s.done)
	}
	return nil
}

// stopLocked stops the goroutine, if running, and waits for it.
func (s *SoftPWM) stopLocked() {
	if s.done == nil {
		return
	}
	close(s.stop)
	<-s.done
	s.stop, s.done = nil, nil
}

// softPWMFine is how much of each wait SoftPWM sleeps in the kernel
// (nanosleep) instead of on its time.Timer. Go's timers wake an idle
// process through epoll_wait, whose timeout is in whole milliseconds: a
// timer alone fires 0-1ms late (measured: p50 0.6ms on the test VM). So the
// timer wakes the goroutine up to softPWMFine early (it stays interruptible
// by Set and Close) and a nanosleep of the rest lands on the deadline
// within the kernel's timer slack (50µs by default) plus scheduling.
const softPWMFine = 2 * time.Millisecond

// run toggles the pin until stop is closed: high at next, low at next+on.
func (s *SoftPWM) run(stop, done chan struct{}) {
	defer close(done)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	sleepUntil := func(at time.Time) bool {
		if d := time.Until(at) - s.fine; d > 0 {
			t.Reset(d)
			select {
			case <-t.C:
			case <-stop:
				return false
			}
		} else {
			select {
			case <-stop:
				return false
			default:
			}
		}
		if d := time.Until(at); d > 0 {
			preciseSleep(d)
		}
		return true
	}
	out := func(l pgpio.Level, deadline time.Time) bool {
		if err := s.p.Out(l); err != nil {
			s.fail(err)
			return false
		}
		if s.trace != nil {
			s.trace(deadline, l)
		}
		return true
	}
	next := time.Now()
	for {
		d := math.Float64frombits(s.duty.Load())
		on := time.Duration(math.Round(d * float64(s.period)))
		if !out(pgpio.High, next) {
			return
		}
		fall := next.Add(on)
		if !sleepUntil(fall) || !out(pgpio.Low, fall) {
			return
		}
		next = next.Add(s.period)
		if !sleepUntil(next) {
			return
		}
		if late := time.Since(next); late > s.period {
			s.skipped.Add(1)
			next = time.Now()
		}
	}
}

// fail logs a write error of the goroutine, which then stops (the pin was
// released or reconfigured); the next Set starts it again.
func (s *SoftPWM) fail(err error) {
	s.log.Error("software PWM stopped: writing the pin failed", "name", s.name, "pin", s.p.Name(), "err", err)
}

// Duty implements PWM.
func (s *SoftPWM) Duty() float64 { return math.Float64frombits(s.duty.Load()) }

// Name implements PWM.
func (s *SoftPWM) Name() string { return s.name }

// Skipped returns how many times the goroutine was more than a period late
// and restarted its schedule from now.
func (s *SoftPWM) Skipped() uint64 { return s.skipped.Load() }

// Close implements PWM: it stops the goroutine, drives the pin low and, when
// OpenPWM made it, releases the pin from its backend.
func (s *SoftPWM) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.stopLocked()
	s.duty.Store(0)
	err := s.p.Out(pgpio.Low)
	if s.release != nil {
		err = errors.Join(err, s.release())
	}
	if err != nil {
		return fmt.Errorf("pwm %q on %s: closing: %w", s.name, s.p.Name(), err)
	}
	return nil
}
