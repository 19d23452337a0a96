package oscmap

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/gpio"
	"github.com/oscgpio/oscgpio/oscmap/codec"
)

// input is a digital input point and its watcher goroutine.
type input struct {
	b   *Bridge
	cfg config.Input // guarded by b.mu: a reload may change what it reports
	// reports are the encoded messages for a change to inactive [0] and
	// active [1], made once per mapping: a report allocates nothing.
	reports [2][]byte
	holds   [2][]byte // <address>/hold 0 and 1, when the input has a hold time
	// countHead is a counter's report without its argument's bytes: the
	// address and the type tag, which encodeCount completes with the count.
	countHead []byte
	in        *gpio.In
	active    bool
	point     Point

	// The state of the mode and the hold timer, guarded by b.mu.
	latch bool      // latch: the value the last press flipped to
	count int64     // counter: the presses so far
	held  bool      // active for the hold time since the last press
	gen   uint64    // counts presses and releases: a timer of an older one does nothing
	timer timer     // the pending hold or repeat, nil when none
	due   time.Time // when the pending hold or repeat is due

	name, pin string // set by start, read without b.mu
	w         watcher
	stopped   bool // guarded by b.mu: events after this are dropped
}

// start runs the watcher until stop or Close.
func (in *input) start() {
	in.name, in.pin = in.cfg.Name, in.cfg.Pin.Name() // for logs off the lock
	in.w.watchPins(in.b, &in.point, "input stopped: its changes are no longer reported",
		func(ctx context.Context) error { return in.in.Run(ctx, in.event) }, "input", in.name, "pin", in.pin)
}

// stop ends the watcher and waits for it, for at most d, and reports
// whether it ended. The caller must not hold b.mu (the watcher may be
// waiting for it).
func (in *input) stop(d time.Duration) bool {
	in.b.mu.Lock()
	in.stopped = true
	in.stopHold()
	if in.held {
		// A receiver told /hold 1 is told it ended.
		in.held = false
		in.publish(in.b.clock.Now(), CauseHold)
	}
	in.b.mu.Unlock()
	if !in.w.stop(d) {
		in.b.log.Warn("input watcher did not stop in time", "input", in.name, "pin", in.pin)
		return false
	}
	return true
}

// event takes one debounced change from the watcher.
func (in *input) event(e gpio.Event) {
	b := in.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if in.stopped || b.closed {
		return
	}
	in.changed(e.Active, e.Time, CauseEdge)
}

// changed records a new state of the pin, applies the mode and the hold
// time, and publishes it. The caller holds b.mu.
func (in *input) changed(active bool, at time.Time, cause Cause) {
	pressed := active && !in.active
	wasHeld := in.held
	in.active = active
	if pressed || !active {
		// A new press or a release: an older hold timer does nothing.
		in.gen++
		in.stopHold()
		in.held = false
	}
	if pressed {
		switch in.cfg.Mode {
		case config.ModeLatch:
			in.latch = !in.latch
		case config.ModeCounter:
			in.count++
		}
		if in.cfg.Hold > 0 {
			gen := in.gen
			in.due = in.b.clock.Now().Add(in.cfg.Hold)
			in.timer = in.b.clock.AfterFunc(in.cfg.Hold, func() { in.holdDue(gen) })
		}
	}
	in.publish(at, cause)
	if wasHeld && !in.held {
		in.publish(at, CauseHold)
	}
}

// holdDue runs when the hold (or repeat) time of press gen is up: if the
// input is still active in that press, it is held, and the next repeat is
// set. Repeats keep to the press's time: hold, hold+repeat, hold+2*repeat...
// (one that is already past after a stall is skipped, not sent in a burst).
func (in *input) holdDue(gen uint64) {
	b := in.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || in.stopped || in.gen != gen || !in.active {
		return
	}
	now := b.clock.Now()
	in.held, in.timer = true, nil
	if in.cfg.Repeat > 0 {
		in.due = in.due.Add(in.cfg.Repeat)
		if !in.due.After(now) {
			in.due = now.Add(in.cfg.Repeat)
		}
		in.timer = b.clock.AfterFunc(in.due.Sub(now), func() { in.holdDue(gen) })
	}
	in.publish(now, CauseHold)
}

// stopHold stops the pending hold or repeat timer. The caller holds b.mu.
func (in *input) stopHold() {
	in.gen++
	if in.timer != nil {
		in.timer.Stop()
		in.timer = nil
	}
}

// value is what the input's mode sends for its current state.
func (in *input) value() float64 {
	switch in.cfg.Mode {
	case config.ModeLatch:
		return boolValue(in.latch)
	case config.ModeCounter:
		return float64(in.count)
	}
	return boolValue(in.active)
}

// publish records the input's state on its point and publishes it. The
// caller holds b.mu.
func (in *input) publish(at time.Time, cause Cause) {
	p := &in.point
	p.Value, p.Active, p.Held, p.Changed, p.Cause = in.value(), in.active, in.held, at, cause
	in.b.publish(Change{Point: in.cfg.Name, Kind: KindInput, Pin: in.cfg.Pin.Name(), Value: p.Value, Time: at, Cause: cause,
		Active: in.active, Held: in.held})
}

