package gpio

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/pin"
	"periph.io/x/host/v3/gpioioctl"
)

// lineSet is what hostLine uses of a periph gpioioctl.LineSet of one input
// line (replaced by a fake in tests).
type lineSet interface {
	// WaitForEdge: timeout 0 waits without limit; a timeout or Halt returns
	// an error wrapping os.ErrDeadlineExceeded.
	WaitForEdge(timeout time.Duration) (number int, edge pgpio.Edge, err error)
	Read(mask pgpio.GPIOValue) (pgpio.GPIOValue, error)
	Halt() error
	Close() error
}

var _ lineSet = (*gpioioctl.LineSet)(nil)

// openIoctlSet requests line of chip as a one-line input LineSet.
func openIoctlSet(c *gpioioctl.GPIOChip, line string) func(pgpio.Pull, pgpio.Edge) (lineSet, error) {
	return func(pull pgpio.Pull, edge pgpio.Edge) (lineSet, error) {
		ls, err := c.LineSet(gpioioctl.LineInput, edge, pull, line)
		if err != nil {
			return nil, err
		}
		return ls, nil
	}
}

// hostLine is the pin Host.Pin returns for a line of a GPIO chip. Outputs and
// inputs without edges go through periph's GPIOLine. An input with edge
// detection is requested as a one-line gpioioctl.LineSet instead, because
// LineSet.WaitForEdge says which edge fired (rising = high, falling = low),
// so every change arrives with its own level; GPIOLine.WaitForEdge drops it.
//
// periph's LineSet is not safe for every concurrent use: WaitForEdge creates
// its os.File on the first call and Halt/Close touch that field without a
// common lock, and a WaitForEdge after Close would wrap file descriptor 0.
// hostLine therefore primes the set once (a first WaitForEdge) before anyone
// else can see it, calls Halt and Close only under mu, and closes a set only
// when no WaitForEdge is running on it (waitMu), halting until the wait
// returns.
//
// An encoder whose two lines are of one chip takes both lines into one
// two-line set while it runs (hostPair, pair): the line's own requests are
// closed then, and Read, Halt, In, Out and Close go to that set or close it.
type hostLine struct {
	line    pgpio.PinIO // the chip's GPIOLine
	openSet func(pgpio.Pull, pgpio.Edge) (lineSet, error)
	now     func() time.Time
	log     *slog.Logger

	// For an encoder's two-line set (see hostPair): the chip's name, the
	// line's name on it, and how to request two of its lines (nil: no sets).
	chip, lineName string
	openPair       pairOpener

	waitMu sync.Mutex // held for the whole of each ls.WaitForEdge

	mu      sync.Mutex
	ls      lineSet // the input's line set, nil when none is open
	pull    pgpio.Pull
	pending []pinChange // changes read while priming
	pair    *hostPair   // the encoder's line set holding this line, or nil
}

var _ pgpio.PinIO = (*hostLine)(nil)
var _ pin.PinFunc = (*hostLine)(nil)
var _ changeSource = (*hostLine)(nil)

// errLineReleased is nextChange's error once the line set is closed.
var errLineReleased = errors.New("the line was released or reconfigured (no line set open)")

// dropSet closes the open line set, if any, once no wait runs on it.
func (h *hostLine) dropSet() error {
	h.mu.Lock()
	ls := h.ls
	h.ls, h.pending = nil, nil
	h.mu.Unlock()
	if ls == nil {
		return nil
	}
	for !h.waitMu.TryLock() {
		_ = ls.Halt() // a Halt just before the wait starts is lost: repeat
		time.Sleep(haltRetry)
	}
	defer h.waitMu.Unlock()
	return ls.Close()
}

// closeLine releases the GPIOLine's own request, if it holds one.
func (h *hostLine) closeLine() error {
	switch c := h.line.(type) {
	case interface{ Close() }:
		c.Close()
	case interface{ Close() error }:
		return c.Close()
	}
	return nil
}

