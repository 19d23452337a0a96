package gpio

import (
	"context"
	"fmt"
	"log/slog"
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
	Time   time.Time // when the change happened (for a change reconciled at the end of a debounce window: the window's end)
	Seq    uint64    // 1 for the input's first event, then one more for each
}

// defaultPoll is the polling interval of an input whose pin cannot deliver
// edges and whose configuration sets no Poll.
const defaultPoll = 2 * time.Millisecond

// edgeWaitMax bounds each WaitForEdge call on a pin that is neither a sim
// pin nor a host line set (periph's gpiotest fakes, registry pins): their
// Halt may do nothing (gpiotest) and their WaitForEdge(0) may wait forever
// (gpioioctl), so a cancelled context is noticed at the latest after this.
const edgeWaitMax = 100 * time.Millisecond

// haltRetry is how often Run repeats Halt after its context is cancelled,
// until the watcher has returned: a Halt that lands just before a wait
// starts is lost on periph's gpioioctl (the wait resets the deadline that
// Halt set). Nothing runs at this pace before the cancel.
const haltRetry = 2 * time.Millisecond

// pinChange is one change of a pin's electrical level and when it happened.
type pinChange struct {
	level pgpio.Level
	at    time.Time
	seq   uint64 // sim only: the order of the change among all the sim's pins (0 elsewhere)
}

// changeSource is a pin that reports every change with its own level and
// time: sim pins and the host's line-set inputs. Two changes between two
// calls are two results, in order.
type changeSource interface {
	// nextChange returns the oldest change not yet returned, waiting for one
	// up to timeout (< 0: without limit; 0: only one already queued). ok is
	// false on timeout, when done is closed or when Halt interrupted the wait.
	// err is not nil when the pin can deliver no more changes (released,
	// reconfigured, a driver error).
	nextChange(done <-chan struct{}, timeout time.Duration) (c pinChange, ok bool, err error)
	// delivers reports whether the pin, as configured now, delivers changes
	// with their level (a host line whose line set could not be opened does
	// not).
	delivers() bool
}

