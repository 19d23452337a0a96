package gpio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand"
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

// simInput returns a sim whose clock is clk, an output GPIO17 (high) and an
// active-high input GPIO27 with pull-down and the given debounce.
func simInput(t testing.TB, clk *fakeClock, debounce time.Duration) (*Sim, *simPin, *In) {
	t.Helper()
	s := NewSim(slog.New(slog.DiscardHandler))
	if clk != nil {
		s.now = clk.now
	}
	ip, _ := s.Pin("GPIO27")
	in, err := NewIn(ip, InConfig{Name: "b", Pull: pgpio.PullDown, Debounce: debounce}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return s, ip.(*simPin), in
}

// collect waits for n events.
func (r *runner) collect(n int, what string) []Event {
	r.t.Helper()
	out := make([]Event, 0, n)
	for range n {
		out = append(out, r.next(what))
	}
	return out
}

// With debounce 0 every change is an event, in order, with its own level,
// however fast the output toggles and however late the reader is.
func TestSimNoChangeLostAtFullSpeed(t *testing.T) {
	s := NewSim(slog.New(slog.DiscardHandler))
	op, _ := s.Pin("GPIO17")
	ip, _ := s.Pin("GPIO27")
	_ = op.Out(pgpio.Low)
	in, err := NewIn(ip, InConfig{Name: "b", Pull: pgpio.PullDown}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Jumper("GPIO17", "GPIO27"); err != nil {
		t.Fatal(err)
	}
	const n = 2000
	for k := range n { // all before the reader starts: 2000 queued changes
		_ = op.Out(pgpio.Level(k%2 == 0))
	}
	r := startRunN(t, in, n)
	got := r.collect(n, "queued changes")
	for k, e := range got {
		if e.Active != (k%2 == 0) || e.Seq != uint64(k+1) {
			t.Fatalf("event %d = active %v seq %d, want active %v seq %d", k, e.Active, e.Seq, k%2 == 0, k+1)
		}
	}
	// And while the reader runs, from another goroutine.
	go func() {
		for k := range n {
			_ = op.Out(pgpio.Level(k%2 == 0))
		}
	}()
	got = r.collect(n, "live changes")
	for k, e := range got {
		if e.Active != (k%2 == 0) {
			t.Fatalf("live event %d = %v, want %v", k, e.Active, k%2 == 0)
		}
	}
	r.stop()
	if o, _ := s.Overflows("GPIO27"); o != 0 {
		t.Errorf("overflows = %d", o)
	}
}

// startRunN is startRun with room for n events.
func startRunN(t *testing.T, in *In, n int) *runner {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{t: t, events: make(chan Event, n), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		if err := in.Run(ctx, func(e Event) { r.events <- e }); err != nil {
			t.Errorf("Run = %v after cancel, want nil", err)
		}
	}()
	t.Cleanup(r.stop)
	return r
}

func TestSimQueueOverflowIsCountedAndLoggedOnce(t *testing.T) {
	log, buf := newTestLog(slog.LevelInfo)
	s := NewSim(log)
	ip, _ := s.Pin("GPIO27")
	_ = ip.In(pgpio.PullDown, pgpio.BothEdges)
	const extra = 100
	for k := range SimQueue + extra {
		_ = s.Drive("GPIO27", pgpio.Level(k%2 == 0))
	}
	if o, _ := s.Overflows("GPIO27"); o != extra {
		t.Errorf("Overflows = %d, want %d", o, extra)
	}
	if got := buf.lines("level=WARN", "queue full", "pin=GPIO27"); len(got) != 1 {
		t.Errorf("overflow log = %q, want one warning", got)
	}
	n := 0
	for ip.WaitForEdge(0) {
		n++
	}
	if n != SimQueue {
		t.Errorf("%d changes queued, want %d", n, SimQueue)
	}
	if _, err := s.Overflows("GPIO99"); err == nil {
		t.Error("Overflows(GPIO99): no error")
	}
}

// A tap (press and release back to back) with a 20ms debounce is a press and
// a release, whatever its length: 0, 0.5, 2 or 5ms. The release comes at the
// window's end.
func TestSimTapsAreNeverLost(t *testing.T) {
	clk := &fakeClock{}
	s, _, in := simInput(t, clk, ms(20))
	r := startRun(t, in)
	for k, tap := range []time.Duration{0, ms(0.5), ms(2), ms(5), 0, 0} {
		start := clk.now()
		if err := s.Drive("GPIO27", pgpio.High); err != nil {
			t.Fatal(err)
		}
		clk.advance(tap)
		_ = s.Drive("GPIO27", pgpio.Low)
		press := r.next(fmt.Sprintf("tap %d (%v) press", k, tap))
		if !press.Active || !press.Time.Equal(start) {
			t.Fatalf("tap %v: press = %+v, want active at %v", tap, press, start)
		}
		clk.advance(ms(25))
		rel := r.next(fmt.Sprintf("tap %d (%v) release", k, tap))
		if rel.Active || !rel.Time.Equal(start.Add(ms(20))) {
			t.Fatalf("tap %v: release = %+v, want inactive at the window's end %v", tap, rel, start.Add(ms(20)))
		}
		clk.advance(ms(25)) // the release's own window ends
	}
	r.stop()
	if in.Active() {
		t.Error("Active() after the last release")
	}
}

// Generated bounce sequences driven through the sim give exactly what the
// pure debouncer model gives for the same changes: the sim path adds or
// loses nothing, whatever the goroutines' timing.
func TestSimBounceSequencesMatchTheModel(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	for trial := range 40 {
		window := ms(float64(rng.Intn(25)))
		clk := &fakeClock{}
		s, _, in := simInput(t, clk, window)
		var changes []change
		l := false
		at := time.Duration(0)
		for range 1 + rng.Intn(40) {
			at += time.Duration(rng.Int63n(int64(ms(12))))
			l = !l
			changes = append(changes, change{at, l})
		}
		want := simulateEdges(window, false, changes, noDelay)
		r := startRunN(t, in, len(changes)+8)
		for _, c := range changes {
			clk.ns.Store(int64(c.at))
			if err := s.Drive("GPIO27", pgpio.Level(c.level)); err != nil {
				t.Fatal(err)
			}
		}
		clk.advance(time.Hour) // every window is over
		var got []report
		for range want {
			e := r.next(fmt.Sprintf("trial %d: %d reports %v", trial, len(want), want))
			got = append(got, report{e.Time.Sub(t0), e.Active})
		}
		r.stop() // fails on any extra event
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d (window %v): sim gave %v, model %v\nchanges %v", trial, window, got, want, changes)
		}
	}
}

func TestSimReleaseStopsRunWithAnError(t *testing.T) {
	log, buf := newTestLog(slog.LevelInfo)
	s := NewSim(slog.New(slog.DiscardHandler))
	op, _ := s.Pin("GPIO17")
	ip, _ := s.Pin("GPIO27")
	_ = op.Out(pgpio.High)
	in, err := NewIn(ip, InConfig{Name: "button", Pull: pgpio.PullDown}, log)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Jumper("GPIO17", "GPIO27")
	if lv, _ := s.Level("GPIO27"); lv != pgpio.High {
		t.Fatal("jumpered input does not read its output's level")
	}
	done := make(chan error, 1)
	go func() { done <- in.Run(context.Background(), nil) }()
	waitFor(t, "Run started", in.running.Load)
	if err := s.Release("GPIO27"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		for _, want := range []string{`input "button" on GPIO27`, "released"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Run = %v, want an error with %q", err, want)
			}
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after Release")
	}
	if got := buf.lines("level=ERROR", "input stopped", "name=button", "pin=GPIO27"); len(got) != 1 {
		t.Errorf("error log = %q, want one line", got)
	}
	// The released pin reads its pull (down) and the jumper is gone: the
	// output may be jumpered again, the pin reconfigured.
	if lv, _ := s.Level("GPIO27"); lv != pgpio.Low {
		t.Error("released input still driven by its jumper")
	}
	if err := s.Unjumper("GPIO17", "GPIO27"); err == nil {
		t.Error("Unjumper after Release: no error (the jumper should be gone)")
	}
	if f := ip.Function(); f != "" {
		t.Errorf("released pin has function %q", f)
	}
}

// Releasing an output stops driving the inputs jumpered to it: they read
// their pull, and that is a change their Run reports.
func TestSimReleaseOutputUndrivesItsInputs(t *testing.T) {
	s := NewSim(slog.New(slog.DiscardHandler))
	op, _ := s.Pin("GPIO17")
	ip, _ := s.Pin("GPIO27")
	_ = op.Out(pgpio.Low)
	in, err := NewIn(ip, InConfig{Name: "b", Pull: pgpio.PullUp}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Jumper("GPIO17", "GPIO27")
	r := startRun(t, in)
	expect(t, r.next("jumper pulls low"), "b", "GPIO27", false)
	if err := s.Release("GPIO17"); err != nil {
		t.Fatal(err)
	}
	expect(t, r.next("back to the pull-up"), "b", "GPIO27", true)
	if lv, _ := s.Level("GPIO17"); lv != pgpio.Low {
		t.Error("released output (no pull) does not read low")
	}
	r.stop()
	if err := s.Release("GPIO5"); err != nil {
		t.Errorf("Release of a pin never used: %v", err)
	}
	if err := s.Release("GPIO99"); err == nil {
		t.Error("Release(GPIO99): no error")
	}
}

func TestSimUnjumperAndLevel(t *testing.T) {
	s := NewSim(slog.New(slog.DiscardHandler))
	op, _ := s.Pin("GPIO17")
	ip, _ := s.Pin("GPIO27")
	_ = op.Out(pgpio.High)
	_ = ip.In(pgpio.PullDown, pgpio.BothEdges)
	if err := s.Jumper("GPIO17", "GPIO27"); err != nil {
		t.Fatal(err)
	}
	if lv, err := s.Level("GPIO27"); err != nil || lv != pgpio.High {
		t.Fatalf("Level = %v, %v", lv, err)
	}
	if err := s.Unjumper("GPIO17", "GPIO27"); err != nil {
		t.Fatal(err)
	}
	if lv, _ := s.Level("GPIO27"); lv != pgpio.Low {
		t.Error("unjumpered input does not read its pull-down")
	}
	if !ip.WaitForEdge(0) || !ip.WaitForEdge(0) || ip.WaitForEdge(0) {
		t.Error("want two queued changes: high from the jumper, low from its removal")
	}
	_ = op.Out(pgpio.Low)
	_ = op.Out(pgpio.High)
	if lv, _ := s.Level("GPIO27"); lv != pgpio.Low {
		t.Error("removed jumper still drives")
	}
	for _, tt := range []struct{ from, to, want string }{
		{"GPIO17", "GPIO27", "no jumper from GPIO17 to GPIO27"},
		{"GPIO99", "GPIO27", "GPIO0 to GPIO27"},
		{"GPIO17", "x", "GPIO0 to GPIO27"},
	} {
		if err := s.Unjumper(tt.from, tt.to); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Unjumper(%s, %s) = %v, want %q", tt.from, tt.to, err, tt.want)
		}
	}
	if lv, err := s.Level("GPIO3"); err != nil || lv != pgpio.Low {
		t.Errorf("Level of an unused pin = %v, %v", lv, err)
	}
	if _, err := s.Level("GPIO28"); err == nil {
		t.Error("Level(GPIO28): no error")
	}
	// Jumpering the same pair twice is not an error and adds nothing.
	_ = s.Jumper("GPIO17", "GPIO27")
	if err := s.Jumper("GPIO17", "GPIO27"); err != nil {
		t.Errorf("second identical Jumper: %v", err)
	}
	if n := len(s.pins["GPIO17"].targets); n != 1 {
		t.Errorf("output has %d targets, want 1", n)
	}
}

// The sim logs nothing, and formats nothing, for an output change when debug
// is off; with debug on, one line per change.
func TestSimOutputLogOnlyAtDebug(t *testing.T) {
	log, buf := newTestLog(slog.LevelInfo)
	s := NewSim(log)
	op, _ := s.Pin("GPIO17")
	allocs := testing.AllocsPerRun(100, func() {
		_ = op.Out(pgpio.High)
		_ = op.Out(pgpio.Low)
	})
	if buf.String() != "" {
		t.Errorf("info-level log got %q", buf.String())
	}
	if allocs != 0 {
		t.Errorf("Out allocates %v times per two changes with debug off, want 0", allocs)
	}
}

// fakeSet is a one-line gpioioctl.LineSet: edges come from a channel, a
// timeout or Halt returns os.ErrDeadlineExceeded, and it checks hostLine's
// promise that Close never runs during a WaitForEdge.
type fakeSet struct {
	t      *testing.T
	edges  chan pgpio.Edge
	level  atomic.Bool
	mu     sync.Mutex
	halt   chan struct{}
	closed bool
	wait   atomic.Int32
	waits  []time.Duration // the timeouts asked for
	closes atomic.Int32
}

func newFakeSet(t *testing.T) *fakeSet {
	return &fakeSet{t: t, edges: make(chan pgpio.Edge, 64), halt: make(chan struct{})}
}

func (f *fakeSet) WaitForEdge(timeout time.Duration) (int, pgpio.Edge, error) {
	f.wait.Add(1)
	defer f.wait.Add(-1)
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		f.t.Error("WaitForEdge after Close")
		return 0, pgpio.NoEdge, os.ErrClosed
	}
	f.waits = append(f.waits, timeout)
	halt := f.halt
	f.mu.Unlock()
	var expired <-chan time.Time
	if timeout > 0 {
		tm := time.NewTimer(timeout)
		defer tm.Stop()
		expired = tm.C
	}
	select {
	case e := <-f.edges:
		f.level.Store(e == pgpio.RisingEdge)
		return 17, e, nil
	case <-halt:
	case <-expired:
	}
	return 0, pgpio.NoEdge, fmt.Errorf("read gpio-lineset: %w", os.ErrDeadlineExceeded)
}

