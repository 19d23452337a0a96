package gpio

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// fakeClock is a clock that moves only when the test says so.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return t0.Add(time.Duration(c.ns.Load())) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }
func (c *fakeClock) since0(t time.Time) float64 {
	return float64(t.Sub(t0)) / float64(time.Millisecond)
}

// runner runs an In and collects its events.
type runner struct {
	t      *testing.T
	events chan Event
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func startRun(t *testing.T, in *In) *runner {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{t: t, events: make(chan Event, 100), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		in.Run(ctx, func(e Event) { r.events <- e })
	}()
	t.Cleanup(r.stop)
	return r
}

// next waits (generously) for the next event.
func (r *runner) next(what string) Event {
	r.t.Helper()
	select {
	case e := <-r.events:
		return e
	case <-time.After(10 * time.Second):
		r.t.Fatalf("no event: waiting for %s", what)
	}
	return Event{}
}

// stop cancels Run, waits for it to return and fails on any event left over.
func (r *runner) stop() {
	r.t.Helper()
	r.once.Do(r.stopOnce)
}

func (r *runner) stopOnce() {
	r.t.Helper()
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		r.t.Fatal("Run did not return after cancel")
	}
	close(r.events)
	for e := range r.events {
		r.t.Errorf("unexpected extra event %+v", e)
	}
}

func expect(t *testing.T, e Event, name, pin string, active bool) {
	t.Helper()
	if e.Name != name || e.Pin != pin || e.Active != active {
		t.Fatalf("event %+v, want name=%s pin=%s active=%v", e, name, pin, active)
	}
}

// End to end on periph's own fake pin: edges through EdgesChan, a clock the
// test moves, so the debounce window ends exactly when the test says.
func TestInEdgesOnGpiotestPin(t *testing.T) {
	log, buf := newTestLog(slog.LevelDebug)
	p := &gpiotest.Pin{N: "GPIO27", EdgesChan: make(chan pgpio.Level, 32)}
	in, err := NewIn(p, InConfig{Name: "button", Pull: pgpio.PullUp, ActiveLow: true, Debounce: ms(20)}, log)
	if err != nil {
		t.Fatal(err)
	}
	if p.Pull() != pgpio.PullUp {
		t.Errorf("pull = %s, want the configured pull-up", p.Pull())
	}
	if in.Active() {
		t.Fatal("released button (pull-up, high) reads active")
	}
	if got := buf.lines("polls"); len(got) != 0 {
		t.Errorf("input with edges logs polling: %q", got)
	}
	clk := &fakeClock{}
	in.now = clk.now
	r := startRun(t, in)
	edges := func(ls ...pgpio.Level) {
		for _, l := range ls {
			p.EdgesChan <- l
		}
	}
	drained := func() { waitFor(t, "edges consumed", func() bool { return len(p.EdgesChan) == 0 }) }
	const L, H = pgpio.Low, pgpio.High

	// Press with bounce: exactly one press, reported on the first edge.
	edges(L, H, L, H, L)
	e := r.next("press")
	expect(t, e, "button", "GPIO27", true)
	if clk.since0(e.Time) != 0 {
		t.Errorf("press reported at %vms, want on the first edge (0ms)", clk.since0(e.Time))
	}
	drained()
	if !in.Active() {
		t.Error("Active() = false after a press")
	}
	clk.advance(ms(25)) // window over; reconcile reads low = pressed: nothing

	// Release with bounce: exactly one release.
	edges(H, L, H, L, H)
	e = r.next("release")
	expect(t, e, "button", "GPIO27", false)
	if clk.since0(e.Time) != 25 {
		t.Errorf("release reported at %vms, want on its first edge (25ms)", clk.since0(e.Time))
	}
	drained()
	clk.advance(ms(25))

	// Press released inside the window: press, then the release at the
	// window's end.
	edges(L, H)
	expect(t, r.next("short press"), "button", "GPIO27", true)
	drained()
	clk.advance(ms(25))
	e = r.next("reconciled release")
	expect(t, e, "button", "GPIO27", false)
	if in.Active() {
		t.Error("Active() = true after the reconciled release: stuck")
	}
	r.stop()
}