// In is a debounced digital input. Changes come from the pin's edge events
// unless the pin cannot deliver them or InConfig.Poll is set, in which case
// the level is read at an interval. See the package documentation for what
// each kind of pin guarantees.
type In struct {
	p    pgpio.PinIn
	cfg  InConfig
	log  *slog.Logger
	poll time.Duration // 0: wait for edges
	now  func() time.Time

	active  atomic.Bool // debounced logical state
	running atomic.Bool
	wakes   atomic.Uint64 // returns from the source's wait (tests check idle inputs sleep)

	src changeSource // nil: poll

	// Used only by Run's goroutine.
	deb debouncer
	seq uint64
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
	if s, ok := p.(*simPin); ok {
		i.now = s.sim.now // changes are stamped with the sim's clock
	}
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
	if i.poll == 0 {
		if cs, ok := p.(changeSource); ok && cs.delivers() {
			i.src = cs
		} else {
			i.src = &readSource{p: p, now: func() time.Time { return i.now() }, log: log, name: c.Name}
		}
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

// Run watches the input and calls emit (from Run's goroutine) for every
// debounced change, until ctx is done; then it returns nil. When the watcher
// dies (the pin was released or reconfigured, a driver error or panic) Run
// logs it once at error level and returns an error naming the input, the pin
// and the cause. A panic in emit is logged and the input keeps running. A
// second Run while one is running returns an error at once.
func (i *In) Run(ctx context.Context, emit func(Event)) (err error) {
	if !i.running.CompareAndSwap(false, true) {
		err := fmt.Errorf("input %q on %s is already running; the second Run is ignored", i.cfg.Name, i.p.Name())
		i.log.Error("input is already running; ignoring the second Run", "name", i.cfg.Name, "pin", i.p.Name())
		return err
	}
	defer i.running.Store(false)
	defer func() {
		panicked := false
		if r := recover(); r != nil {
			err, panicked = fmt.Errorf("pin driver panicked: %v", r), true
		}
		if err != nil {
			if ctx.Err() != nil && !panicked {
				err = nil // a release racing with the cancel is not a death
				return
			}
			i.log.Error("input stopped", "name", i.cfg.Name, "pin", i.p.Name(), "err", err)
			err = fmt.Errorf("input %q on %s stopped: %w", i.cfg.Name, i.p.Name(), err)
		}
	}()
	if emit == nil {
		emit = func(Event) {}
	}
	if i.poll > 0 {
		return i.runPoll(ctx, emit)
	}
	src := i.src
	// Halt interrupts a wait without a timeout; repeat it until the watcher
	// has returned (see haltRetry). Nothing of this runs before the cancel.
	exited := make(chan struct{})
	defer close(exited)
	stop := context.AfterFunc(ctx, func() {
		t := time.NewTicker(haltRetry)
		defer t.Stop()
		for {
			_ = i.p.Halt()
			select {
			case <-exited:
				return
			case <-t.C:
			}
		}
	})
	defer stop()
	return i.runChanges(ctx, src, emit)
}

// runChanges takes the pin's changes in order. It waits without a timeout
// unless a debounce window is open, and then only until the window ends.
func (i *In) runChanges(ctx context.Context, src changeSource, emit func(Event)) error {
	done := ctx.Done()
	for ctx.Err() == nil {
		timeout := time.Duration(-1)
		if dl, open := i.deb.deadline(); open {
			timeout = max(0, dl.Sub(i.now()))
		}
		c, ok, err := src.nextChange(done, timeout)
		i.wakes.Add(1)
		if err != nil {
			return err
		}
		if ok {
			i.apply(c.at, i.logical(c.level), emit)
			continue
		}
		// Timeout (nothing queued), halt or cancel: end a window that is over.
		if ctx.Err() != nil {
			break
		}
		now := i.now()
		if _, reads := src.(*readSource); reads && i.deb.open && !i.deb.inWindow(now) {
			// No event carries a level: read it as a cross-check.
			i.deb.note(now, i.logical(i.p.Read()))
		}
		i.expire(now, emit)
	}
	return nil
}

// runPoll reads the level every i.poll: the one place where a timer runs
// while the input is idle.
func (i *In) runPoll(ctx context.Context, emit func(Event)) error {
	t := time.NewTicker(i.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			now := i.now()
			state := i.logical(i.p.Read())
			if !i.deb.inWindow(now) {
				// At a window's end the level read now is the truth, not the
				// last (possibly bouncing) sample inside the window.
				i.deb.note(now, state)
			}
			i.apply(now, state, emit)
		}
	}
}

// apply feeds one level seen at t to the debouncer, after ending a window
// that was over by then, and emits what is reported.
func (i *In) apply(t time.Time, state bool, emit func(Event)) {
	i.expire(t, emit)
	if i.deb.feed(t, state) {
		i.report(t, state, emit)
	}
}

// expire ends the debounce window if it is over at now, emitting the
// reconciled state if it differs.
func (i *In) expire(now time.Time, emit func(Event)) {
	if at, ok := i.deb.expire(now); ok {
		i.report(at, i.deb.state, emit)
	}
}

func (i *In) report(t time.Time, state bool, emit func(Event)) {
	i.active.Store(state)
	i.seq++
	ev := Event{Name: i.cfg.Name, Pin: i.p.Name(), Active: state, Time: t, Seq: i.seq}
	if i.log.Enabled(context.Background(), slog.LevelDebug) {
		i.log.Debug("input changed", "name", ev.Name, "pin", ev.Pin, "active", ev.Active, "seq", ev.Seq)
	}
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

// readSource is the changeSource of a periph pin that only says that an edge
// happened (WaitForEdge returns a bool): the level is read after each edge.
// Two changes before the read look like one level, or none; sim pins and host
// line sets do not have this limit. Its waits are finite (edgeWaitMax).
type readSource struct {
	p      pgpio.PinIn
	now    func() time.Time
	log    *slog.Logger
	name   string
	warned bool
}

func (r *readSource) delivers() bool { return false }

func (r *readSource) nextChange(done <-chan struct{}, timeout time.Duration) (pinChange, bool, error) {
	wait := edgeWaitMax
	if timeout >= 0 && timeout < wait {
		wait = max(timeout, time.Nanosecond) // 0 would wait forever on gpioioctl
	}
	start := time.Now()
	if r.p.WaitForEdge(wait) {
		return pinChange{level: r.p.Read(), at: r.now()}, true, nil
	}
	// A wait that ends at once without an edge (a released or reconfigured
	// line, a driver error) must not become a busy loop.
	if early := time.Since(start); wait >= time.Millisecond && early < wait/2 {
		if !r.warned {
			r.warned = true
			r.log.Warn("waiting for an edge fails at once; retrying at a slower pace", "name", r.name, "pin", r.p.Name())
		}
		t := time.NewTimer(wait - early)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
		}
	}
	return pinChange{}, false, nil
}
