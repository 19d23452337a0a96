package logs

import (
	"sync"
	"time"
)

// Budget bounds the lines a busy path writes: at most PerSecond lines in
// each second; the lines beyond are not written, and once that second is
// over Report is called once with how many were not shown. Nothing runs while
// no line is refused: the report is a one-shot timer, armed by the first
// refused line of a second.
type Budget struct {
	perSecond int
	report    func(notShown int)
	now       func() time.Time
	after     func(time.Duration, func()) // time.AfterFunc, replaced in tests

	mu       sync.Mutex
	start    time.Time // start of the current second
	used     int
	notShown int
	armed    bool
}

// NewBudget returns a Budget of perSecond lines; report is called (from a
// timer goroutine) with the count of the lines not shown in a second.
func NewBudget(perSecond int, report func(notShown int)) *Budget {
	return &Budget{perSecond: perSecond, report: report, now: time.Now,
		after: func(d time.Duration, f func()) { time.AfterFunc(d, f) }}
}

// Allow reports whether one more line may be written now. Call it before
// formatting the line, so a refused line costs nothing.
func (b *Budget) Allow() bool {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Sub(b.start) >= time.Second {
		b.start, b.used = now, 0
	}
	if b.used < b.perSecond {
		b.used++
		return true
	}
	b.notShown++
	if !b.armed {
		b.armed = true
		b.after(b.start.Add(time.Second).Sub(now), b.flush)
	}
	return false
}

// flush reports the lines not shown. The next refused line arms the timer
// again, so a flood gives one report a second, and nothing runs after it.
func (b *Budget) flush() {
	b.mu.Lock()
	n := b.notShown
	b.notShown = 0
	b.armed = false
	b.mu.Unlock()
	if n > 0 {
		b.report(n)
	}
}

// Flush reports at once the lines not shown so far (at exit).
func (b *Budget) Flush() { b.flush() }
