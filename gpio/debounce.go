package gpio

import "time"

// debouncer is the leading-edge debounce state machine shared by every kind
// of input. It is pure: it never reads a pin or a clock; the caller passes
// each level it saw with the time it saw it, in order.
//
// The rules:
//   - a change is reported at once, on its first edge (no added latency), and
//     opens a window of length window;
//   - levels seen inside the window are not reported, but the last one is
//     remembered;
//   - when the window ends (expire) the last level seen is compared with the
//     reported state: if they differ, it is reported then and opens a new
//     window. So a tap that the pin delivered as two edges inside one window
//     is a press and a release, never a lost tap or a stuck state.
//
// A zero window reports every change and never ignores anything.
//
// Callers must call expire for a window's end before feeding a level seen at
// or after it (In and the tests' simulations do; see In.apply).
type debouncer struct {
	window time.Duration
	state  bool      // last reported state
	last   bool      // last level seen
	lastAt time.Time // when it was seen
	open   bool      // a window is open
	until  time.Time // end of the open window
}

// newDebouncer returns a debouncer whose reported state starts at state.
func newDebouncer(window time.Duration, state bool) debouncer {
	return debouncer{window: window, state: state, last: state}
}

// deadline returns the end of the open window, if one is open. Once it has
// passed, the caller calls expire.
func (d *debouncer) deadline() (time.Time, bool) {
	return d.until, d.open
}

// inWindow reports whether t falls inside an open window.
func (d *debouncer) inWindow(t time.Time) bool {
	return d.open && t.Before(d.until)
}

// feed records the level seen at t (a change with its own level, or a
// read). It returns true when that is reported: the state changed to level.
func (d *debouncer) feed(t time.Time, level bool) bool {
	d.last, d.lastAt = level, t
	if d.inWindow(t) {
		return false
	}
	d.open = false
	if level == d.state {
		return false
	}
	d.report(t, level)
	return true
}

// note records level, read at t, as the last level seen without deciding
// anything: a read at the end of a window, before expire.
func (d *debouncer) note(t time.Time, level bool) {
	d.last, d.lastAt = level, t
}

// expire ends the open window if it is over at now and reconciles: when the
// last level seen differs from the reported state, that level is reported at
// the window's end (or when it was seen, if later: a read after the window),
// which also opens a new window from there. It returns the time of the report
// and true, or false when nothing is reported.
func (d *debouncer) expire(now time.Time) (time.Time, bool) {
	if !d.open || now.Before(d.until) {
		return time.Time{}, false
	}
	d.open = false
	if d.last == d.state {
		return time.Time{}, false
	}
	at := d.until
	if d.lastAt.After(at) {
		at = d.lastAt
	}
	d.report(at, d.last)
	return at, true
}

func (d *debouncer) report(t time.Time, level bool) {
	d.state = level
	if d.window > 0 {
		d.open = true
		d.until = t.Add(d.window)
	}
}
