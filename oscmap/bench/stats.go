package bench

import (
	"encoding/json"
	"math"
	"slices"
	"time"
)

// Summary is the distribution of a set of round trips.
type Summary struct {
	Min, P50, P90, P99, Max time.Duration
}

// Summarize returns the minimum, the 50th, 90th and 99th percentiles
// (nearest rank: the smallest sample at or above that share of the samples)
// and the maximum of samples, which it does not modify. No samples give the
// zero Summary.
func Summarize(samples []time.Duration) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	return Summary{
		Min: s[0],
		P50: Percentile(s, 50),
		P90: Percentile(s, 90),
		P99: Percentile(s, 99),
		Max: s[len(s)-1],
	}
}

// Percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: sorted[ceil(p/100*n)-1]. sorted must be in ascending
// order and not empty.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// MarshalJSON writes the Summary in microseconds:
// {"min_us":…,"p50_us":…,"p90_us":…,"p99_us":…,"max_us":…}.
func (s Summary) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Min float64 `json:"min_us"`
		P50 float64 `json:"p50_us"`
		P90 float64 `json:"p90_us"`
		P99 float64 `json:"p99_us"`
		Max float64 `json:"max_us"`
	}{us(s.Min), us(s.P50), us(s.P90), us(s.P99), us(s.Max)})
}

// us is d in microseconds, to a tenth.
func us(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)*10) / 10
}

// Alternation is the verdict on the reports of one rate step.
type Alternation struct {
	// Sent is how many messages were sent; Received how many reports came.
	Sent     int `json:"sent"`
	Received int `json:"received"`
	// Missing is Sent-Received when positive; Extra is Received-Sent when positive.
	Missing int `json:"missing"`
	Extra   int `json:"extra"`
	// Breaks counts the places where the reports do not alternate: a first
	// report that is not the first value sent, a report equal to the one
	// before it (a change lost, duplicated or reordered), a value other than
	// 0 or 1.
	Breaks int `json:"breaks"`
	// OK is true when every report arrived, once, in order.
	OK bool `json:"ok"`
}

// CheckAlternation judges the reports got of a step that sent n messages
// alternating between 0 and 1, the first one first. Every change reaches the
// reports in order exactly when got has n values and alternates from first:
// a loss, a duplicate or a reorder shows up as a wrong count or as two equal
// values side by side.
func CheckAlternation(first int32, n int, got []int32) Alternation {
	a := Alternation{Sent: n, Received: len(got)}
	a.Missing = max(n-len(got), 0)
	a.Extra = max(len(got)-n, 0)
	for i, v := range got {
		switch {
		case v != 0 && v != 1:
			a.Breaks++
		case i == 0 && v != first:
			a.Breaks++
		case i > 0 && v == got[i-1]:
			a.Breaks++
		}
	}
	a.OK = a.Missing == 0 && a.Extra == 0 && a.Breaks == 0
	return a
}

// Due is how many messages a sender pacing rate messages a second should
// have sent elapsed after it started: floor(elapsed × rate).
func Due(elapsed time.Duration, rate int) int {
	if elapsed <= 0 || rate <= 0 {
		return 0
	}
	// Whole seconds and the rest apart, so a long step cannot overflow.
	sec := elapsed / time.Second
	rest := elapsed % time.Second
	return int(sec)*rate + int(int64(rest)*int64(rate)/int64(time.Second))
}

// DefaultLadder is the rates the search tries in turn, in messages a second.
var DefaultLadder = []int{100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 75000, 100000, 150000, 200000}

// Ladder returns the rates of DefaultLadder up to maxRate, ending with
// maxRate itself when it is not on the ladder. A maxRate below 1 gives the
// whole ladder.
func Ladder(maxRate int) []int {
	if maxRate < 1 {
		return slices.Clone(DefaultLadder)
	}
	var out []int
	for _, r := range DefaultLadder {
		if r <= maxRate {
			out = append(out, r)
		}
	}
	if len(out) == 0 || out[len(out)-1] != maxRate {
		out = append(out, maxRate)
	}
	return out
}

// RateSearch finds the highest passing rate: it climbs a ladder of rates
// until a step fails, then bisects between the highest pass and the lowest
// failure for a number of refining steps (fewer when the two are within 5%
// of each other). Use Next to get the rate to try and Record to give its
// outcome.
type RateSearch struct {
	ladder []int
	refine int
	i      int // next ladder index while climbing
	best   int // highest passing rate, 0 if none
	fail   int // lowest failing rate, 0 if none
	last   int // the rate Next returned and Record has not answered
}