func (f *fakeSet) Read(pgpio.GPIOValue) (pgpio.GPIOValue, error) {
	if f.level.Load() {
		return 1, nil
	}
	return 0, nil
}

func (f *fakeSet) Halt() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.halt)
	f.halt = make(chan struct{})
	return nil
}

func (f *fakeSet) Close() error {
	if f.wait.Load() != 0 {
		f.t.Error("Close during a WaitForEdge")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	f.closes.Add(1)
	return nil
}

func (f *fakeSet) timeouts() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.waits)
}

// hostWithSet is a Host over one Pi chip whose line GPIO27 opens set (or
// fails with setErr).
func hostWithSet(t *testing.T, set *fakeSet, setErr error) (*Host, *closingPin, *[]string) {
	t.Helper()
	line := &closingPin{Pin: gpiotest.Pin{N: "GPIO27"}}
	var opened []string
	chips := []hostChip{{name: "gpiochip0", label: "pinctrl-bcm2835", lines: []string{"GPIO27"},
		line: func(string) pgpio.PinIO { return line },
		openSet: func(name string) func(pgpio.Pull, pgpio.Edge) (lineSet, error) {
			return func(pull pgpio.Pull, edge pgpio.Edge) (lineSet, error) {
				opened = append(opened, fmt.Sprintf("%s %s %s", name, pull, edge))
				if setErr != nil {
					return nil, setErr
				}
				return set, nil
			}
		}}}
	h, err := openHost(slog.New(slog.DiscardHandler), testEnv(map[string]error{"/dev/gpiochip0": nil}, chips, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	return h, line, &opened
}

// On the host an input with edges is a one-line LineSet: each edge is a
// change with its level (rising high, falling low), two edges between two
// waits are two events, idle waits have no timeout, cancel returns nil.
func TestHostInputThroughLineSet(t *testing.T) {
	set := newFakeSet(t)
	h, line, opened := hostWithSet(t, set, nil)
	p, err := h.Pin("GPIO27")
	if err != nil {
		t.Fatal(err)
	}
	_ = p.Out(pgpio.High) // used as an output first: the GPIOLine holds the line
	set.level.Store(true) // released button (pull-up)
	in, err := NewIn(p, InConfig{Name: "b", Pull: pgpio.PullUp, ActiveLow: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if line.closed != 1 {
		t.Errorf("GPIOLine closed %d times before the line set was requested, want 1", line.closed)
	}
	if want := []string{"GPIO27 PullUp BothEdges"}; !slices.Equal(*opened, want) {
		t.Errorf("line sets opened: %q, want %q", *opened, want)
	}
	if p.Pull() != pgpio.PullUp {
		t.Errorf("Pull() = %s", p.Pull())
	}
	r := startRunN(t, in, 16)
	for _, e := range []pgpio.Edge{pgpio.FallingEdge, pgpio.RisingEdge, pgpio.FallingEdge, pgpio.RisingEdge} {
		set.edges <- e
	}
	for k, e := range r.collect(4, "four edges") {
		if want := k%2 == 0; e.Active != want {
			t.Fatalf("event %d active = %v, want %v", k, e.Active, want)
		}
	}
	r.stop()
	for _, d := range set.timeouts()[1:] { // [0] primed the set
		if d != 0 {
			t.Errorf("WaitForEdge(%v) with no debounce window open: want 0 (no timeout)", d)
		}
	}
	if err := h.Release("GPIO27"); err != nil {
		t.Fatal(err)
	}
	if set.closes.Load() != 1 || line.closed != 2 {
		t.Errorf("Release: set closed %d, line closed %d times; want 1 and 2", set.closes.Load(), line.closed)
	}
	if err := h.Release("GPIO27"); err != nil {
		t.Errorf("second Release: %v", err)
	}
}

// Release while Run waits: the wait is interrupted, the set closed only
// after it returned, and Run returns an error naming the cause.
func TestHostReleaseDuringRun(t *testing.T) {
	set := newFakeSet(t)
	h, _, _ := hostWithSet(t, set, nil)
	p, _ := h.Pin("GPIO27")
	in, err := NewIn(p, InConfig{Name: "door", Pull: pgpio.PullDown, Debounce: ms(5)}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- in.Run(context.Background(), nil) }()
	waitFor(t, "a wait", func() bool { return set.wait.Load() == 1 })
	if err := h.Release("GPIO27"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), `input "door" on GPIO27`) || !errors.Is(err, errLineReleased) {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after Release")
	}
}

// A line set that cannot be requested: NewIn polls, says why.
func TestHostLineSetRefusedFallsBackToPolling(t *testing.T) {
	h, line, _ := hostWithSet(t, nil, errors.New("LineSetFromConfig: device or resource busy"))
	p, _ := h.Pin("GPIO27")
	log, buf := newTestLog(slog.LevelInfo)
	in, err := NewIn(p, InConfig{Name: "b", Pull: pgpio.PullUp}, log)
	if err != nil {
		t.Fatal(err)
	}
	if in.poll != defaultPoll {
		t.Errorf("poll = %v, want %v", in.poll, defaultPoll)
	}
	if got := buf.lines("input polls", "device or resource busy"); len(got) != 1 {
		t.Errorf("log = %q", buf.String())
	}
	if line.Pull() != pgpio.PullUp {
		t.Error("the GPIOLine was not configured as the polled input")
	}
}

// A host line whose chip offers no line set keeps the GPIOLine's edges:
// WaitForEdge then Read, not a dead watcher.
func TestHostLineWithoutLineSetWaitsAndReads(t *testing.T) {
	line := &closingPin{Pin: gpiotest.Pin{N: "GPIO22", EdgesChan: make(chan pgpio.Level, 4)}}
	chips := []hostChip{{name: "gpiochip0", label: "pinctrl-bcm2835", lines: []string{"GPIO22"},
		line: func(string) pgpio.PinIO { return line }}}
	h, err := openHost(slog.New(slog.DiscardHandler), testEnv(map[string]error{"/dev/gpiochip0": nil}, chips, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := h.Pin("GPIO22")
	in, err := NewIn(p, InConfig{Name: "door", Pull: pgpio.PullDown}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := in.src.(*readSource); !ok {
		t.Fatalf("source = %T, want the WaitForEdge+Read source", in.src)
	}
	r := startRun(t, in)
	line.EdgesChan <- pgpio.High
	expect(t, r.next("open"), "door", "GPIO22", true)
	r.stop()
}

// An idle sim input sleeps: no wake-up without a change, whether it never
// had one or its last debounce window has ended.
func TestSimIdleInputDoesNotWakeUp(t *testing.T) {
	s, _, in := simInput(t, nil, ms(5))
	r := startRun(t, in)
	time.Sleep(150 * time.Millisecond)
	if n := in.wakes.Load(); n != 0 {
		t.Errorf("%d wake-ups in 150ms without a change", n)
	}
	_ = s.Drive("GPIO27", pgpio.High)
	expect(t, r.next("press"), "b", "GPIO27", true)
	time.Sleep(150 * time.Millisecond) // the 5ms window ends, then sleep
	// One wake for the change, at most a few for the window's end.
	if n := in.wakes.Load(); n > 4 {
		t.Errorf("%d wake-ups for one change and one 5ms window in 150ms", n)
	}
	r.stop()
}
