package gpio

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
)

// timedPin is an output that records each level written and when.
type timedPin struct {
	pgpio.PinOut // nil: only Out and Name are used
	mu           sync.Mutex
	edges        []recEdge
	fail         error
}

type recEdge struct {
	at    time.Time
	level pgpio.Level
}

func (r *timedPin) Name() string { return "REC" }

func (r *timedPin) Out(l pgpio.Level) error {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.edges = append(r.edges, recEdge{now, l})
	return nil
}

func (r *timedPin) take() []recEdge {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.edges
	r.edges = nil
	return e
}

func (r *timedPin) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.edges)
}

func (s *SoftPWM) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done != nil
}

func levels(e []recEdge) string {
	var b strings.Builder
	for _, x := range e {
		if x.level {
			b.WriteByte('H')
		} else {
			b.WriteByte('L')
		}
	}
	return b.String()
}

func TestSoftPWMSteadyLevels(t *testing.T) {
	r := &timedPin{}
	s, err := NewSoftPWM(r, PWMConfig{Name: "led"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.period != 5*time.Millisecond {
		t.Errorf("default period %v, want 5ms (200 Hz)", s.period)
	}
	if got := levels(r.take()); got != "L" {
		t.Errorf("NewSoftPWM wrote %q, want L", got)
	}
	for _, c := range []struct {
		duty float64
		want string
	}{{1, "H"}, {0, "L"}, {1, "H"}} {
		if err := s.Set(c.duty); err != nil {
			t.Fatal(err)
		}
		if s.running() {
			t.Errorf("duty %v: a goroutine runs for a steady level", c.duty)
		}
		if got := levels(r.take()); got != c.want {
			t.Errorf("duty %v wrote %q, want %q", c.duty, got, c.want)
		}
	}
	if err := s.Set(2); err == nil {
		t.Error("Set(2) worked")
	}
	if s.Duty() != 1 {
		t.Errorf("Duty = %v after a refused Set, want 1", s.Duty())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := levels(r.take()); got != "L" {
		t.Errorf("Close wrote %q, want L", got)
	}
	if err := s.Set(0.5); err == nil {
		t.Error("Set after Close worked")
	}
}

func TestSoftPWMToggles(t *testing.T) {
	r := &timedPin{}
	s, err := NewSoftPWM(r, PWMConfig{Name: "led", Frequency: physic.KiloHertz}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.take()
	if err := s.Set(0.5); err != nil {
		t.Fatal(err)
	}
	if !s.running() {
		t.Fatal("no goroutine at duty 0.5")
	}
	waitFor(t, "20 edges", func() bool { return r.count() >= 20 })
	if err := s.Set(0.25); err != nil { // same goroutine, next period
		t.Fatal(err)
	}
	waitFor(t, "40 edges", func() bool { return r.count() >= 40 })
	if err := s.Set(0); err != nil {
		t.Fatal(err)
	}
	if s.running() {
		t.Error("goroutine still runs at duty 0")
	}
	e := r.take()
	got := levels(e)
	if !strings.HasPrefix(got, "HLHLHL") || !strings.HasSuffix(got, "L") || strings.Contains(got, "HH") || strings.Contains(got, "LLL") {
		t.Errorf("levels %q: want alternating H and L ending low", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSoftPWMWriteFailure(t *testing.T) {
	r := &timedPin{}
	log, logs := newTestLog(0)
	s, err := NewSoftPWM(r, PWMConfig{Name: "led"}, log)
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.fail = errors.New("line released")
	r.mu.Unlock()
	if err := s.Set(0.5); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the error log", func() bool { return len(logs.lines("software PWM stopped", "line released")) == 1 })
	if err := s.Close(); err == nil || !strings.Contains(err.Error(), "line released") {
		t.Errorf("Close = %v", err)
	}
}

// TestSoftPWMJitter runs software PWM at duty 0.5 and prints how late its
// edges were against their deadlines (from a trace hook called right after
// each write), for a Go timer alone and for the timer plus a final
// nanosleep (the default), at 200 Hz and 1 kHz. Timing on a shared VM
// varies, so it asserts only the edge count and, with no restarted period,
// the mean period (absolute deadlines: no drift).
// OSCGPIO_JITTER_SECONDS sets how long each case runs (default 1).
func TestSoftPWMJitter(t *testing.T) {
	secs := 1.0
	if v := os.Getenv("OSCGPIO_JITTER_SECONDS"); v != "" {
		if _, err := fmt.Sscan(v, &secs); err != nil {
			t.Fatal(err)
		}
	}
	run := time.Duration(secs * float64(time.Second))
	for _, mode := range []struct {
		name string
		fine time.Duration
	}{{"timer only", 0}, {"timer+nanosleep", softPWMFine}} {
		for _, f := range []physic.Frequency{200 * physic.Hertz, physic.KiloHertz} {
			var mu sync.Mutex
			var late, high []time.Duration
			var rise time.Time
			r := &timedPin{}
			s, err := NewSoftPWM(r, PWMConfig{Name: "led", Frequency: f}, nil)
			if err != nil {
				t.Fatal(err)
			}
			T := f.Period()
			s.fine = mode.fine
			s.trace = func(deadline time.Time, l pgpio.Level) {
				now := time.Now()
				mu.Lock()
				defer mu.Unlock()
				late = append(late, now.Sub(deadline))
				if l {
					rise = now
				} else if !rise.IsZero() {
					high = append(high, now.Sub(rise)-T/2)
				}
			}
			start := time.Now()
			if err := s.Set(0.5); err != nil {
				t.Fatal(err)
			}
			time.Sleep(run)
			if err := s.Set(0); err != nil {
				t.Fatal(err)
			}
			elapsed := time.Since(start)
			e := r.take()
			mu.Lock()
			n := len(late)
			if n < int(run/T) {
				t.Errorf("%s %s: %d edges in %v, want about %d", mode.name, f, n, run, 2*int(run/T))
				mu.Unlock()
				continue
			}
			rising := 0
			for _, x := range e {
				if x.level {
					rising++
				}
			}
			t.Logf("%-15s %5s %v: %4d edges; lateness p50 %v p90 %v p99 %v max %v; high-time error |p50| %v |p99| %v; restarts %d",
				mode.name, f, run, n, pctl(late, 0.5), pctl(late, 0.9), pctl(late, 0.99), pctl(late, 1),
				pctl(abs(high), 0.5), pctl(abs(high), 0.99), s.Skipped())
			mu.Unlock()
			if s.Skipped() == 0 {
				// The last period may be cut short by Set(0): allow one period.
				if d := elapsed - time.Duration(rising)*T; d < -T || d > T+T/2 {
					t.Errorf("%s %s: %d periods in %v: drift", mode.name, f, rising, elapsed)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func abs(d []time.Duration) []time.Duration {
	out := make([]time.Duration, len(d))
	for i, x := range d {
		if x < 0 {
			x = -x
		}
		out[i] = x
	}
	return out
}

// pctl returns the p quantile of d (sorted copy), rounded to a microsecond.
func pctl(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	c := append([]time.Duration(nil), d...)
	sort.Slice(c, func(i, j int) bool { return c[i] < c[j] })
	return c[int(p*float64(len(c)-1))].Round(time.Microsecond)
}
