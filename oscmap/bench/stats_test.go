package bench

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	var s []time.Duration
	for i := 100; i >= 1; i-- { // 1..100 µs, given out of order
		s = append(s, time.Duration(i)*time.Microsecond)
	}
	got := Summarize(s)
	want := Summary{Min: 1 * time.Microsecond, P50: 50 * time.Microsecond, P90: 90 * time.Microsecond,
		P99: 99 * time.Microsecond, Max: 100 * time.Microsecond}
	if got != want {
		t.Errorf("Summarize(1..100 µs) = %+v, want %+v", got, want)
	}
	if s[0] != 100*time.Microsecond {
		t.Error("Summarize sorted its argument")
	}
	if (Summarize(nil) != Summary{}) {
		t.Error("Summarize(nil) is not the zero Summary")
	}
	one := Summarize([]time.Duration{7})
	if one.Min != 7 || one.P50 != 7 || one.P99 != 7 || one.Max != 7 {
		t.Errorf("Summarize of one sample = %+v", one)
	}
}

func TestPercentileNearestRank(t *testing.T) {
	s := []time.Duration{10, 20, 30, 40}
	for _, tt := range []struct {
		p    float64
		want time.Duration
	}{{1, 10}, {25, 10}, {26, 20}, {50, 20}, {75, 30}, {99, 40}, {100, 40}} {
		if got := Percentile(s, tt.p); got != tt.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", s, tt.p, got, tt.want)
		}
	}
}