// periph's gpiotest.Pin refuses edges without EdgesChan: NewIn falls back to
// polling every 2ms and says so once, with the reason.
func TestInFallsBackToPolling(t *testing.T) {
	log, buf := newTestLog(slog.LevelInfo)
	p := &gpiotest.Pin{N: "GPIO22"}
	in, err := NewIn(p, InConfig{Name: "door", Pull: pgpio.PullDown, Debounce: ms(1)}, log)
	if err != nil {
		t.Fatal(err)
	}
	got := buf.lines("input polls")
	if len(got) != 1 || !strings.Contains(got[0], "level=WARN") || !strings.Contains(got[0], "name=door") ||
		!strings.Contains(got[0], "pin=GPIO22") || !strings.Contains(got[0], "every=2ms") ||
		!strings.Contains(got[0], "please set p.EdgesChan first") {
		t.Fatalf("polling log = %q; want one warning with name, pin, every=2ms and periph's reason", got)
	}
	r := startRun(t, in)
	_ = p.Out(pgpio.High)
	expect(t, r.next("door open"), "door", "GPIO22", true)
	_ = p.Out(pgpio.Low)
	expect(t, r.next("door closed"), "door", "GPIO22", false)
	r.stop()
	if got := buf.lines("input polls"); len(got) != 1 {
		t.Errorf("polling said %d times, want once", len(got))
	}
}

// Poll set in the mapping (QEMU has no GPIO interrupts): polls even though
// the pin has edges, and never waits for an edge.
func TestInPollConfigured(t *testing.T) {
	log, buf := newTestLog(slog.LevelInfo)
	p := &noEdgePin{Pin: gpiotest.Pin{N: "GPIO27", EdgesChan: make(chan pgpio.Level)}}
	in, err := NewIn(p, InConfig{Name: "button", Pull: pgpio.PullUp, ActiveLow: true, Debounce: ms(2), Poll: ms(3)}, log)
	if err != nil {
		t.Fatal(err)
	}
	got := buf.lines("input polls")
	if len(got) != 1 || !strings.Contains(got[0], "level=INFO") || !strings.Contains(got[0], "every=3ms") || !strings.Contains(got[0], "poll is set") {
		t.Fatalf("log = %q", got)
	}
	if p.lastEdge.Load() != int64(pgpio.NoEdge) {
		t.Errorf("In(…, %v): a polled input must not ask for edges", pgpio.Edge(p.lastEdge.Load()))
	}
	r := startRun(t, in)
	_ = p.Out(pgpio.Low)
	expect(t, r.next("press"), "button", "GPIO27", true)
	_ = p.Out(pgpio.High)
	expect(t, r.next("release"), "button", "GPIO27", false)
	r.stop()
	if p.waits.Load() != 0 {
		t.Errorf("a polled input called WaitForEdge %d times", p.waits.Load())
	}
}

// noEdgePin records In's edge and counts WaitForEdge calls.
type noEdgePin struct {
	gpiotest.Pin
	lastEdge atomic.Int64
	waits    atomic.Int64
}

func (p *noEdgePin) In(pull pgpio.Pull, e pgpio.Edge) error {
	p.lastEdge.Store(int64(e))
	return p.Pin.In(pull, e)
}

func (p *noEdgePin) WaitForEdge(d time.Duration) bool {
	p.waits.Add(1)
	return p.Pin.WaitForEdge(d)
}

// timeoutPin records the timeouts Run passes to WaitForEdge.
type timeoutPin struct {
	gpiotest.Pin
	mu       sync.Mutex
	timeouts []time.Duration
	halts    atomic.Int64
}

