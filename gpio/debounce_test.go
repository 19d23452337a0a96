package gpio

import (
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"testing"
	"time"
)

var t0 = time.Date(2024, 5, 1, 20, 0, 0, 0, time.UTC)

func ms(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }

// change is one change of the electrical (here: logical) signal at a pin.
type change struct {
	at    time.Duration // since t0
	level bool
}

// report is one change reported by the debouncer.
type report struct {
	at    time.Duration
	level bool
}

func (r report) String() string { return fmt.Sprintf("%v@%v", r.level, r.at) }

// signalAt returns the level of the piecewise-constant signal at t.
func signalAt(initial bool, changes []change, t time.Duration) bool {
	l := initial
	for _, c := range changes {
		if c.at > t {
			break
		}
		l = c.level
	}
	return l
}

// simulateEdges drives a debouncer the way In.runChanges does, in virtual
// time: every change in order, with the level read readDelay after it (0 for
// the sim and host line sets, whose changes carry their level; more for a
// periph pin read after WaitForEdge), a window that ended before a change
// expired first, and the windows still open at the end expired.
func simulateEdges(window time.Duration, initial bool, changes []change, readDelay func() time.Duration) []report {
	d := newDebouncer(window, initial)
	var out []report
	expire := func(now time.Time) {
		if at, ok := d.expire(now); ok {
			out = append(out, report{at.Sub(t0), d.state})
		}
	}
	for _, c := range changes {
		now := t0.Add(c.at)
		expire(now)
		l := signalAt(initial, changes, c.at+readDelay())
		if d.feed(now, l) {
			out = append(out, report{c.at, l})
		}
	}
	for {
		dl, open := d.deadline()
		if !open {
			return out
		}
		expire(dl)
	}
}

// simulatePoll drives a debouncer the way In.runPoll does: a read every poll.
func simulatePoll(window, poll time.Duration, initial bool, changes []change, end time.Duration) []report {
	d := newDebouncer(window, initial)
	var out []report
	for now := poll; now <= end; now += poll {
		l := signalAt(initial, changes, now)
		if !d.inWindow(t0.Add(now)) {
			d.note(t0.Add(now), l)
		}
		if at, ok := d.expire(t0.Add(now)); ok {
			out = append(out, report{at.Sub(t0), d.state})
		}
		if d.feed(t0.Add(now), l) {
			out = append(out, report{now, l})
		}
	}
	return out
}

func noDelay() time.Duration { return 0 }