// setReport takes the input's mapping and encodes its two reports.
func (in *input) setReport(c config.Input) error {
	for i, active := range []bool{false, true} {
		data, err := codec.Encode(InputMessage(c, active))
		if err != nil {
			return fmt.Errorf("input %q: cannot encode its report: %w", c.Name, err)
		}
		in.reports[i] = data
		if in.holds[i], err = codec.Encode(holdMessage(c, active)); err != nil {
			return fmt.Errorf("input %q: cannot encode its hold report: %w", c.Name, err)
		}
	}
	in.countHead = nil
	if data, err := codec.Encode(countMessage(c, 0)); err == nil {
		switch c.Type {
		case 'i', 'f':
			in.countHead = data[:len(data)-4]
		case 'd', 'h':
			in.countHead = data[:len(data)-8]
		}
	}
	in.cfg = c
	return nil
}

// report is the subscriber that sends input changes to their destinations.
// It runs under b.mu, so it reads the current mapping and state of the
// input. What is sent:
//
//   - CauseStart (report_at_start): the state, as the mode sends it;
//   - CauseEdge: momentary, the press or release value; latch and counter,
//     the new value at a press, nothing at a release;
//   - CauseHold: <address>/hold 1 when held (and at each repeat), 0 after.
func (b *Bridge) report(c Change) {
	if c.Kind != KindInput {
		return
	}
	var in *input
	for _, x := range b.ins {
		if x.cfg.Name == c.Point {
			in = x
			break
		}
	}
	if in == nil {
		return
	}
	var data []byte
	what, on := reportValue, c.Value != 0
	switch {
	case c.Cause == CauseHold:
		what, on = reportHold, c.Held
		data = in.holds[boolIndex(on)]
	case c.Cause == CauseStart && !in.cfg.ReportAtStart,
		c.Cause == CauseEdge && in.cfg.Mode != config.ModeMomentary && !c.Active,
		c.Cause != CauseStart && c.Cause != CauseEdge:
		return
	case in.cfg.Mode == config.ModeCounter:
		what, data = reportCount, in.encodeCount()
	default:
		data = in.reports[boolIndex(on)]
	}
	for _, to := range in.cfg.To {
		if err := b.send.Send(to, data); err != nil {
			if b.logOK(slog.LevelWarn) {
				b.log.Warn("send failed", "osc", codec.Format(in.message(what, on)), "to", to, "err", err)
			}
			continue
		}
		b.tapOut(to, data)
		if b.logOK(slog.LevelInfo) {
			b.log.Info("sent", "osc", codec.Format(in.message(what, on)), "to", to)
		}
	}
}

// What a report is: the value of the input's mode, a hold, or a count.
const (
	reportValue = iota
	reportHold
	reportCount
)

// message is the report what (with on, for a value or a hold) as a
// message, for the log. The caller holds b.mu.
func (in *input) message(what int, on bool) *osc.Message {
	switch what {
	case reportHold:
		return holdMessage(in.cfg, on)
	case reportCount:
		return countMessage(in.cfg, in.count)
	}
	return InputMessage(in.cfg, on)
}

// encodeCount encodes a counter's report with the current count: the
// encoded head made by setReport and the count, in one allocation (the
// sender may queue it, so it cannot be reused). The caller holds b.mu.
func (in *input) encodeCount() []byte {
	head, n := in.countHead, in.count
	var data []byte
	switch in.cfg.Type {
	case 'f':
		data = binary.BigEndian.AppendUint32(append(make([]byte, 0, len(head)+4), head...), math.Float32bits(float32(n)))
	case 'd':
		data = binary.BigEndian.AppendUint64(append(make([]byte, 0, len(head)+8), head...), math.Float64bits(float64(n)))
	case 'h':
		data = binary.BigEndian.AppendUint64(append(make([]byte, 0, len(head)+8), head...), uint64(n))
	case 'i':
		data = binary.BigEndian.AppendUint32(append(make([]byte, 0, len(head)+4), head...), uint32(int32(n)))
	default: // T: refused by config for a counter; encoded the slow way
		data, _ = codec.Encode(countMessage(in.cfg, n))
	}
	return data
}

// holdMessage is <address>/hold with 1 (held) or 0, typed as the mapping
// asks (T/F for type T).
func holdMessage(in config.Input, held bool) *osc.Message {
	return typed(in.Address+"/hold", in.Type, boolValue(held), held)
}

// countMessage is a counter's report: its address with the count, typed as
// the mapping asks (i by default).
// A count beyond int32 wraps with type i (2^31 presses).
func countMessage(in config.Input, n int64) *osc.Message {
	switch in.Type {
	case 'i':
		return osc.NewMessage(in.Address, int32(n))
	case 'h':
		return osc.NewMessage(in.Address, n)
	}
	return typed(in.Address, in.Type, float64(n), n != 0)
}

// InputMessage is the message an input sends for a change to active (pressed)
// or inactive: its address with its press or release value, typed as the
// mapping asks (i by default, which Pd's [oscparse] and Max understand).
func InputMessage(in config.Input, active bool) *osc.Message {
	v := in.Release
	if active {
		v = in.Press
	}
	return typed(in.Address, in.Type, v, active)
}

// typed is a message to address with v as OSC type t (b for type T).
func typed(address string, t byte, v float64, b bool) *osc.Message {
	var arg any
	switch t {
	case 'f':
		arg = float32(v)
	case 'd':
		arg = v
	case 'h':
		arg = int64(v)
	case 'T':
		arg = b
	default:
		arg = int32(v)
	}
	return osc.NewMessage(address, arg)
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}