func (p *timeoutPin) WaitForEdge(d time.Duration) bool {
	p.mu.Lock()
	p.timeouts = append(p.timeouts, d)
	p.mu.Unlock()
	return p.Pin.WaitForEdge(d)
}

func (p *timeoutPin) Halt() error { p.halts.Add(1); return nil }

// On a generic periph pin (not sim, not a host line set), whose Halt may do
// nothing and whose WaitForEdge(0) may wait forever (gpioioctl's GPIOLine):
// Run waits with a finite timeout, and Halts the pin when cancelled.
func TestInFiniteWaitsAndHaltOnCancel(t *testing.T) {
	p := &timeoutPin{Pin: gpiotest.Pin{N: "GPIO27", EdgesChan: make(chan pgpio.Level, 4)}}
	in, err := NewIn(p, InConfig{Name: "b", Pull: pgpio.PullUp, Debounce: ms(5)}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	r := startRun(t, in)
	p.EdgesChan <- pgpio.Low
	r.next("edge")
	waitFor(t, "a few waits", func() bool { p.mu.Lock(); defer p.mu.Unlock(); return len(p.timeouts) >= 3 })
	r.stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range p.timeouts {
		if d <= 0 || d > edgeWaitMax {
			t.Errorf("WaitForEdge(%v): want a finite timeout in (0, %v]", d, edgeWaitMax)
		}
	}
	if p.halts.Load() == 0 {
		t.Error("Run did not Halt the pin on cancel")
	}
}

// End to end on the sim backend: an output jumpered to an active-low input.
func TestInSimJumperEndToEnd(t *testing.T) {
	log, buf := newTestLog(slog.LevelInfo)
	s := NewSim(log)
	op, _ := s.Pin("GPIO17")
	ip, _ := s.Pin("GPIO27")
	led, err := NewOut(op, OutConfig{Name: "led", Initial: true}, log)
	if err != nil {
		t.Fatal(err)
	}
	button, err := NewIn(ip, InConfig{Name: "button", Pull: pgpio.PullUp, ActiveLow: true, Debounce: ms(10)}, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Jumper("GPIO17", "GPIO27"); err != nil {
		t.Fatal(err)
	}
	r := startRun(t, button)
	for i := range 5 {
		if err := led.Set(false); err != nil {
			t.Fatal(err)
		}
		expect(t, r.next("press"), "button", "GPIO27", true)
		if err := led.Set(true); err != nil {
			t.Fatal(err)
		}
		expect(t, r.next("release"), "button", "GPIO27", false)
		if button.Active() {
			t.Fatalf("round %d: Active() after release", i)
		}
	}
	// Driven from outside with a bounce train: one press, one release.
	if err := s.Drive("GPIO27", pgpio.Low); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_ = s.Drive("GPIO27", pgpio.High)
		_ = s.Drive("GPIO27", pgpio.Low)
	}
	expect(t, r.next("driven press"), "button", "GPIO27", true)
	_ = s.Drive("GPIO27", pgpio.High)
	expect(t, r.next("driven release"), "button", "GPIO27", false)
	r.stop()
	if got := buf.lines("polls"); len(got) != 0 {
		t.Errorf("sim input polls: %q", got)
	}
}

// Cancel stops Run promptly through Halt on the sim (whose WaitForEdge
// honours Halt), and a second Run while one is running is refused.
func TestInRunCancelAndSingleRun(t *testing.T) {
	log, buf := newTestLog(slog.LevelInfo)
	s := NewSim(slog.New(slog.DiscardHandler))
	ip, _ := s.Pin("GPIO27")
	in, err := NewIn(ip, InConfig{Name: "b", Pull: pgpio.PullUp}, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		if err := in.Run(ctx, nil); err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
		close(done)
	}()
	waitFor(t, "Run started", in.running.Load)
	if err := in.Run(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second Run = %v, want an already-running error", err)
	}
	if got := buf.lines("already running"); len(got) != 1 {
		t.Errorf("second Run log = %q", got)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// A panicking handler is logged and the input keeps reporting.
func TestInEmitPanicIsContained(t *testing.T) {
	log, buf := newTestLog(slog.LevelInfo)
	s := NewSim(slog.New(slog.DiscardHandler))
	ip, _ := s.Pin("GPIO27")
	in, err := NewIn(ip, InConfig{Name: "b", Pull: pgpio.PullUp, ActiveLow: true}, log)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan bool, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		in.Run(ctx, func(e Event) {
			got <- e.Active
			if e.Active {
				panic("handler bug")
			}
		})
	}()
	for _, want := range []bool{true, false} {
		_ = s.Drive("GPIO27", pgpio.Level(!want)) // active-low
		select {
		case a := <-got:
			if a != want {
				t.Fatalf("event active=%v, want %v", a, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("input stopped after a handler panic")
		}
	}
	cancel()
	<-done
	if l := buf.lines("handler panicked", "handler bug"); len(l) != 1 {
		t.Errorf("panic log = %q", l)
	}
}

func TestNewInErrors(t *testing.T) {
	if _, err := NewIn(nil, InConfig{Name: "x"}, nil); err == nil {
		t.Error("nil pin: no error")
	}
	p := &gpiotest.Pin{N: "GPIO5"}
	if _, err := NewIn(p, InConfig{Name: "x", Debounce: -1}, nil); err == nil || !strings.Contains(err.Error(), `input "x" on GPIO5`) {
		t.Errorf("negative debounce: %v", err)
	}
	s := NewSim(slog.New(slog.DiscardHandler))
	sp, _ := s.Pin("GPIO5")
	_ = sp.Out(pgpio.High)
	_ = s.Jumper("GPIO5", "GPIO6")
	if _, err := NewIn(sp, InConfig{Name: "x"}, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), `input "x" on GPIO5`) {
		t.Errorf("In failing with and without edges: %v", err)
	}
}

// immediatePin's WaitForEdge fails at once, like a released gpioioctl line.
type immediatePin struct {
	gpiotest.Pin
	waits atomic.Int64
}

func (p *immediatePin) WaitForEdge(time.Duration) bool { p.waits.Add(1); return false }

// A wait that fails at once must not turn Run into a busy loop.
func TestInNoBusyLoopWhenWaitFailsAtOnce(t *testing.T) {
	log, buf := newTestLog(slog.LevelInfo)
	p := &immediatePin{Pin: gpiotest.Pin{N: "GPIO27", EdgesChan: make(chan pgpio.Level)}}
	in, err := NewIn(p, InConfig{Name: "b", Pull: pgpio.PullUp}, log)
	if err != nil {
		t.Fatal(err)
	}
	r := startRun(t, in)
	waitFor(t, "the warning", func() bool { return len(buf.lines("fails at once")) > 0 })
	before := p.waits.Load()
	time.Sleep(300 * time.Millisecond)
	// One wait per edgeWaitMax (100ms) is expected; a busy loop makes
	// millions. 50 leaves room for any scheduler.
	if n := p.waits.Load() - before; n > 50 {
		t.Errorf("%d waits in 300ms: busy loop", n)
	}
	r.stop()
	if got := buf.lines("fails at once"); len(got) != 1 {
		t.Errorf("warning logged %d times, want once", len(got))
	}
}

func TestPinHintForBusyLines(t *testing.T) {
	p := &recPin{Pin: gpiotest.Pin{N: "GPIO18"}, outErr: errors.New("GPIOLine.Out(): line_request ioctl: device or resource busy")}
	_, err := NewOut(p, OutConfig{Name: "fan"}, nil)
	if err == nil || !strings.Contains(err.Error(), "another program or a kernel driver") {
		t.Errorf("error = %v", err)
	}
}
