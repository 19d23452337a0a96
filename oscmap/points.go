package oscmap

import (
	"net/netip"
	"time"
)

// Kind is what a point is.
type Kind string

// The kinds of point.
const (
	KindOutput Kind = "output" // a pin driven by OSC messages
	KindInput  Kind = "input"  // a pin whose changes are reported
)

// Cause says what made a point change.
type Cause string

// The causes of a change.
const (
	CauseStart  Cause = "start"  // the point was created (start, or added by a reload)
	CauseOSC    Cause = "osc"    // a received message
	CauseEdge   Cause = "edge"   // an input's pin changed
	CauseReload Cause = "reload" // a reload removed the point (it went to its safe level) or re-read it
	CauseSafe   Cause = "safe"   // the bridge stopped and put the output at its safe level
	CauseTimer  Cause = "timer"  // the end of a pulse, a step of a blink
	CauseHold   Cause = "hold"   // an input was held for its hold time (Held), again each repeat, or was released after (not Held)
)

// A Change is one new value of a point, whatever caused it.
type Change struct {
	Point string         // the point's name in the mapping
	Kind  Kind           // output or input
	Pin   string         // "GPIO17"
	Value float64        // the value: 1 on, 0 off for outputs; for inputs what their mode sends (see Point.Value)
	Time  time.Time      // when it changed
	Cause Cause          // what changed it
	From  netip.AddrPort // the sender, when Cause is CauseOSC
	Seq   uint64         // 1, 2, 3... over the bridge's life, in publication order
	// Active is, for inputs, whether the pin is active (pressed) after the
	// change, whatever the mode makes of it.
	Active bool
	// Held is, for inputs with a hold time, whether the input is held: it
	// has been active for its hold time since its last press.
	Held bool
}

// A Point is a mapped thing and its current value.
type Point struct {
	Name      string
	Kind      Kind
	Pin       string
	Addresses []string // the addresses that drive an output, or the one an input reports to
	// Value is, for an output, 1 on or 0 off; for an input, what its mode
	// sends: momentary 1 pressed or 0 released, latch its state 1 or 0,
	// counter the presses counted.
	Value   float64
	Active  bool      // an input's pin is active (pressed)
	Held    bool      // an input has been active for its hold time
	Changed time.Time // the last change; zero before the first
	Cause   Cause     // what made the last change
	From    netip.AddrPort
	Err     string // why the point does not work, when it does not (a dead input watcher)
}

// publish records c on the point and hands it to every subscriber, in
// order. The caller holds b.mu, so changes are published one at a time and
// subscribers see them in the order they happened.
func (b *Bridge) publish(c Change) {
	b.seq++
	c.Seq = b.seq
	b.changes.Add(1)
	for _, s := range b.subs {
		if s != nil {
			s(c)
		}
	}
}

// Subscribe calls fn with every change from now on, in order, from the
// goroutine that made the change, while the bridge's state is locked: fn must
// return quickly and never block (queue the change if it has work to do),
// and must not call the Bridge. It returns a function that ends the
// subscription.
func (b *Bridge) Subscribe(fn func(Change)) (cancel func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := len(b.subs)
	b.subs = append(b.subs, fn)
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.subs[i] = nil
	}
}

// Points returns every point with its current value: outputs, digital
// inputs, encoders, then analog sensors, each in mapping order.
func (b *Bridge) Points() []Point {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pointsLocked()
}

func (b *Bridge) pointsLocked() []Point {
	var out []Point
	for _, o := range b.outs {
		out = append(out, o.point)
	}
	for _, o := range b.pwms {
		out = append(out, o.point)
	}
	for _, in := range b.ins {
		out = append(out, in.point)
	}
	for _, en := range b.encs {
		out = append(out, en.point)
	}
	for _, s := range b.sensors {
		out = append(out, s.point)
	}
	for i := range out {
		out[i].Addresses = append([]string(nil), out[i].Addresses...)
	}
	return out
}

func boolValue(on bool) float64 {
	if on {
		return 1
	}
	return 0
}
