package gpio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// pairEv is one scripted event of a fakePair: a chip line offset and an edge.
type pairEv struct {
	off  int
	edge pgpio.Edge
}

// fakePair is a two-line gpioioctl.LineSet (lines at offsets offA and offB,
// in that order): WaitForEdge yields the scripted events in order, blocks
// when none is left and is interrupted by Halt (os.ErrDeadlineExceeded).
// Read gives the levels after the events taken so far. It checks hostPair's
// promises: no WaitForEdge after Close, no Close during a WaitForEdge.
type fakePair struct {
	t          *testing.T
	offA, offB int
	lvl        atomic.Uint32 // bit 0: A, bit 1: B
	wait       atomic.Int32  // WaitForEdge calls running
	waits      atomic.Int32  // WaitForEdge calls made
	closes     atomic.Int32

	mu      sync.Mutex
	events  []pairEv      // scripted, not taken yet
	notify  chan struct{} // a send when events are added
	blocked bool          // a WaitForEdge found no event and waits
	halt    chan struct{}
	closed  bool
}

func newFakePair(t *testing.T, offA, offB int, a, b pgpio.Level) *fakePair {
	f := &fakePair{t: t, offA: offA, offB: offB, notify: make(chan struct{}, 1), halt: make(chan struct{})}
	f.lvl.Store(uint32(code(b, a) >> 0)) // code(b, a) is (B<<1)|A
	return f
}

// script queues changes of pins "A" and "B" as the kernel would.
func (f *fakePair) script(edges []quadEdge) {
	for _, e := range edges {
		off := f.offB
		if e.pin == "A" {
			off = f.offA
		}
		edge := pgpio.FallingEdge
		if e.l {
			edge = pgpio.RisingEdge
		}
		f.mu.Lock()
		f.events = append(f.events, pairEv{off, edge})
		f.mu.Unlock()
	}
	select {
	case f.notify <- struct{}{}:
	default:
	}
}

// idle says every scripted event was taken and a wait after the priming one
// is blocked: the single reader has decoded them all.
func (f *fakePair) idle() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.events) == 0 && f.blocked && f.waits.Load() >= 2
}

func (f *fakePair) WaitForEdge(timeout time.Duration) (int, pgpio.Edge, error) {
	f.wait.Add(1)
	defer f.wait.Add(-1)
	f.waits.Add(1)
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		f.t.Error("WaitForEdge after Close")
		return 0, pgpio.NoEdge, os.ErrClosed
	}
	halt := f.halt
	f.mu.Unlock()
	var expired <-chan time.Time
	if timeout > 0 {
		tm := time.NewTimer(timeout)
		defer tm.Stop()
		expired = tm.C
	}
	for {
		f.mu.Lock()
		if len(f.events) > 0 {
			ev := f.events[0]
			f.events = f.events[1:]
			f.blocked = false
			f.mu.Unlock()
			bit := uint32(2)
			if ev.off == f.offA {
				bit = 1
			}
			if ev.edge == pgpio.RisingEdge {
				f.lvl.Or(bit)
			} else {
				f.lvl.And(^bit)
			}
			return ev.off, ev.edge, nil
		}
		f.blocked = true
		f.mu.Unlock()
		select {
		case <-f.notify:
			continue
		case <-halt:
		case <-expired:
		}
		f.mu.Lock()
		f.blocked = false
		f.mu.Unlock()
		return 0, pgpio.NoEdge, fmt.Errorf("read gpio-lineset: %w", os.ErrDeadlineExceeded)
	}
}

func (f *fakePair) Read(pgpio.GPIOValue) (pgpio.GPIOValue, error) {
	return pgpio.GPIOValue(f.lvl.Load()), nil
}

func (f *fakePair) Halt() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.halt)
	f.halt = make(chan struct{})
	return nil
}