// dropPair closes the encoder's two-line set holding this line, if any: the
// encoder's Run then returns an error.
func (h *hostLine) dropPair() error {
	h.mu.Lock()
	p := h.pair
	h.mu.Unlock()
	if p == nil {
		return nil
	}
	return p.close()
}

// paired returns the encoder's two-line set holding this line, or nil.
func (h *hostLine) paired() *hostPair {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pair
}

// release closes every request on the line (an encoder's pair set, the
// line set, the GPIOLine's), so that another request can take it.
func (h *hostLine) release() error {
	return errors.Join(h.dropPair(), h.dropSet(), h.closeLine())
}

// Close releases the line (an encoder's pair set, line set and GPIOLine):
// the kernel frees it.
func (h *hostLine) Close() error {
	return errors.Join(h.dropPair(), h.dropSet(), h.line.Halt(), h.closeLine())
}

// In implements gpio.PinIn. With edge detection it releases the GPIOLine's
// request and requests the line as a one-line LineSet, then primes it (see
// hostLine); without, it configures the GPIOLine.
func (h *hostLine) In(pull pgpio.Pull, edge pgpio.Edge) error {
	if err := errors.Join(h.dropPair(), h.dropSet()); err != nil {
		h.log.Debug("closing the previous line set", "pin", h.Name(), "err", err)
	}
	if edge == pgpio.NoEdge || h.openSet == nil {
		return h.line.In(pull, edge)
	}
	if err := h.closeLine(); err != nil {
		return err
	}
	ls, err := h.openSet(pull, edge)
	if err != nil {
		return err
	}
	var pending []pinChange
	_, e, err := ls.WaitForEdge(time.Nanosecond) // prime: creates the set's file
	switch {
	case err == nil:
		if c, ok := h.change(e); ok {
			pending = append(pending, c)
		}
	case !errors.Is(err, os.ErrDeadlineExceeded):
		_ = ls.Close()
		return fmt.Errorf("waiting for edges on the line set: %w", err)
	}
	h.mu.Lock()
	h.ls, h.pull, h.pending = ls, pull, pending
	h.mu.Unlock()
	return nil
}

// change converts a LineSet edge to a change: rising is high, falling low.
// periph does not pass on the kernel's timestamp of the event
// (gpio_v2_line_event.timestamp_ns), so the time is taken when WaitForEdge
// returns.
func (h *hostLine) change(e pgpio.Edge) (pinChange, bool) {
	switch e {
	case pgpio.RisingEdge:
		return pinChange{level: pgpio.High, at: h.now()}, true
	case pgpio.FallingEdge:
		return pinChange{level: pgpio.Low, at: h.now()}, true
	}
	return pinChange{}, false
}

// delivers implements changeSource: true while a line set is open.
func (h *hostLine) delivers() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ls != nil
}

// nextChange implements changeSource on the line set. It waits without a
// timeout when timeout < 0 (LineSet.WaitForEdge(0)); Halt interrupts it.
func (h *hostLine) nextChange(done <-chan struct{}, timeout time.Duration) (pinChange, bool, error) {
	h.waitMu.Lock()
	defer h.waitMu.Unlock()
	h.mu.Lock()
	ls := h.ls
	if len(h.pending) > 0 {
		c := h.pending[0]
		h.pending = h.pending[1:]
		h.mu.Unlock()
		return c, true, nil
	}
	h.mu.Unlock()
	if ls == nil {
		return pinChange{}, false, fmt.Errorf("host: %s: %w", h.Name(), errLineReleased)
	}
	select {
	case <-done:
		return pinChange{}, false, nil
	default:
	}
	wait := timeout
	switch {
	case timeout < 0:
		wait = 0 // LineSet.WaitForEdge(0) has no deadline
	case timeout == 0:
		wait = time.Nanosecond // only an event already queued
	}
	_, e, err := ls.WaitForEdge(wait)
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return pinChange{}, false, nil // timeout or Halt
		}
		return pinChange{}, false, fmt.Errorf("host: %s: waiting for an edge: %w", h.Name(), err)
	}
	c, ok := h.change(e)
	return c, ok, nil
}