// NewRateSearch returns a search over ladder (ascending rates) with up to
// refine bisection steps after the first failure.
func NewRateSearch(ladder []int, refine int) *RateSearch {
	return &RateSearch{ladder: slices.Clone(ladder), refine: refine}
}

// Next returns the next rate to try, or false when the search is over.
func (s *RateSearch) Next() (rate int, ok bool) {
	if s.fail == 0 {
		if s.i >= len(s.ladder) {
			return 0, false
		}
		s.last = s.ladder[s.i]
		return s.last, true
	}
	if s.refine <= 0 {
		return 0, false
	}
	mid := bisect(s.best, s.fail)
	if mid <= s.best || mid >= s.fail || float64(s.fail-s.best) <= 0.05*float64(s.fail) {
		return 0, false
	}
	s.last = mid
	return mid, true
}

// bisect is the middle of lo and hi, rounded to two significant digits so
// the rates read well (87 500 → 88 000), but always strictly between them
// when possible.
func bisect(lo, hi int) int {
	mid := (lo + hi) / 2
	r := round2(mid)
	if r > lo && r < hi {
		return r
	}
	return mid
}

// round2 rounds n to two significant digits.
func round2(n int) int {
	if n < 100 {
		return n
	}
	p := 1
	for n/p >= 100 {
		p *= 10
	}
	return (n + p/2) / p * p
}

// Record gives the outcome of the rate Next returned last.
func (s *RateSearch) Record(pass bool) {
	switch {
	case pass:
		s.best = max(s.best, s.last)
	case s.fail == 0 || s.last < s.fail:
		s.fail = s.last
	}
	if s.fail == 0 {
		s.i++
	} else if s.i < len(s.ladder) && s.ladder[s.i] == s.last {
		s.i = len(s.ladder) // climbing is over; the rest refines
	} else {
		s.refine--
	}
}

// Best is the highest rate that passed, 0 if none did.
func (s *RateSearch) Best() int { return s.best }

// Failed is the lowest rate that failed, 0 if none did.
func (s *RateSearch) Failed() int { return s.fail }

// Pacer spreads n messages at rate messages a second, by the clock, in
// small batches. A sender that falls behind (the machine did not run it for
// a moment) catches up at no more than twice the rate and at most
// maxBatch messages at once, never with one burst of everything due. When it
// is further behind than maxLag's worth (a real stall), the rest of the
// schedule is shifted instead: the step takes longer, and the rate really
// sent says so.
type Pacer struct {
	rate, n  int
	maxBatch int
	maxLag   int       // messages
	start    time.Time // when message 0 was due, shifted after a stall
	last     time.Time // when the last batch was taken
	sent     int
	// Stalls counts the times the schedule was shifted.
	Stalls int
}

// NewPacer returns a Pacer for n messages at rate, starting at start, that
// takes at most maxBatch (at least 1) messages at once and shifts its
// schedule when more than maxLag behind.
func NewPacer(start time.Time, rate, n, maxBatch int, maxLag time.Duration) *Pacer {
	return &Pacer{rate: rate, n: n, maxBatch: max(maxBatch, 1), maxLag: max(Due(maxLag, rate), 1),
		start: start, last: start}
}

// Take returns how many messages to send at now, and counts them as sent.
func (p *Pacer) Take(now time.Time) int {
	due := min(Due(now.Sub(p.start), p.rate), p.n)
	behind := due - p.sent
	if behind > p.maxLag {
		// A stall: start the schedule again from here.
		p.start = now.Add(-dueAt(p.sent+1, p.rate))
		p.Stalls++
		behind = 1
	}
	// Twice the rate since the last batch, and at least what is due on time.
	catchUp := max(Due(2*now.Sub(p.last), p.rate), Due(now.Sub(p.last), p.rate))
	k := max(min(behind, p.maxBatch, catchUp), 0)
	if k > 0 {
		p.sent += k
		p.last = now
	}
	return k
}

// Done reports whether all n messages were taken.
func (p *Pacer) Done() bool { return p.sent >= p.n }

// dueAt is when message k is due after the start, at rate (rounded up to
// the nanosecond): the inverse of Due.
func dueAt(k, rate int) time.Duration {
	sec := k / rate
	rest := int64(k % rate)
	return time.Duration(sec)*time.Second + time.Duration((rest*int64(time.Second)+int64(rate)-1)/int64(rate))
}