func (f *fakePair) Close() error {
	if f.wait.Load() != 0 {
		f.t.Error("Close during a WaitForEdge")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	f.closes.Add(1)
	return nil
}

// pairHost is a Host whose GPIO5 (offset 5) and GPIO6 (offset 6) are lines of
// one chip (or of two chips with twoChips), each with a one-line set, and
// whose chip opens pair (or refuses with pairErr) as their two-line set.
type pairHost struct {
	h       *Host
	lines   map[string]*closingPin
	sets    map[string]*fakeSet
	opened  []string // "GPIO5" for a one-line set, "GPIO5+GPIO6 PullUp" for a pair
	openedM sync.Mutex
}

func newPairHost(t *testing.T, pair *fakePair, pairErr error, twoChips bool) *pairHost {
	t.Helper()
	ph := &pairHost{lines: map[string]*closingPin{}, sets: map[string]*fakeSet{}}
	for _, n := range []string{"GPIO5", "GPIO6"} {
		ph.lines[n] = &closingPin{Pin: gpiotest.Pin{N: n}}
		ph.sets[n] = newFakeSet(t)
		ph.sets[n].level.Store(true)
	}
	chip := func(name string, lines ...string) hostChip {
		return hostChip{name: name, label: "pinctrl-bcm2835", lines: lines,
			line: func(n string) pgpio.PinIO { return ph.lines[n] },
			openSet: func(n string) func(pgpio.Pull, pgpio.Edge) (lineSet, error) {
				return func(pgpio.Pull, pgpio.Edge) (lineSet, error) {
					ph.openedM.Lock()
					defer ph.openedM.Unlock()
					ph.opened = append(ph.opened, n)
					s := ph.sets[n]
					s.mu.Lock()
					s.closed = false // requested again
					s.mu.Unlock()
					return s, nil
				}
			},
			openPair: func(pull pgpio.Pull, a, b string) (lineSet, int, int, error) {
				ph.openedM.Lock()
				defer ph.openedM.Unlock()
				ph.opened = append(ph.opened, a+"+"+b+" "+pull.String())
				if pairErr != nil {
					return nil, 0, 0, pairErr
				}
				return pair, pair.offA, pair.offB, nil
			}}
	}
	chips := []hostChip{chip("gpiochip0", "GPIO0", "GPIO1", "GPIO2", "GPIO3", "GPIO4", "GPIO5", "GPIO6")}
	if twoChips {
		chips = []hostChip{chip("gpiochip0", "GPIO5"), chip("gpiochip1", "GPIO6")}
	}
	devs := map[string]error{"/dev/gpiochip0": nil, "/dev/gpiochip1": nil}
	h, err := openHost(slog.New(slog.DiscardHandler), testEnv(devs, chips, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	ph.h = h
	return ph
}

func (ph *pairHost) openedList() []string {
	ph.openedM.Lock()
	defer ph.openedM.Unlock()
	return slices.Clone(ph.opened)
}

// encRun is a running encoder: its steps, and Run's result.
type encRun struct {
	e      *Encoder
	steps  chan EncoderStep
	done   chan error
	cancel context.CancelFunc
}

func startHostEncoder(t *testing.T, ph *pairHost, c EncoderConfig, log *slog.Logger) *encRun {
	t.Helper()
	a, err := ph.h.Pin("GPIO5")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ph.h.Pin("GPIO6")
	if err != nil {
		t.Fatal(err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e, err := NewEncoder(a, b, c, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &encRun{e: e, steps: make(chan EncoderStep, 1<<16), done: make(chan error, 1), cancel: cancel}
	go func() { r.done <- e.Run(ctx, func(s EncoderStep) { r.steps <- s }) }()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

// wait returns Run's result, failing after a generous deadline.
func (r *encRun) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

// taken returns the deltas emitted so far (without waiting).
func (r *encRun) taken(t *testing.T, seq *uint64) []int {
	t.Helper()
	var out []int
	for {
		select {
		case s := <-r.steps:
			*seq++
			if s.Seq != *seq {
				t.Fatalf("step Seq %d, want %d", s.Seq, *seq)
			}
			out = append(out, s.Delta)
		default:
			return out
		}
	}
}

// genTurns returns the changes of the detents dirs (each +1 or -1) with
// contact bounce: each change is preceded, with probability 1/3, by 1 to 3
// back-and-forth toggles of the pin that changes (the other pin is still).
func genTurns(rng *rand.Rand, dirs []int, bounce bool) []quadEdge {
	var out []quadEdge
	for _, d := range dirs {
		for _, q := range quadrature("A", "B", d, 1) {
			if bounce && rng.IntN(3) == 0 {
				for range 1 + rng.IntN(3) {
					out = append(out, q, quadEdge{q.pin, !q.l})
				}
			}
			out = append(out, q)
		}
	}
	return out
}

// decode feeds changes to a fresh full-step decoder resting at 11 and
// returns its steps.
func decode(c EncoderConfig, edges []quadEdge) []int {
	e := &Encoder{cfg: c, table: &fullStep}
	e.reset(pgpio.High, pgpio.High)
	var out []int
	for _, q := range edges {
		if d := e.feed(q.pin == "A", q.l); d != 0 {
			out = append(out, d)
		}
	}
	return out
}

// TestHostEncoderPairSetExact: with both pins on one chip, the encoder's
// changes come from one two-line set in the kernel's order: generated turns
// in both directions, with bounce, at full speed (all queued at once),
// decode to exactly the detents turned, for 4, 2 and 1 changes per detent
// and with Reverse.
func TestHostEncoderPairSetExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, c := range []EncoderConfig{
		{Name: "full", Pull: pgpio.PullUp},
		{Name: "rev", Pull: pgpio.PullUp, Reverse: true},
		{Name: "half", Pull: pgpio.PullUp, StepsPerDetent: 2},
		{Name: "every", Pull: pgpio.PullDown, StepsPerDetent: 1},
	} {
		t.Run(c.Name, func(t *testing.T) {
			pair := newFakePair(t, 5, 6, pgpio.High, pgpio.High)
			ph := newPairHost(t, pair, nil, false)
			r := startHostEncoder(t, ph, c, nil)
			waitFor(t, "the pair's first wait", pair.idle)
			per := map[int]int{4: 1, 2: 2, 1: 4}[c.StepsPerDetent] // steps per cycle
			if c.StepsPerDetent == 0 {
				per = 1
			}
			sign := 1
			if c.Reverse {
				sign = -1
			}
			var seq uint64
			for round, dirs := range [][]int{
				slices.Repeat([]int{+1}, 200),
				slices.Repeat([]int{-1}, 200),
				func() []int { // mixed
					var d []int
					for range 300 {
						d = append(d, 1-2*rng.IntN(2))
					}
					return d
				}(),
			} {
				edges := genTurns(rng, dirs, c.StepsPerDetent != 1)
				pair.script(edges)
				waitFor(t, "the script decoded", pair.idle)
				var want []int
				for _, d := range dirs {
					for range per {
						want = append(want, sign*d)
					}
				}
				if got := r.taken(t, &seq); !slices.Equal(got, want) {
					t.Fatalf("round %d: %d steps (sum %d), want %d (sum %d)", round, len(got), sum(got), len(want), sum(want))
				}
			}
			if want := []string{"GPIO5", "GPIO6", "GPIO5+GPIO6 " + c.Pull.String()}; !slices.Equal(ph.openedList(), want) {
				t.Errorf("requests: %q, want %q", ph.openedList(), want)
			}
		})
	}
}

func sum(s []int) int {
	n := 0
	for _, v := range s {
		n += v
	}
	return n
}

// TestHostEncoderPairSetOrderMatters: changes of A and B that follow each
// other closely, in an interleaving that two per-pin readers can take in
// another order (each pin's own changes still in order), decode exactly from
// the pair set; the same changes taken A's first, then B's, lose detents.
func TestHostEncoderPairSetOrderMatters(t *testing.T) {
	edges := quadrature("A", "B", +1, 50)
	var aFirst []quadEdge // a merge two readers can produce
	for _, p := range []string{"A", "B"} {
		for _, q := range edges {
			if q.pin == p {
				aFirst = append(aFirst, q)
			}
		}
	}
	c := EncoderConfig{Name: "knob", Pull: pgpio.PullUp}
	if got := decode(c, aFirst); len(got) == 50 {
		t.Fatalf("the reordered changes decode to %d steps too: the test shows nothing", len(got))
	}
	pair := newFakePair(t, 5, 6, pgpio.High, pgpio.High)
	ph := newPairHost(t, pair, nil, false)
	r := startHostEncoder(t, ph, c, nil)
	pair.script(edges)
	waitFor(t, "the script decoded", pair.idle)
	var seq uint64
	if got := r.taken(t, &seq); !slices.Equal(got, slices.Repeat([]int{+1}, 50)) {
		t.Errorf("steps %v, want 50 of +1", got)
	}
}

// TestHostEncoderPairSetLifecycle: Run closes the pins' one-line sets and
// GPIOLines before the pair set is requested, starts from the levels the
// pair set reads, and the cancel closes the pair set exactly once with no
// WaitForEdge after it; Release of both pins afterwards closes nothing twice
// and requests nothing again.
func TestHostEncoderPairSetLifecycle(t *testing.T) {
	// At rest at 00 (half-step detents rest at 11 and 00); the one-line sets
	// say 11, so starting from those would lose the first detent.
	pair := newFakePair(t, 5, 6, pgpio.Low, pgpio.Low)
	ph := newPairHost(t, pair, nil, false)
	r := startHostEncoder(t, ph, EncoderConfig{Name: "vol", Pull: pgpio.PullUp, StepsPerDetent: 2}, nil)
	waitFor(t, "the pair's first wait", pair.idle)
	for n, s := range ph.sets {
		if s.closes.Load() != 1 {
			t.Errorf("%s's one-line set closed %d times, want 1", n, s.closes.Load())
		}
		if ph.lines[n].closed < 1 {
			t.Errorf("%s's GPIOLine still holds its request", n)
		}
	}
	a, _ := ph.h.Pin("GPIO5")
	if a.Read() != pgpio.Low || a.Pull() != pgpio.PullUp {
		t.Errorf("GPIO5 while paired: Read %s, Pull %s; want Low and PullUp from the pair set", a.Read(), a.Pull())
	}
	pair.script([]quadEdge{{"A", pgpio.High}, {"B", pgpio.High}}) // 00 -> 10 -> 11: clockwise
	waitFor(t, "the script decoded", pair.idle)
	var seq uint64
	if got := r.taken(t, &seq); !slices.Equal(got, []int{+1}) {
		t.Errorf("steps %v, want [1]", got)
	}
	r.cancel()
	if err := r.wait(t); err != nil {
		t.Errorf("Run after cancel = %v", err)
	}
	if pair.closes.Load() != 1 {
		t.Errorf("pair set closed %d times after the cancel, want 1", pair.closes.Load())
	}
	linesClosed := map[string]int{}
	for n, l := range ph.lines {
		linesClosed[n] = l.closed
	}
	waits := pair.waits.Load()
	for _, n := range []string{"GPIO5", "GPIO6"} {
		if err := ph.h.Release(n); err != nil {
			t.Fatal(err)
		}
	}
	if pair.closes.Load() != 1 || pair.waits.Load() != waits {
		t.Errorf("after Release: pair closed %d times, %d waits more", pair.closes.Load(), pair.waits.Load()-waits)
	}
	for n, s := range ph.sets {
		if s.closes.Load() != 1 {
			t.Errorf("%s's one-line set closed %d times, want 1", n, s.closes.Load())
		}
		if ph.lines[n].closed != linesClosed[n]+1 {
			t.Errorf("Release(%s) closed the GPIOLine %d times, want once", n, ph.lines[n].closed-linesClosed[n])
		}
	}
	if want := []string{"GPIO5", "GPIO6", "GPIO5+GPIO6 PullUp"}; !slices.Equal(ph.openedList(), want) {
		t.Errorf("requests: %q, want %q", ph.openedList(), want)
	}
}

// TestHostEncoderPairSetReleaseDuringRun: Release of one pin while Run
// waits closes the pair set once (after the wait returned) and Run returns an
// error naming the encoder and the cause; releasing the other closes nothing
// more.
func TestHostEncoderPairSetReleaseDuringRun(t *testing.T) {
	for _, first := range []string{"GPIO5", "GPIO6"} {
		t.Run(first, func(t *testing.T) {
			pair := newFakePair(t, 5, 6, pgpio.High, pgpio.High)
			ph := newPairHost(t, pair, nil, false)
			r := startHostEncoder(t, ph, EncoderConfig{Name: "knob", Pull: pgpio.PullUp}, nil)
			waitFor(t, "the pair's first wait", pair.idle)
			if err := ph.h.Release(first); err != nil {
				t.Fatal(err)
			}
			if pair.closes.Load() != 1 {
				t.Errorf("Release returned with the pair set closed %d times, want 1", pair.closes.Load())
			}
			err := r.wait(t)
			if err == nil || !strings.Contains(err.Error(), `encoder "knob" on GPIO5/GPIO6 stopped`) || !errors.Is(err, errLineReleased) {
				t.Errorf("Run = %v", err)
			}
			for _, n := range []string{"GPIO5", "GPIO6"} {
				if err := ph.h.Release(n); err != nil {
					t.Fatal(err)
				}
			}
			if pair.closes.Load() != 1 {
				t.Errorf("pair set closed %d times, want 1", pair.closes.Load())
			}
		})
	}
}

// TestHostEncoderPairSetCancelRace: cancels racing with a stream of events
// close the set exactly once, never during a wait, and Run returns nil.
func TestHostEncoderPairSetCancelRace(t *testing.T) {
	for k := range 20 {
		pair := newFakePair(t, 5, 6, pgpio.High, pgpio.High)
		ph := newPairHost(t, pair, nil, false)
		r := startHostEncoder(t, ph, EncoderConfig{Name: "knob", Pull: pgpio.PullUp}, nil)
		pair.script(quadrature("A", "B", +1, 100))
		if k%2 == 0 {
			waitFor(t, "a wait", func() bool { return pair.waits.Load() > int32(k) })
		}
		r.cancel()
		if err := r.wait(t); err != nil {
			t.Fatalf("Run = %v", err)
		}
		_ = ph.h.Release("GPIO5")
		_ = ph.h.Release("GPIO6")
		if pair.closes.Load() != 1 {
			t.Fatalf("pair set closed %d times, want 1", pair.closes.Load())
		}
	}
}

// TestHostEncoderFallsBackToTwoReaders: pins on two chips, or a pair set the
// kernel refuses, fall back to one reader per pin (the one-line sets are
// requested again), logged once per encoder with the reason.
func TestHostEncoderFallsBackToTwoReaders(t *testing.T) {
	for _, tc := range []struct {
		name     string
		twoChips bool
		pairErr  error
		why      string
		requests []string
	}{
		{"two chips", true, nil, "GPIO5 is on gpiochip0 and GPIO6 on gpiochip1", []string{"GPIO5", "GPIO6"}},
		{"refused", false, errors.New("LineSetFromConfig: device or resource busy"), "device or resource busy",
			[]string{"GPIO5", "GPIO6", "GPIO5+GPIO6 PullUp", "GPIO5", "GPIO6", "GPIO5+GPIO6 PullUp", "GPIO5", "GPIO6"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ph := newPairHost(t, newFakePair(t, 5, 6, true, true), tc.pairErr, tc.twoChips)
			log, buf := newTestLog(slog.LevelInfo)
			r := startHostEncoder(t, ph, EncoderConfig{Name: "knob", Pull: pgpio.PullUp}, log)
			sa, sb := ph.sets["GPIO5"], ph.sets["GPIO6"]
			waitFor(t, "both readers", func() bool { return sa.wait.Load() == 1 && sb.wait.Load() == 1 })
			for _, q := range quadrature("A", "B", +1, 1) { // slowly: one change at a time
				s := sb
				if q.pin == "A" {
					s = sa
				}
				n := len(s.timeouts())
				edge := pgpio.FallingEdge
				if q.l {
					edge = pgpio.RisingEdge
				}
				s.edges <- edge
				waitFor(t, "the change taken", func() bool { return len(s.timeouts()) > n && s.wait.Load() == 1 })
			}
			select {
			case s := <-r.steps:
				if s.Delta != 1 {
					t.Errorf("step %+d, want +1", s.Delta)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no step")
			}
			r.cancel()
			if err := r.wait(t); err != nil {
				t.Fatal(err)
			}
			// A second Run takes the same path and does not log again.
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- r.e.Run(ctx, nil) }()
			waitFor(t, "both readers again", func() bool { return sa.wait.Load() == 1 && sb.wait.Load() == 1 })
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if got := buf.lines("encoder pins read by two goroutines", tc.why); len(got) != 1 {
				t.Errorf("log = %q", buf.String())
			}
			if !slices.Equal(ph.openedList(), tc.requests) {
				t.Errorf("requests: %q, want %q", ph.openedList(), tc.requests)
			}
		})
	}
}
