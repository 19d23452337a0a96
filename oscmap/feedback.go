package oscmap

import (
	"log/slog"
	"math"
	"time"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/oscmap/codec"
)

// feedbackOf is what the feedback of one point needs: where, how, how often.
type feedbackOf struct {
	address string
	typ     byte
	dests   []string
	rate    float64
	value   float64 // the value to show: the point's value
}

// feedbackFor finds the feedback settings of the point called name. The
// caller holds b.mu.
func (b *Bridge) feedbackFor(name string) (feedbackOf, bool) {
	for _, o := range b.outs {
		if o.cfg.Name == name {
			return feedbackOf{o.cfg.Addresses[0], o.cfg.Type, o.cfg.Feedback, o.cfg.FeedbackRate, o.point.Value}, len(o.cfg.Feedback) > 0
		}
	}
	for _, o := range b.pwms {
		if o.cfg.Name == name {
			return feedbackOf{o.cfg.Addresses[0], o.cfg.Type, o.cfg.Feedback, o.cfg.FeedbackRate, o.point.Value}, len(o.cfg.Feedback) > 0
		}
	}
	for _, in := range b.ins {
		if in.cfg.Name == name {
			return feedbackOf{in.cfg.Address, in.cfg.Type, in.cfg.Feedback, in.cfg.FeedbackRate, in.point.Value}, len(in.cfg.Feedback) > 0
		}
	}
	for _, en := range b.encs {
		if en.cfg.Name == name {
			return feedbackOf{en.cfg.Address, en.cfg.Type, en.cfg.Feedback, en.cfg.FeedbackRate, en.point.Value}, len(en.cfg.Feedback) > 0
		}
	}
	for _, s := range b.sensors {
		if s.cfg.Name == name {
			return feedbackOf{s.cfg.Address, s.cfg.Type, s.cfg.Feedback, s.cfg.FeedbackRate, s.point.Value}, len(s.cfg.Feedback) > 0
		}
	}
	return feedbackOf{}, false
}

// fbLimit keeps one address's feedback to its rate: a value that comes
// sooner waits for its slot and is replaced by a newer one.
type fbLimit struct {
	lastAt  time.Time
	pending bool
	timer   timer
}

// feedback is the subscriber that sends every change of a point with
// feedback: destinations to them: the point's address and its new value,
// typed as the mapping says, at most feedback_rate times a second per
// address (the latest value wins). It runs under b.mu.
func (b *Bridge) feedback(c Change) {
	fb, ok := b.feedbackFor(c.Point)
	if !ok {
		return
	}
	if b.fbLimits == nil {
		b.fbLimits = map[string]*fbLimit{}
	}
	l := b.fbLimits[c.Point]
	if l == nil {
		l = &fbLimit{}
		b.fbLimits[c.Point] = l
	}
	now := b.clock.Now()
	gap := time.Duration(float64(time.Second) / max(fb.rate, 1e-3))
	if l.lastAt.IsZero() || now.Sub(l.lastAt) >= gap {
		l.lastAt = now
		b.sendFeedback(fb)
		return
	}
	l.pending = true
	if l.timer != nil {
		return
	}
	name := c.Point
	l.timer = b.clock.AfterFunc(l.lastAt.Add(gap).Sub(now), func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		l.timer = nil
		if !l.pending || b.closed {
			return
		}
		l.pending = false
		if fb, ok := b.feedbackFor(name); ok { // the value now: the latest wins
			l.lastAt = b.clock.Now()
			b.sendFeedback(fb)
		}
	})
}

// sendFeedback sends one point's value to its feedback destinations.
func (b *Bridge) sendFeedback(fb feedbackOf) {
	m := osc.NewMessage(fb.address, typedValue(fb.typ, fb.value))
	data, err := codec.Encode(m)
	if err != nil {
		return
	}
	for _, to := range fb.dests {
		if err := b.send.Send(to, data); err != nil {
			if b.logOK(slog.LevelWarn) {
				b.log.Warn("feedback not sent", "osc", codec.Format(m), "to", to, "err", err)
			}
			continue
		}
		b.tapOut(to, data)
	}
}

// sync sends every point's value to its feedback destinations at once
// (/oscgpio/sync: a control surface that has just started). The caller holds
// b.mu.
func (b *Bridge) sync() int {
	n := 0
	for _, p := range b.pointsLocked() {
		if fb, ok := b.feedbackFor(p.Name); ok {
			b.sendFeedback(fb)
			n++
		}
	}
	return n
}

// typedValue is v as the OSC type t: i (rounded), f, d, h or T (non-zero).
func typedValue(t byte, v float64) any {
	switch t {
	case 'f':
		return float32(v)
	case 'd':
		return v
	case 'h':
		return int64(math.Round(v))
	case 'T':
		return v != 0
	}
	return int32(math.Round(v))
}
