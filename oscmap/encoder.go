package oscmap

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/gpio"
	"github.com/oscgpio/oscgpio/oscmap/codec"
)

// KindEncoder is a rotary encoder's point. Its Value on the feed is what was
// sent: +1 or -1 per detent in relative mode, the new value in absolute mode;
// Point.Value is the running total (relative) or the value (absolute).
const KindEncoder Kind = "encoder"

// encoder is a rotary encoder point and its watcher goroutine.
type encoder struct {
	b     *Bridge
	cfg   config.Input // guarded by b.mu
	enc   *gpio.Encoder
	pos   int // absolute mode: the value's index, Min + pos*Step; relative: the running total
	point Point

	name, pins string
	w          watcher
	stopped    bool // guarded by b.mu
}

// openEncoder opens an encoder's two pins. The caller holds b.mu.
func (b *Bridge) openEncoder(c config.Input) (*encoder, error) {
	pa, err := b.backend.Pin(c.Pins[0].Name())
	if err != nil {
		return nil, fmt.Errorf("encoder %q on %s: %w", c.Name, c.Pins[0], err)
	}
	pb, err := b.backend.Pin(c.Pins[1].Name())
	if err != nil {
		b.release(c.Pins[0].Name())
		return nil, fmt.Errorf("encoder %q on %s: %w", c.Name, c.Pins[1], err)
	}
	e, err := gpio.NewEncoder(pa, pb, gpio.EncoderConfig{Name: c.Name, Pull: pull(c.Pull), StepsPerDetent: c.StepsPerDetent, Reverse: c.Reverse}, b.log)
	if err != nil {
		b.release(c.Pins[0].Name())
		b.release(c.Pins[1].Name())
		return nil, fmt.Errorf("encoder %q: %w", c.Name, err)
	}
	en := &encoder{b: b, cfg: c, enc: e, point: Point{Name: c.Name, Kind: KindEncoder,
		Pin: c.Pins[0].Name() + "," + c.Pins[1].Name(), Addresses: []string{c.Address}}}
	en.point.Value = en.value()
	return en, nil
}

// positions is how many values an absolute encoder can take.
func (en *encoder) positions() int {
	c := en.cfg
	return int(math.Floor((c.Max-c.Min)/c.Step+1e-9)) + 1
}

// value is the point's value: the running total, or Min + pos*Step.
func (en *encoder) value() float64 {
	if en.cfg.Mode == "absolute" {
		return en.cfg.Min + float64(en.pos)*en.cfg.Step
	}
	return float64(en.pos)
}

// turn applies one detent and returns the value to send, or false when an
// absolute encoder is at its end (and does not wrap). Pure but for en.pos.
func (en *encoder) turn(delta int) (float64, bool) {
	if en.cfg.Mode != "absolute" {
		en.pos += delta
		return float64(delta), true
	}
	n := en.positions()
	p := en.pos + delta
	switch {
	case p >= 0 && p < n:
	case en.cfg.Wrap:
		p = ((p % n) + n) % n
	default:
		return 0, false
	}
	en.pos = p
	return en.value(), true
}

// start runs the watcher until stop or Close.
func (en *encoder) start() {
	en.name, en.pins = en.cfg.Name, en.point.Pin
	en.w.watchPins(en.b, &en.point, "encoder stopped: its turns are no longer reported",
		func(ctx context.Context) error { return en.enc.Run(ctx, en.step) }, "input", en.name, "pins", en.pins)
}

// stop ends the watcher and waits for it, for at most d. The caller must not
// hold b.mu.
func (en *encoder) stop(d time.Duration) bool {
	en.b.mu.Lock()
	en.stopped = true
	en.b.mu.Unlock()
	if !en.w.stop(d) {
		en.b.log.Warn("encoder watcher did not stop in time", "input", en.name, "pins", en.pins)
		return false
	}
	return true
}

// step takes one detent from the watcher.
func (en *encoder) step(s gpio.EncoderStep) {
	b := en.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if en.stopped || b.closed {
		return
	}
	v, ok := en.turn(s.Delta)
	if !ok {
		return
	}
	en.point.Value, en.point.Changed, en.point.Cause = en.value(), s.Time, CauseEdge
	b.publish(Change{Point: en.cfg.Name, Kind: KindEncoder, Pin: en.point.Pin, Value: v, Time: s.Time, Cause: CauseEdge})
}

// valueMessage is the message an encoder or a sensor sends for value v,
// typed as its mapping asks: i (rounded) or f.
func valueMessage(c config.Input, v float64) *osc.Message {
	if c.Type == 'i' {
		return osc.NewMessage(c.Address, int32(math.Round(v)))
	}
	return osc.NewMessage(c.Address, float32(v))
}

// reportValue is the subscriber that sends encoder turns and sensor readings
// to their destinations. It runs under b.mu.
func (b *Bridge) reportValue(c Change) {
	if c.Cause != CauseEdge || (c.Kind != KindEncoder && c.Kind != KindAnalog) {
		return
	}
	var cfg config.Input
	found := false
	for _, en := range b.encs {
		if en.cfg.Name == c.Point {
			cfg, found = en.cfg, true
		}
	}
	for _, s := range b.sensors {
		if s.cfg.Name == c.Point {
			cfg, found = s.cfg, true
		}
	}
	if !found {
		return
	}
	m := valueMessage(cfg, c.Value)
	data, err := codec.Encode(m)
	if err != nil {
		b.log.Error("cannot encode a report", "input", cfg.Name, "err", err)
		return
	}
	for _, to := range cfg.To {
		if err := b.send.Send(to, data); err != nil {
			if b.logOK(slog.LevelWarn) {
				b.log.Warn("send failed", "osc", codec.Format(m), "to", to, "err", err)
			}
			continue
		}
		b.tapOut(to, data)
		if b.logOK(slog.LevelInfo) {
			b.log.Info("sent", "osc", codec.Format(m), "to", to)
		}
	}
}
