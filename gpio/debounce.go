package gpio

import "time"

// debouncer is the leading-edge debounce state machine shared by edge and
// polling inputs. It is pure: it never reads a pin or a clock; the caller
// passes the time and the level it just read.
//
// The rules:
//   - a change is reported at once, on the first edge (no added latency), and
//     opens a window of length window;
//   - anything seen inside the window is ignored (bounce);
//   - when the window ends the caller reads the level again and calls update
//     with it: if it differs from the last reported state, that is reported at
//     once and opens a new window (a press released inside the window becomes
//     press then release, never a stuck state).
//
// A zero window reports every change and never ignores anything.
type debouncer struct {
	window time.Duration
	state  bool      // last reported state
	open   bool      // a window is open
	until  time.Time // end of the open window
}

// newDebouncer returns a debouncer whose reported state starts at state.
func newDebouncer(window time.Duration, state bool) debouncer {
	return debouncer{window: window, state: state}
}

// inWindow reports whether now falls inside an open debounce window, where
// levels are ignored (so a caller need not even read the pin).
func (d *debouncer) inWindow(now time.Time) bool {
	return d.open && now.Before(d.until)
}

// deadline returns the end of the open window, if one is open. When it has
// passed, the caller must read the level and call update to reconcile.
func (d *debouncer) deadline() (time.Time, bool) {
	return d.until, d.open
}

// update feeds the level seen at now (after an edge, a poll tick or the end of
// a window). It returns true when the reported state changed to level.
func (d *debouncer) update(now time.Time, level bool) bool {
	if d.inWindow(now) {
		return false
	}
	d.open = false
	if level == d.state {
		return false
	}
	d.state = level
	if d.window > 0 {
		d.open = true
		d.until = now.Add(d.window)
	}
	return true
}