func TestDebouncerTable(t *testing.T) {
	const up, down = false, true // logical: false released, true pressed
	tests := []struct {
		name    string
		window  time.Duration
		initial bool
		changes []change
		want    []report
	}{
		{
			name:    "clean press",
			window:  ms(20),
			changes: []change{{ms(10), down}},
			want:    []report{{ms(10), down}},
		},
		{
			name:    "press with bounce: one press, on the first edge",
			window:  ms(20),
			changes: []change{{ms(10), down}, {ms(10.3), up}, {ms(10.9), down}, {ms(11.5), up}, {ms(14), down}},
			want:    []report{{ms(10), down}},
		},
		{
			name:    "release with bounce: one release",
			window:  ms(20),
			initial: down,
			changes: []change{{ms(50), up}, {ms(50.2), down}, {ms(51), up}, {ms(55), down}, {ms(56), up}},
			want:    []report{{ms(50), up}},
		},
		{
			name:    "press and release with bounce, far apart",
			window:  ms(20),
			changes: []change{{ms(10), down}, {ms(11), up}, {ms(12), down}, {ms(200), up}, {ms(201), down}, {ms(203), up}},
			want:    []report{{ms(10), down}, {ms(200), up}},
		},
		{
			name:    "press released inside the window: press, then release at the window's end",
			window:  ms(20),
			changes: []change{{ms(10), down}, {ms(15), up}},
			want:    []report{{ms(10), down}, {ms(30), up}},
		},
		{
			name:    "tap with bounce on both edges inside one window: reconciled, not stuck",
			window:  ms(20),
			changes: []change{{ms(10), down}, {ms(10.5), up}, {ms(11), down}, {ms(18), up}, {ms(18.4), down}, {ms(19), up}},
			want:    []report{{ms(10), down}, {ms(30), up}},
		},
		{
			name:    "reconciled change opens a new window",
			window:  ms(20),
			changes: []change{{ms(10), down}, {ms(15), up}, {ms(35), down}, {ms(45), up}},
			// 10 press; 30 reconcile: up (window to 50); 35 and 45 ignored; 50 reconcile: up = state.
			want: []report{{ms(10), down}, {ms(30), up}},
		},
		{
			name:    "edge exactly at the window's end is not bounce",
			window:  ms(20),
			changes: []change{{ms(10), down}, {ms(30), up}},
			want:    []report{{ms(10), down}, {ms(30), up}},
		},
		{
			name:    "edge back to the reported level is not a change",
			window:  ms(20),
			changes: []change{{ms(10), up}, {ms(40), up}},
			want:    nil,
		},
		{
			name:    "zero window reports every change",
			window:  0,
			changes: []change{{ms(1), down}, {ms(1.1), up}, {ms(1.2), down}},
			want:    []report{{ms(1), down}, {ms(1.1), up}, {ms(1.2), down}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := simulateEdges(tt.window, tt.initial, tt.changes, noDelay)
			if !slices.Equal(got, tt.want) {
				t.Errorf("reports = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDebouncerFeedAndExpireDirect(t *testing.T) {
	d := newDebouncer(ms(20), false)
	if _, open := d.deadline(); open {
		t.Fatal("new debouncer has an open window")
	}
	if _, ok := d.expire(t0); ok {
		t.Fatal("expire without a window reported")
	}
	if !d.feed(t0, true) {
		t.Fatal("first change not reported")
	}
	if dl, open := d.deadline(); !open || !dl.Equal(t0.Add(ms(20))) {
		t.Fatalf("deadline = %v %v, want %v true", dl, open, t0.Add(ms(20)))
	}
	if !d.inWindow(t0.Add(ms(19))) || d.inWindow(t0.Add(ms(20))) {
		t.Error("window bounds wrong: [t, t+20ms) expected")
	}
	if d.feed(t0.Add(ms(5)), false) {
		t.Error("change inside the window reported")
	}
	if _, ok := d.expire(t0.Add(ms(19))); ok {
		t.Error("expire before the window's end reported")
	}
	// The last level seen inside the window (false) differs: reported at the
	// window's end, which opens a new window.
	if at, ok := d.expire(t0.Add(ms(25))); !ok || !at.Equal(t0.Add(ms(20))) || d.state {
		t.Errorf("expire = %v %v state %v, want the release at 20ms", at, ok, d.state)
	}
	if dl, open := d.deadline(); !open || !dl.Equal(t0.Add(ms(40))) {
		t.Errorf("reconcile did not open a window to 40ms: %v %v", dl, open)
	}
	d.note(t0.Add(ms(30)), false)
	if _, ok := d.expire(t0.Add(ms(40))); ok {
		t.Error("reconcile to the same level reported a change")
	}
	if _, open := d.deadline(); open {
		t.Error("window still open after a reconcile without change")
	}
	if d.feed(t0.Add(ms(50)), false) {
		t.Error("a level equal to the state reported")
	}
}

// bounceTrain returns the changes of a transition to level at `at`, with
// n bounces inside span after it, ending at level.
func bounceTrain(rng *rand.Rand, at time.Duration, level bool, span time.Duration) []change {
	out := []change{{at, level}}
	n := rng.Intn(8) * 2 // an even number of extra flips ends at level
	times := make([]time.Duration, n)
	for i := range times {
		times[i] = at + 1 + time.Duration(rng.Int63n(int64(span-1)))
	}
	sort.Slice(times, func(a, b int) bool { return times[a] < times[b] })
	l := level
	for _, tm := range times {
		if tm == out[len(out)-1].at {
			tm++ // keep times strictly increasing
		}
		l = !l
		out = append(out, change{tm, l})
	}
	return out
}

// cleanWithBounce generates k clean transitions (alternating, starting from
// initial) separated by more than gap, and bounce trains of at most span
// around each.
func cleanWithBounce(rng *rand.Rand, initial bool, k int, gap, span time.Duration) (clean []change, all []change) {
	at := ms(5)
	l := initial
	for range k {
		at += gap + time.Duration(rng.Int63n(int64(ms(300))))
		l = !l
		clean = append(clean, change{at, l})
		all = append(all, bounceTrain(rng, at, l, span)...)
	}
	return clean, all
}

func TestDebouncerRandomBounceYieldsCleanTransitions(t *testing.T) {
	rng := rand.New(rand.NewSource(20240501))
	for trial := range 500 {
		window := ms(float64(1 + rng.Intn(50)))
		span := window - 1 // every bounce ends inside the window
		if span < ms(0.5) {
			span = window
		}
		initial := rng.Intn(2) == 0
		// Transitions further apart than bounce + window + a late read.
		clean, all := cleanWithBounce(rng, initial, 1+rng.Intn(20), 3*window+ms(1), span)

		// Edges read at once: exactly the clean transitions, at their own time.
		got := simulateEdges(window, initial, all, noDelay)
		var want []report
		for _, c := range clean {
			want = append(want, report{c.at, c.level})
		}
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d (window %v): edges: got %v\nwant %v\nsignal %v", trial, window, got, want, all)
		}

		// Edges read late (the read may see a later bounce): the same
		// transitions, each reported within its bounce train.
		delay := func() time.Duration { return time.Duration(rng.Int63n(int64(span))) }
		got = simulateEdges(window, initial, all, delay)
		checkWithin(t, fmt.Sprintf("trial %d late reads", trial), got, clean, span)

		// Polling: the same transitions, each at most one poll late.
		poll := ms(float64(1 + rng.Intn(5)))
		got = simulatePoll(window, poll, initial, all, all[len(all)-1].at+3*window+poll)
		checkWithin(t, fmt.Sprintf("trial %d poll %v", trial, poll), got, clean, span+poll)
	}
}

// checkWithin asserts got has one report per clean transition, with its
// level, no earlier than it and at most late after it.
func checkWithin(t *testing.T, what string, got []report, clean []change, late time.Duration) {
	t.Helper()
	if len(got) != len(clean) {
		t.Fatalf("%s: %d reports %v, want %d (%v)", what, len(got), got, len(clean), clean)
	}
	for i, c := range clean {
		if got[i].level != c.level || got[i].at < c.at || got[i].at > c.at+late {
			t.Fatalf("%s: report %d = %v, want %v within %v after %v", what, i, got[i], c.level, late, c.at)
		}
	}
}

// Arbitrary noise, no assumptions: the reports alternate, are at least a
// window apart, and once the signal has been stable for a window the
// reported state is the signal's (never stuck).
func TestDebouncerRandomNoiseNeverStuck(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for trial := range 1000 {
		window := ms(float64(rng.Intn(30)))
		initial := rng.Intn(2) == 0
		var changes []change
		at, l := time.Duration(0), initial
		for range 1 + rng.Intn(60) {
			at += 1 + time.Duration(rng.Int63n(int64(ms(40))))
			l = !l
			changes = append(changes, change{at, l})
		}
		got := simulateEdges(window, initial, changes, noDelay)
		state := initial
		for i, r := range got {
			if r.level == state {
				t.Fatalf("trial %d: report %d repeats state %v: %v", trial, i, state, got)
			}
			if i > 0 && window > 0 && r.at-got[i-1].at < window {
				t.Fatalf("trial %d: reports %v and %v closer than the window %v", trial, got[i-1], r, window)
			}
			state = r.level
		}
		if final := changes[len(changes)-1].level; state != final {
			t.Fatalf("trial %d (window %v): stuck at %v, signal ends at %v\nsignal %v\nreports %v", trial, window, state, final, changes, got)
		}
	}
}

// BenchmarkDebouncerUpdate is one debounce step as In takes it for each
// change: expire a window that is over, then feed the level.
func BenchmarkDebouncerUpdate(b *testing.B) {
	d := newDebouncer(ms(20), false)
	now := t0
	l := false
	for b.Loop() {
		now = now.Add(ms(3))
		l = !l
		d.expire(now)
		d.feed(now, l)
	}
}
