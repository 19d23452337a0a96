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
	n := r.count()
	time.Sleep(5 * time.Millisecond) // nothing must toggle the pin now
	if r.count() != n {
		t.Error("pin written after Set(0) returned")
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

// TestSoftPWMJitter runs software PWM at duty 0.5 on a pin that records
// when each level was written and prints how late the edges were against
// their ideal times (first rising edge + k × period). Timing on a shared VM
// varies, so the only assertion is on the edge count and, when no period
// was restarted, on the mean frequency (absolute deadlines: no drift).
// OSCGPIO_JITTER_SECONDS sets how long each frequency runs (default 1).
func TestSoftPWMJitter(t *testing.T) {
	secs := 1.0
	if v := os.Getenv("OSCGPIO_JITTER_SECONDS"); v != "" {
		if _, err := fmt.Sscan(v, &secs); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []physic.Frequency{200 * physic.Hertz, physic.KiloHertz} {
		r := &timedPin{}
		s, err := NewSoftPWM(r, PWMConfig{Name: "led", Frequency: f}, nil)
		if err != nil {
			t.Fatal(err)
		}
		r.take()
		run := time.Duration(secs * float64(time.Second))
		if err := s.Set(0.5); err != nil {
			t.Fatal(err)
		}
		time.Sleep(run)
		if err := s.Set(0); err != nil {
			t.Fatal(err)
		}
		e := r.take()
		e = e[:len(e)-1] // the steady low of Set(0)
		T := f.Period()
		periods := int(run / T)
		if len(e) < periods/2 {
			t.Errorf("%s: %d edges in %v, want about %d", f, len(e), run, 2*periods)
			continue
		}
		t0 := e[0].at
		var late []time.Duration
		for i, x := range e {
			ideal := t0.Add(time.Duration(i/2) * T)
			if !x.level {
				ideal = ideal.Add(T / 2)
			}
			late = append(late, x.at.Sub(ideal))
		}
		k := len(e)/2 - 1
		mean := e[2*k].at.Sub(t0) / time.Duration(k)
		sort.Slice(late, func(i, j int) bool { return late[i] < late[j] })
		pct := func(p float64) time.Duration { return late[int(p*float64(len(late)-1))] }
		t.Logf("software PWM %s for %v: %d edges, lateness vs ideal: min %v p50 %v p90 %v p99 %v max %v; mean period %v (nominal %v); restarts %d",
			f, run, len(e), late[0].Round(time.Microsecond), pct(0.5).Round(time.Microsecond), pct(0.9).Round(time.Microsecond),
			pct(0.99).Round(time.Microsecond), late[len(late)-1].Round(time.Microsecond), mean.Round(100*time.Nanosecond), T, s.Skipped())
		if s.Skipped() == 0 {
			if d := mean - T; d > T/100 || d < -T/100 {
				t.Errorf("%s: mean period %v drifts from %v by more than 1%%", f, mean, T)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