// WaitForEdge implements gpio.PinIn on the line set: true for a change
// (Read gives the level now). A negative timeout waits without limit, 0 takes
// only a change already queued. While an encoder's two-line set holds the
// line its changes go to the encoder: false at once.
func (h *hostLine) WaitForEdge(timeout time.Duration) bool {
	h.mu.Lock()
	set, paired := h.ls != nil, h.pair != nil
	h.mu.Unlock()
	if paired {
		return false
	}
	if !set {
		return h.line.WaitForEdge(timeout)
	}
	_, ok, err := h.nextChange(nil, timeout)
	return ok && err == nil
}

// Halt interrupts a pending wait for an edge.
func (h *hostLine) Halt() error {
	if p := h.paired(); p != nil {
		return p.halt()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ls != nil {
		return h.ls.Halt()
	}
	return h.line.Halt()
}

// Read implements gpio.PinIn.
func (h *hostLine) Read() pgpio.Level {
	if p := h.paired(); p != nil {
		l, err := p.level(h)
		if err == nil {
			return l
		}
		h.log.Warn("reading the line failed", "pin", h.Name(), "err", err)
		return pgpio.Low
	}
	h.mu.Lock()
	ls := h.ls
	if ls == nil {
		h.mu.Unlock()
		return h.line.Read()
	}
	defer h.mu.Unlock()
	v, err := ls.Read(0)
	if err != nil {
		h.log.Warn("reading the line failed", "pin", h.Name(), "err", err)
		return pgpio.Low
	}
	return v&1 != 0
}

// Out implements gpio.PinOut: an input's line set is closed first.
func (h *hostLine) Out(l pgpio.Level) error {
	if err := errors.Join(h.dropPair(), h.dropSet()); err != nil {
		h.log.Debug("closing the previous line set", "pin", h.Name(), "err", err)
	}
	return h.line.Out(l)
}

// PWM implements gpio.PinOut (periph's GPIOLine has none).
func (h *hostLine) PWM(d pgpio.Duty, f physic.Frequency) error { return h.line.PWM(d, f) }

// Pull implements gpio.PinIn.
func (h *hostLine) Pull() pgpio.Pull {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pair != nil {
		return h.pair.pull
	}
	if h.ls != nil {
		return h.pull
	}
	return h.line.Pull()
}

// DefaultPull implements gpio.PinIn.
func (h *hostLine) DefaultPull() pgpio.Pull { return h.line.DefaultPull() }

// Name implements pin.Pin: the line's name, e.g. "GPIO17".
func (h *hostLine) Name() string { return h.line.Name() }

// Number implements pin.Pin: the line's offset on its chip.
func (h *hostLine) Number() int { return h.line.Number() }

// String implements conn.Resource: the line's name (periph's GPIOLine.String
// is a JSON dump).
func (h *hostLine) String() string { return h.line.Name() }

// Function implements pin.Pin.
func (h *hostLine) Function() string { return string(h.Func()) }

// Func implements pin.PinFunc.
func (h *hostLine) Func() pin.Func {
	h.mu.Lock()
	set := h.ls != nil || h.pair != nil
	h.mu.Unlock()
	if set {
		if h.Read() {
			return pgpio.IN_HIGH
		}
		return pgpio.IN_LOW
	}
	if f, ok := h.line.(pin.PinFunc); ok {
		return f.Func()
	}
	return pin.Func(h.line.Function())
}

// SupportedFuncs implements pin.PinFunc.
func (h *hostLine) SupportedFuncs() []pin.Func { return []pin.Func{pgpio.IN, pgpio.OUT} }

// SetFunc implements pin.PinFunc.
func (h *hostLine) SetFunc(f pin.Func) error {
	switch f {
	case pgpio.IN:
		return h.In(pgpio.PullNoChange, pgpio.NoEdge)
	case pgpio.OUT_HIGH:
		return h.Out(pgpio.High)
	case pgpio.OUT, pgpio.OUT_LOW:
		return h.Out(pgpio.Low)
	}
	return fmt.Errorf("host: %s does not support function %q (only In and Out)", h.Name(), f)
}