func TestSummaryJSONInMicroseconds(t *testing.T) {
	b, err := json.Marshal(Summary{Min: 13500 * time.Nanosecond, P50: 14 * time.Microsecond, Max: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"min_us":13.5`) || !strings.Contains(string(b), `"max_us":1000`) {
		t.Errorf("JSON %s: want min_us 13.5 and max_us 1000", b)
	}
}

func TestCheckAlternation(t *testing.T) {
	tests := []struct {
		name  string
		first int32
		n     int
		got   []int32
		want  Alternation
	}{
		{"all in order", 1, 4, []int32{1, 0, 1, 0}, Alternation{Sent: 4, Received: 4, OK: true}},
		{"from 0", 0, 3, []int32{0, 1, 0}, Alternation{Sent: 3, Received: 3, OK: true}},
		{"one lost in the middle", 1, 4, []int32{1, 1, 0}, Alternation{Sent: 4, Received: 3, Missing: 1, Breaks: 1}},
		{"a pair lost still alternates, the count fails", 1, 6, []int32{1, 0, 1, 0}, Alternation{Sent: 6, Received: 4, Missing: 2}},
		{"the tail lost", 1, 4, []int32{1, 0}, Alternation{Sent: 4, Received: 2, Missing: 2}},
		{"a duplicate", 1, 3, []int32{1, 0, 0, 1}, Alternation{Sent: 3, Received: 4, Extra: 1, Breaks: 1}},
		{"a reorder", 1, 4, []int32{1, 1, 0, 0}, Alternation{Sent: 4, Received: 4, Breaks: 2}},
		{"the first lost, same count by a duplicate", 1, 2, []int32{0, 0}, Alternation{Sent: 2, Received: 2, Breaks: 2}},
		{"a value that is not 0 or 1", 1, 2, []int32{1, 7}, Alternation{Sent: 2, Received: 2, Breaks: 1}},
		{"nothing came", 0, 3, nil, Alternation{Sent: 3, Missing: 3}},
		{"nothing sent, nothing came", 0, 0, nil, Alternation{OK: true}},
	}
	for _, tt := range tests {
		if got := CheckAlternation(tt.first, tt.n, tt.got); got != tt.want {
			t.Errorf("%s: CheckAlternation(%d, %d, %v) = %+v, want %+v", tt.name, tt.first, tt.n, tt.got, got, tt.want)
		}
	}
}

func TestDue(t *testing.T) {
	tests := []struct {
		elapsed time.Duration
		rate    int
		want    int
	}{
		{0, 1000, 0},
		{-time.Second, 1000, 0},
		{time.Millisecond, 1000, 1},
		{999 * time.Microsecond, 1000, 0},
		{250 * time.Microsecond, 200000, 50},
		{time.Second, 200000, 200000},
		{1500 * time.Millisecond, 3, 4},
		{1000 * time.Second, 200000, 200000000},
		{time.Second, 0, 0},
	}
	for _, tt := range tests {
		if got := Due(tt.elapsed, tt.rate); got != tt.want {
			t.Errorf("Due(%v, %d) = %d, want %d", tt.elapsed, tt.rate, got, tt.want)
		}
	}
}

func TestLadder(t *testing.T) {
	if got := Ladder(1000); !slices.Equal(got, []int{100, 200, 500, 1000}) {
		t.Errorf("Ladder(1000) = %v", got)
	}
	if got := Ladder(3000); !slices.Equal(got, []int{100, 200, 500, 1000, 2000, 3000}) {
		t.Errorf("Ladder(3000) = %v", got)
	}
	if got := Ladder(50); !slices.Equal(got, []int{50}) {
		t.Errorf("Ladder(50) = %v", got)
	}
	if got := Ladder(0); !slices.Equal(got, DefaultLadder) {
		t.Errorf("Ladder(0) = %v, want the default ladder", got)
	}
}

// search runs a RateSearch against a target that passes every rate up to
// limit and returns the rates tried.
func search(ladder []int, refine, limit int) (tried []int, s *RateSearch) {
	s = NewRateSearch(ladder, refine)
	for {
		r, ok := s.Next()
		if !ok {
			return tried, s
		}
		tried = append(tried, r)
		s.Record(r <= limit)
	}
}

func TestRateSearch(t *testing.T) {
	ladder := []int{1000, 2000, 5000, 10000, 20000, 50000, 75000, 100000}
	tests := []struct {
		name             string
		refine, limit    int
		tried            []int
		best, firstFails int
	}{
		{"climbs until a failure, no refining", 0, 80000, []int{1000, 2000, 5000, 10000, 20000, 50000, 75000, 100000}, 75000, 100000},
		{"stops at the first failure", 0, 6000, []int{1000, 2000, 5000, 10000}, 5000, 10000},
		{"bisects after the failure", 2, 80000, []int{1000, 2000, 5000, 10000, 20000, 50000, 75000, 100000, 88000, 82000}, 75000, 82000},
		{"a refining pass raises the best", 2, 90000, []int{1000, 2000, 5000, 10000, 20000, 50000, 75000, 100000, 88000, 94000}, 88000, 94000},
		{"all pass", 3, 1e9, ladder, 100000, 0},
		{"the first fails, bisection goes below", 2, 300, []int{1000, 500, 250}, 250, 500},
	}
	for _, tt := range tests {
		tried, s := search(ladder, tt.refine, tt.limit)
		if !slices.Equal(tried, tt.tried) || s.Best() != tt.best || s.Failed() != tt.firstFails {
			t.Errorf("%s: tried %v, best %d, failed %d; want %v, %d, %d", tt.name, tried, s.Best(), s.Failed(), tt.tried, tt.best, tt.firstFails)
		}
	}
}

func TestRateSearchStopsWhenClose(t *testing.T) {
	// 100 000 passes, 104 000 fails: within 5%, nothing left to refine.
	tried, _ := search([]int{100000, 104000}, 5, 100000)
	if !slices.Equal(tried, []int{100000, 104000}) {
		t.Errorf("tried %v, want no refining within 5%%", tried)
	}
}

func TestPacerOnTime(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := NewPacer(t0, 1000, 10, 4, 20*time.Millisecond)
	total := 0
	for ms := 0; ms <= 10; ms++ {
		k := p.Take(t0.Add(time.Duration(ms) * time.Millisecond))
		if ms > 0 && k != 1 {
			t.Errorf("at %d ms: %d messages, want 1", ms, k)
		}
		total += k
	}
	if total != 10 || !p.Done() || p.Stalls != 0 {
		t.Errorf("sent %d, done %v, stalls %d; want 10, true, 0", total, p.Done(), p.Stalls)
	}
	if k := p.Take(t0.Add(time.Hour)); k != 0 {
		t.Errorf("after the last: %d more", k)
	}
}

func TestPacerBatches(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := NewPacer(t0, 200000, 1000, 200, 20*time.Millisecond)
	if k := p.Take(t0.Add(250 * time.Microsecond)); k != 50 {
		t.Errorf("200 000 msg/s after 250 µs: %d, want 50", k)
	}
	// 2 ms late: 400 due, at most a batch of 200.
	if k := p.Take(t0.Add(2250 * time.Microsecond)); k != 200 {
		t.Errorf("2 ms late: %d, want the batch cap 200", k)
	}
}

func TestPacerCatchesUpAtTwiceTheRate(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := NewPacer(t0, 1000, 100, 1, 20*time.Millisecond)
	if k := p.Take(t0.Add(time.Millisecond)); k != 1 {
		t.Fatalf("at 1 ms: %d, want 1", k)
	}
	// Woken 4 ms late: 4 behind, one goes (the batch cap), no burst.
	if k := p.Take(t0.Add(5 * time.Millisecond)); k != 1 {
		t.Fatalf("4 ms late: %d, want 1", k)
	}
	// 0.25 ms later: under half an interval since the last send, none.
	if k := p.Take(t0.Add(5250 * time.Microsecond)); k != 0 {
		t.Errorf("0.25 ms after a send while catching up: %d, want 0", k)
	}
	// Every half millisecond one more until caught up, then one a millisecond.
	got := 0
	for us := 5500; us <= 8000; us += 500 {
		got += p.Take(t0.Add(time.Duration(us) * time.Microsecond))
	}
	if got != 6 || p.Stalls != 0 {
		t.Errorf("catching up from 5.5 to 8 ms: %d sent, %d stalls; want 6 (all 8 due), 0", got, p.Stalls)
	}
}

func TestPacerStallShiftsTheSchedule(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := NewPacer(t0, 1000, 100, 4, 20*time.Millisecond)
	p.Take(t0.Add(2 * time.Millisecond))
	// 50 ms without running: 48 due, beyond the 20 allowed; one goes.
	if k := p.Take(t0.Add(52 * time.Millisecond)); k != 1 || p.Stalls != 1 {
		t.Fatalf("after a stall: %d messages, %d stalls; want 1, 1", k, p.Stalls)
	}
	// The schedule restarts from there: one a millisecond again.
	for ms := 53; ms < 56; ms++ {
		if k := p.Take(t0.Add(time.Duration(ms) * time.Millisecond)); k != 1 {
			t.Errorf("at %d ms: %d, want 1", ms, k)
		}
	}
}

func TestDueAtInvertsDue(t *testing.T) {
	for _, rate := range []int{1, 3, 1000, 75000, 200000} {
		for _, k := range []int{0, 1, 2, 999, 12345} {
			if got := Due(dueAt(k, rate), rate); got != k {
				t.Errorf("rate %d: Due(dueAt(%d)) = %d", rate, k, got)
			}
		}
	}
}
