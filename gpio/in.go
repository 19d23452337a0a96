package gpio

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"
)

// InConfig describes one digital input of the mapping.
type InConfig struct {
	Name      string        // mapping name, used in logs, errors and events
	Pull      pgpio.Pull    // pgpio.PullUp, pgpio.PullDown or pgpio.Float
	ActiveLow bool          // active (pressed) = electrical low, e.g. a button to GND with pull-up
	Debounce  time.Duration // debounce window; 0 reports every change
	Poll      time.Duration // > 0: read the level at this interval instead of waiting for edges
}

// Event is one debounced change of an input.
type Event struct {
	Name   string    // the input's mapping name
	Pin    string    // the pin's name, e.g. "GPIO27"
	Active bool      // logical state after active-low: true = pressed
	Time   time.Time // when the change was seen
}

// defaultPoll is the polling interval of an input whose pin cannot deliver
// edges and whose configuration sets no Poll.
const defaultPoll = 2 * time.Millisecond

// edgeWaitMax bounds every WaitForEdge call, so that a cancelled context is
// noticed even if Halt did not interrupt the wait (on gpioioctl,
// WaitForEdge(0) waits forever and WaitForEdge(-1) returns at once; neither
// is used).
const edgeWaitMax = 100 * time.Millisecond

// In is a debounced digital input. Edges come from the pin's interrupts
// (WaitForEdge) unless the pin cannot deliver them or InConfig.Poll is set,
// in which case the level is read at an interval. A change is reported on its
// first edge; edges inside the debounce window are ignored; at the end of the
// window the level is read again and a difference is reported at once.
type In struct {
	p    pgpio.PinIn
	cfg  InConfig
	log  *slog.Logger
	poll time.Duration // 0: wait for edges
	now  func() time.Time

	active  atomic.Bool // debounced logical state
	running atomic.Bool

	mu  sync.Mutex // guards deb (only Run uses it; the lock keeps -race honest)
	deb debouncer
}

// NewIn configures p as an input of c: In(c.Pull, BothEdges). When that fails,
// or c.Poll > 0, the pin is configured without edges and Run reads its level
// every c.Poll (2ms when falling back without a configured Poll); this
// is said once in the log, with the reason.
func NewIn(p pgpio.PinIn, c InConfig, log *slog.Logger) (*In, error) {
	if p == nil {
		return nil, fmt.Errorf("input %q: no pin", c.Name)
	}
	if log == nil {
		log = slog.Default()
	}
	if c.Debounce < 0 || c.Poll < 0 {
		return nil, fmt.Errorf("input %q on %s: debounce (%v) and poll (%v) must not be negative", c.Name, p.Name(), c.Debounce, c.Poll)
	}
	i := &In{p: p, cfg: c, log: log, now: time.Now}
	if c.Poll > 0 {
		if err := p.In(c.Pull, pgpio.NoEdge); err != nil {
			return nil, fmt.Errorf("input %q on %s: configuring as input with %s: %w", c.Name, p.Name(), c.Pull, pinHint(err))
		}
		i.poll = c.Poll
		log.Info("input polls", "name", c.Name, "pin", p.Name(), "every", c.Poll, "reason", "poll is set in the mapping")
	} else if edgeErr := p.In(c.Pull, pgpio.BothEdges); edgeErr != nil {
		if err := p.In(c.Pull, pgpio.NoEdge); err != nil {
			return nil, fmt.Errorf("input %q on %s: configuring as input with %s: %w (with edge detection: %v)", c.Name, p.Name(), c.Pull, pinHint(err), edgeErr)
		}
		i.poll = defaultPoll
		log.Warn("input polls", "name", c.Name, "pin", p.Name(), "every", defaultPoll,
			"reason", fmt.Sprintf("edge detection is not available on this pin: %v", edgeErr))
	}
	state := i.logical(p.Read())
	i.active.Store(state)
	i.deb = newDebouncer(c.Debounce, state)
	return i, nil
}

// logical converts an electrical level to the input's logical state.
func (i *In) logical(l pgpio.Level) bool {
	return bool(l) != i.cfg.ActiveLow
}

// Active returns the debounced logical state (true = pressed).
func (i *In) Active() bool {
	return i.active.Load()
}

// Run watches the input until ctx is done and calls emit (from Run's
// goroutine) for every debounced change. A panic in emit is logged and the
// input keeps running. Run must not be called twice at the same time.
func (i *In) Run(ctx context.Context, emit func(Event)) {
	if !i.running.CompareAndSwap(false, true) {
		i.log.Error("input is already running; ignoring the second Run", "name", i.cfg.Name, "pin", i.p.Name())
		return
	}
	defer i.running.Store(false)
	defer func() {
		if r := recover(); r != nil {
			i.log.Error("input stopped after a panic in the pin driver", "name", i.cfg.Name, "pin", i.p.Name(), "panic", r)
		}
	}()
	if emit == nil {
		emit = func(Event) {}
	}
	if i.poll > 0 {
		i.runPoll(ctx, emit)
		return
	}
	i.runEdges(ctx, emit)
}

// runEdges waits for edges with a finite timeout; Halt interrupts the wait
// when ctx is cancelled.
func (i *In) runEdges(ctx context.Context, emit func(Event)) {
	stop := context.AfterFunc(ctx, func() { _ = i.p.Halt() })
	defer stop()
	warned := false
	for ctx.Err() == nil {
		wait := edgeWaitMax
		if dl, open := i.deadline(); open {
			rem := dl.Sub(i.now())
			if rem <= 0 {
				i.sample(emit) // the window ended: reconcile
				continue
			}
			wait = min(wait, rem)
		}
		start := time.Now()
		if i.p.WaitForEdge(wait) {
			if ctx.Err() == nil {
				i.sample(emit)
			}
			continue
		}
		// A wait that ends at once without an edge (a released or
		// reconfigured line, a driver error) must not become a busy loop.
		if early := time.Since(start); early < wait/2 && ctx.Err() == nil {
			if !warned {
				warned = true
				i.log.Warn("waiting for an edge fails at once; retrying at a slower pace", "name", i.cfg.Name, "pin", i.p.Name())
			}
			t := time.NewTimer(wait - early)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
		}
	}
}

// runPoll reads the level every i.poll.
func (i *In) runPoll(ctx context.Context, emit func(Event)) {
	t := time.NewTicker(i.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			i.sample(emit)
		}
	}
}

func (i *In) deadline() (time.Time, bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.deb.deadline()
}

// sample reads the level (unless inside the debounce window, where it would
// be ignored anyway), feeds the debouncer and emits a change.
func (i *In) sample(emit func(Event)) {
	now := i.now()
	i.mu.Lock()
	if i.deb.inWindow(now) {
		i.mu.Unlock()
		return
	}
	state := i.logical(i.p.Read())
	changed := i.deb.update(now, state)
	i.mu.Unlock()
	if !changed {
		return
	}
	i.active.Store(state)
	ev := Event{Name: i.cfg.Name, Pin: i.p.Name(), Active: state, Time: now}
	i.log.Debug("input changed", "name", ev.Name, "pin", ev.Pin, "active", ev.Active)
	i.emit(emit, ev)
}

// emit calls the handler and keeps the input alive if it panics.
func (i *In) emit(emit func(Event), ev Event) {
	defer func() {
		if r := recover(); r != nil {
			i.log.Error("input event handler panicked", "name", ev.Name, "pin", ev.Pin, "panic", r)
		}
	}()
	emit(ev)
}
