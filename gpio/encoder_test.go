package gpio

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// quadEdge is one settled change of pin A or B.
type quadEdge struct {
	pin string
	l   pgpio.Level
}

// quadrature returns the changes of n detents of a full-quadrature encoder
// resting at 11: clockwise (+1) A falls first, counter-clockwise B does.
func quadrature(a, b string, dir, n int) []quadEdge {
	cw := []quadEdge{{a, pgpio.Low}, {b, pgpio.Low}, {a, pgpio.High}, {b, pgpio.High}}
	ccw := []quadEdge{{b, pgpio.Low}, {a, pgpio.Low}, {b, pgpio.High}, {a, pgpio.High}}
	one := cw
	if dir < 0 {
		one = ccw
	}
	var out []quadEdge
	for range n {
		out = append(out, one...)
	}
	return out
}

// driveBouncy drives each edge; with bounce > 0 the pin toggles back and forth
// bounce times (new, old, new, ...) before it settles at the new level.
func driveBouncy(t testing.TB, s *Sim, edges []quadEdge, bounce int) {
	t.Helper()
	for _, e := range edges {
		for k := range bounce {
			_ = k
			if err := s.Drive(e.pin, e.l); err != nil {
				t.Fatal(err)
			}
			if err := s.Drive(e.pin, !e.l); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Drive(e.pin, e.l); err != nil {
			t.Fatal(err)
		}
	}
}

// startEncoder makes an encoder on the sim's GPIO5 (A) and GPIO6 (B), idle
// high, runs it and returns its steps.
func startEncoder(t *testing.T, s *Sim, c EncoderConfig) (*Encoder, <-chan EncoderStep) {
	t.Helper()
	a, _ := s.Pin("GPIO5")
	b, _ := s.Pin("GPIO6")
	e, err := NewEncoder(a, b, c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	steps := make(chan EncoderStep, 1<<16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, func(st EncoderStep) { steps <- st }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return e, steps
}

// sumUntilSentinel reads steps until one with delta sentinel arrives and
// returns the sum of those before it, checking sequence numbers.
func sumUntilSentinel(t *testing.T, steps <-chan EncoderStep, sentinel int, seq *uint64) (sum, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case st := <-steps:
			*seq++
			if st.Seq != *seq {
				t.Fatalf("step Seq %d, want %d", st.Seq, *seq)
			}
			if st.Name != "knob" {
				t.Fatalf("step name %q", st.Name)
			}
			if st.Delta == sentinel {
				return sum, n
			}
			sum += st.Delta
			n++
		case <-timeout:
			t.Fatalf("timed out; %d steps (sum %d) so far", n, sum)
		}
	}
}

func TestEncoderFullStepFastWithBounce(t *testing.T) {
	for _, bounce := range []int{0, 1, 3} {
		s := NewSim(slog.New(slog.DiscardHandler))
		e, steps := startEncoder(t, s, EncoderConfig{Name: "knob", Pull: pgpio.PullUp})
		var seq uint64
		const n = 1000
		start := time.Now()
		driveBouncy(t, s, quadrature("GPIO5", "GPIO6", +1, n), bounce)
		driveBouncy(t, s, quadrature("GPIO5", "GPIO6", -1, 1), bounce) // sentinel
		sum, cnt := sumUntilSentinel(t, steps, -1, &seq)
		if sum != n || cnt != n {
			t.Fatalf("bounce %d: clockwise: %d steps summing to %d, want %d of +1", bounce, cnt, sum, n)
		}
		driveBouncy(t, s, quadrature("GPIO5", "GPIO6", -1, n), bounce)
		driveBouncy(t, s, quadrature("GPIO5", "GPIO6", +1, 1), bounce) // sentinel
		sum, cnt = sumUntilSentinel(t, steps, +1, &seq)
		if sum != -n || cnt != n {
			t.Fatalf("bounce %d: counter-clockwise: %d steps summing to %d, want %d of -1", bounce, cnt, sum, n)
		}
		el := time.Since(start)
		t.Logf("bounce %d: %d detents in %v (%.0f detents/s, %d changes each)", bounce, 2*n+2, el, float64(2*n+2)/el.Seconds(), 4*(2*bounce+1))
		for _, p := range []string{"GPIO5", "GPIO6"} {
			if o, _ := s.Overflows(p); o != 0 {
				t.Fatalf("%s overflowed %d times", p, o)
			}
		}
		// Idle: no wake-ups, once the last signals are taken.
		pa, _ := s.Pin("GPIO5")
		pb, _ := s.Pin("GPIO6")
		waitFor(t, "the encoder to take its last signals", func() bool {
			return len(pa.(*simPin).signal) == 0 && len(pb.(*simPin).signal) == 0
		})
		time.Sleep(5 * time.Millisecond)
		w := e.wakes.Load()
		time.Sleep(20 * time.Millisecond)
		if w2 := e.wakes.Load(); w2 != w {
			t.Fatalf("idle encoder woke %d times", w2-w)
		}
	}
}

// TestEncoderPaced turns the shaft at 1000 detents a second in real time
// while the encoder runs.
func TestEncoderPaced(t *testing.T) {
	s := NewSim(slog.New(slog.DiscardHandler))
	_, steps := startEncoder(t, s, EncoderConfig{Name: "knob", Pull: pgpio.PullUp})
	const n = 200
	next := time.Now()
	for range n {
		driveBouncy(t, s, quadrature("GPIO5", "GPIO6", +1, 1), 2)
		next = next.Add(time.Millisecond)
		time.Sleep(time.Until(next))
	}
	driveBouncy(t, s, quadrature("GPIO5", "GPIO6", -1, 1), 2)
	var seq uint64
	if sum, cnt := sumUntilSentinel(t, steps, -1, &seq); sum != n || cnt != n {
		t.Fatalf("%d steps summing to %d, want %d of +1", cnt, sum, n)
	}
}

func TestEncoderReverse(t *testing.T) {
	s := NewSim(slog.New(slog.DiscardHandler))
	_, steps := startEncoder(t, s, EncoderConfig{Name: "knob", Pull: pgpio.PullUp, Reverse: true})
	driveBouncy(t, s, quadrature("GPIO5", "GPIO6", +1, 10), 2)
	driveBouncy(t, s, quadrature("GPIO5", "GPIO6", -1, 1), 2)
	var seq uint64
	if sum, cnt := sumUntilSentinel(t, steps, +1, &seq); sum != -10 || cnt != 10 {
		t.Fatalf("reverse: %d steps summing to %d, want 10 of -1", cnt, sum)
	}
}

func TestEncoderHalfStep(t *testing.T) {
	s := NewSim(slog.New(slog.DiscardHandler))
	_, steps := startEncoder(t, s, EncoderConfig{Name: "knob", Pull: pgpio.PullUp, StepsPerDetent: 2})
	// 50 full cycles = 100 half-step detents, with bounce.
	driveBouncy(t, s, quadrature("GPIO5", "GPIO6", +1, 50), 3)
	// Sentinel: half a cycle back (11 -> 10 -> 00).
	driveBouncy(t, s, quadrature("GPIO5", "GPIO6", -1, 1)[:2], 3)
	var seq uint64
	if sum, cnt := sumUntilSentinel(t, steps, -1, &seq); sum != 100 || cnt != 100 {
		t.Fatalf("half step: %d steps summing to %d, want 100 of +1", cnt, sum)
	}
	driveBouncy(t, s, quadrature("GPIO5", "GPIO6", -1, 1)[2:], 3) // back to 11: -1
	driveBouncy(t, s, quadrature("GPIO5", "GPIO6", -1, 20), 3)
	driveBouncy(t, s, quadrature("GPIO5", "GPIO6", +1, 1)[:2], 0)
	if sum, cnt := sumUntilSentinel(t, steps, +1, &seq); sum != -41 || cnt != 41 {
		t.Fatalf("half step back: %d steps summing to %d, want 41 of -1", cnt, sum)
	}
}

func TestEncoderEveryChange(t *testing.T) {
	s := NewSim(slog.New(slog.DiscardHandler))
	_, steps := startEncoder(t, s, EncoderConfig{Name: "knob", Pull: pgpio.PullUp, StepsPerDetent: 1})
	driveBouncy(t, s, quadrature("GPIO5", "GPIO6", +1, 25), 0)
	driveBouncy(t, s, quadrature("GPIO5", "GPIO6", -1, 1)[:1], 0)
	var seq uint64
	if sum, cnt := sumUntilSentinel(t, steps, -1, &seq); sum != 100 || cnt != 100 {
		t.Fatalf("every change: %d steps summing to %d, want 100 of +1", cnt, sum)
	}
}

// TestEncoderDecoderBounceNet feeds the step-1 decoder directly: bounce
// cancels out exactly.
func TestEncoderDecoderBounceNet(t *testing.T) {
	e := &Encoder{cfg: EncoderConfig{StepsPerDetent: 1}}
	e.reset(pgpio.High, pgpio.High)
	sum := 0
	for _, q := range quadrature("A", "B", -1, 30) {
		for range 2 {
			sum += e.feed(q.pin == "A", q.l)
			sum += e.feed(q.pin == "A", !q.l)
		}
		sum += e.feed(q.pin == "A", q.l)
		sum += e.feed(q.pin == "A", q.l) // a repeated level is no change
	}
	if sum != -120 {
		t.Fatalf("sum %d, want -120", sum)
	}
}

// TestEncoderTwoSims runs the two-reader path (pins that are not of one sim)
// one change at a time.
func TestEncoderTwoSims(t *testing.T) {
	sa := NewSim(slog.New(slog.DiscardHandler))
	sb := NewSim(slog.New(slog.DiscardHandler))
	a, _ := sa.Pin("GPIO5")
	b, _ := sb.Pin("GPIO6")
	e, err := NewEncoder(a, b, EncoderConfig{Name: "knob", Pull: pgpio.PullUp}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	steps := make(chan int, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, func(st EncoderStep) { steps <- st.Delta }) }()
	k := uint64(0)
	for _, q := range append(quadrature("A", "B", +1, 3), quadrature("A", "B", -1, 2)...) {
		s := sa
		pin := "GPIO5"
		if q.pin == "B" {
			s, pin = sb, "GPIO6"
		}
		if err := s.Drive(pin, q.l); err != nil {
			t.Fatal(err)
		}
		k++
		waitFor(t, "the change to be decoded", func() bool { return e.wakes.Load() >= k })
	}
	for range 5 {
		got = append(got, <-steps)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if want := []int{1, 1, 1, -1, -1}; !equalInts(got, want) {
		t.Fatalf("steps %v, want %v", got, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEncoderErrors(t *testing.T) {
	s := NewSim(slog.New(slog.DiscardHandler))
	a, _ := s.Pin("GPIO5")
	b, _ := s.Pin("GPIO6")
	if _, err := NewEncoder(a, a, EncoderConfig{Name: "knob"}, nil); err == nil || !strings.Contains(err.Error(), "same pin") {
		t.Fatalf("same pin: %v", err)
	}
	if _, err := NewEncoder(a, b, EncoderConfig{Name: "knob", StepsPerDetent: 3}, nil); err == nil || !strings.Contains(err.Error(), "steps per detent is 3") {
		t.Fatalf("steps 3: %v", err)
	}
	log, buf := newTestLog(slog.LevelInfo)
	e, err := NewEncoder(a, b, EncoderConfig{Name: "knob", Pull: pgpio.PullUp}, log)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.Run(context.Background(), nil) }()
	waitFor(t, "Run to start", func() bool { return e.running.Load() })
	if err := e.Run(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second Run: %v", err)
	}
	if err := s.Release("GPIO6"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), `encoder "knob" on GPIO5/GPIO6 stopped`) || !strings.Contains(err.Error(), "GPIO6") {
			t.Fatalf("Run after release: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the release")
	}
	if l := buf.lines("encoder stopped"); len(l) != 1 {
		t.Fatalf("log: %q", buf.String())
	}
}

// TestEncoderEmitPanic: a panicking handler does not stop the encoder.
func TestEncoderEmitPanic(t *testing.T) {
	s := NewSim(slog.New(slog.DiscardHandler))
	a, _ := s.Pin("GPIO5")
	b, _ := s.Pin("GPIO6")
	e, err := NewEncoder(a, b, EncoderConfig{Name: "knob", Pull: pgpio.PullUp}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan int, 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.Run(ctx, func(st EncoderStep) {
		got <- st.Delta
		if st.Seq == 1 {
			panic("boom")
		}
	})
	driveBouncy(t, s, quadrature("GPIO5", "GPIO6", +1, 2), 0)
	if a, b := <-got, <-got; a != 1 || b != 1 {
		t.Fatalf("steps %d %d", a, b)
	}
}

// BenchmarkEncoderDetent measures one detent (four changes driven with
// Sim.Drive) through the sim until the Encoder emits its step.
func BenchmarkEncoderDetent(b *testing.B) {
	log := slog.New(slog.DiscardHandler)
	s := NewSim(log)
	pa, _ := s.Pin("GPIO5")
	pb, _ := s.Pin("GPIO6")
	e, err := NewEncoder(pa, pb, EncoderConfig{Name: "knob", Pull: pgpio.PullUp}, log)
	if err != nil {
		b.Fatal(err)
	}
	steps := make(chan int, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := e.Run(ctx, func(st EncoderStep) { steps <- st.Delta }); err != nil {
			panic(err)
		}
	}()
	seq := quadrature("GPIO5", "GPIO6", +1, 1)
	b.ReportAllocs()
	for b.Loop() {
		for _, q := range seq {
			_ = s.Drive(q.pin, q.l)
		}
		<-steps
	}
	cancel()
	<-done
}

// TestEncoderSwappedChangesNeverReverse: if two adjacent changes of a detent
// reach the decoder swapped (possible on the host's fallback, where each pin
// has its own kernel queue), the full-step table loses that detent; it never
// counts it in the wrong direction or twice.
func TestEncoderSwappedChangesNeverReverse(t *testing.T) {
	for _, dir := range []int{+1, -1} {
		for k := range 3 {
			e := &Encoder{cfg: EncoderConfig{StepsPerDetent: 4}, table: &fullStep}
			e.reset(pgpio.High, pgpio.High)
			seq := quadrature("A", "B", dir, 3)
			seq[4+k], seq[4+k+1] = seq[4+k+1], seq[4+k] // swap inside the second detent
			var got []int
			for _, q := range seq {
				if d := e.feed(q.pin == "A", q.l); d != 0 {
					got = append(got, d)
				}
			}
			if len(got) != 2 || got[0] != dir || got[1] != dir {
				t.Errorf("dir %+d, swap at %d: steps %v, want two of %+d", dir, k, got, dir)
			}
		}
	}
}

// panicPin is a periph fake whose WaitForEdge panics.
type panicPin struct{ *gpiotest.Pin }

func (p *panicPin) WaitForEdge(time.Duration) bool { panic("driver bug") }

// TestEncoderPairPanic: on the two-reader path, a pin driver that panics
// stops Run with an error naming the encoder and the pin.
func TestEncoderPairPanic(t *testing.T) {
	a := &gpiotest.Pin{N: "GPIO5", EdgesChan: make(chan pgpio.Level, 1)}
	b := &panicPin{&gpiotest.Pin{N: "GPIO6", EdgesChan: make(chan pgpio.Level, 1)}}
	e, err := NewEncoder(a, b, EncoderConfig{Name: "knob", Pull: pgpio.PullUp}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	err = e.Run(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), `encoder "knob" on GPIO5/GPIO6 stopped: GPIO6: pin driver panicked: driver bug`) {
		t.Fatalf("Run: %v", err)
	}
}
