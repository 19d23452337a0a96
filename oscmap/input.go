package oscmap

import (
	"context"
	"fmt"
	"log/slog"
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
	in      *gpio.In
	active  bool
	point   Point

	name, pin string // set by start, read without b.mu
	cancel    context.CancelFunc
	done      chan struct{}
	stopped   bool // guarded by b.mu: events after this are dropped
}

// start runs the watcher until stop or Close.
func (in *input) start() {
	in.name, in.pin = in.cfg.Name, in.cfg.Pin.Name() // for logs off the lock
	ctx, cancel := context.WithCancel(in.b.ctx)
	in.cancel, in.done = cancel, make(chan struct{})
	go func() {
		defer close(in.done)
		err := in.in.Run(ctx, in.event)
		if err != nil && ctx.Err() == nil {
			b := in.b
			b.deadInputs.Add(1)
			b.mu.Lock()
			in.point.Err = err.Error()
			b.mu.Unlock()
			b.log.Error("input stopped: its changes are no longer reported (a reload re-creates it)", "input", in.name, "pin", in.pin, "err", err)
		}
	}()
}

// stop ends the watcher and waits for it, for at most d, and reports
// whether it ended. The caller must not hold b.mu (the watcher may be
// waiting for it).
func (in *input) stop(d time.Duration) bool {
	in.b.mu.Lock()
	in.stopped = true
	in.b.mu.Unlock()
	if in.cancel != nil {
		in.cancel()
	}
	return in.wait(d)
}

// wait waits for the watcher to end, for at most d.
func (in *input) wait(d time.Duration) bool {
	if in.done == nil {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-in.done:
		return true
	case <-t.C:
		in.b.log.Warn("input watcher did not stop in time", "input", in.name, "pin", in.pin)
		return false
	}
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

// changed records a new state and publishes it. The caller holds b.mu.
func (in *input) changed(active bool, at time.Time, cause Cause) {
	in.active = active
	in.point.Value, in.point.Changed, in.point.Cause = boolValue(active), at, cause
	in.b.publish(Change{Point: in.cfg.Name, Kind: KindInput, Pin: in.cfg.Pin.Name(), Value: in.point.Value, Time: at, Cause: cause})
}

// setReport takes the input's mapping and encodes its two reports.
func (in *input) setReport(c config.Input) error {
	for i, active := range []bool{false, true} {
		data, err := codec.Encode(InputMessage(c, active))
		if err != nil {
			return fmt.Errorf("input %q: cannot encode its report: %w", c.Name, err)
		}
		in.reports[i] = data
	}
	in.cfg = c
	return nil
}

// report is the subscriber that sends input changes to their destinations.
// It runs under b.mu, so it reads the current mapping of the input.
func (b *Bridge) report(c Change) {
	if c.Kind != KindInput || c.Cause != CauseEdge {
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
	active := c.Value != 0
	data := in.reports[boolIndex(active)]
	for _, to := range in.cfg.To {
		if err := b.send.Send(to, data); err != nil {
			if b.logOK(slog.LevelWarn) {
				b.log.Warn("send failed", "osc", codec.Format(InputMessage(in.cfg, active)), "to", to, "err", err)
			}
			continue
		}
		if b.logOK(slog.LevelInfo) {
			b.log.Info("sent", "osc", codec.Format(InputMessage(in.cfg, active)), "to", to)
		}
	}
}

// InputMessage is the message an input sends for a change to active (pressed)
// or inactive: its address with its press or release value, typed as the
// mapping asks (i by default, which Pd's [oscparse] and Max understand).
func InputMessage(in config.Input, active bool) *osc.Message {
	v := in.Release
	if active {
		v = in.Press
	}
	var arg any
	switch in.Type {
	case 'f':
		arg = float32(v)
	case 'd':
		arg = v
	case 'h':
		arg = int64(v)
	case 'T':
		arg = active
	default:
		arg = int32(v)
	}
	return osc.NewMessage(in.Address, arg)
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}
