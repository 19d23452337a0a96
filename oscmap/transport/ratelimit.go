package transport

import (
	"container/list"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// maxBuckets bounds the senders whose token buckets a Limiter keeps; the
// sender seen least recently is forgotten first (and starts again with a
// full burst when it comes back).
const maxBuckets = 4096

// A RateLimit is a token bucket: Rate datagrams a second on average, with
// bursts of up to Burst datagrams. The zero RateLimit (Rate <= 0) does not
// limit; a Burst below 1 is taken as 1.
type RateLimit struct {
	Rate  float64
	Burst int
}

// String is "200/s burst 50", or "unlimited".
func (r RateLimit) String() string {
	if r.Rate <= 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%g/s burst %d", r.Rate, max(r.Burst, 1))
}

// A PrefixRateLimit is the RateLimit of the senders in Prefix (an allow
// entry), instead of the default one.
type PrefixRateLimit struct {
	Prefix netip.Prefix
	RateLimit
}

// A Limiter applies a RateLimit to each sender address (not address and
// port: a sender that changes its source port stays one sender). It counts
// datagrams, before decoding: a bundle is one, whatever it holds. It keeps
// the buckets of at most 4096 senders (the least recently seen one is
// forgotten first) and counts the refused datagrams per sender.
//
// Allow is meant to be called from one goroutine (Serve's); the counters
// (Limited, Top) may be read from any.
type Limiter struct {
	def  RateLimit
	per  []PrefixRateLimit // longest prefix first
	now  func() time.Time
	lru  *list.List // of *bucket, most recently seen first
	byIP map[netip.Addr]*list.Element

	counts senderCounts

	// Since the last log line: refused datagrams per sender.
	pending  map[netip.Addr]uint64
	lastLog  time.Time
	overflow uint64 // refused, from senders beyond maxCounted in pending
}

type bucket struct {
	addr   netip.Addr
	lim    RateLimit
	tokens float64
	last   time.Time
}

// NewLimiter returns a Limiter applying def to every sender, except those in
// one of per's prefixes, which get that prefix's limit (the longest prefix
// containing the sender wins). now is the clock (nil: time.Now).
func NewLimiter(def RateLimit, per []PrefixRateLimit, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	ps := make([]PrefixRateLimit, 0, len(per))
	for _, p := range per {
		addr, bits := p.Prefix.Addr().WithZone(""), p.Prefix.Bits()
		if addr.Is4In6() && bits >= 96 {
			addr, bits = addr.Unmap(), bits-96
		}
		p.Prefix = netip.PrefixFrom(addr, bits).Masked()
		ps = append(ps, p)
	}
	slices.SortStableFunc(ps, func(a, b PrefixRateLimit) int { return b.Prefix.Bits() - a.Prefix.Bits() })
	return &Limiter{def: def, per: ps, now: now, lru: list.New(), byIP: make(map[netip.Addr]*list.Element)}
}

// limitOf is the RateLimit of addr.
func (l *Limiter) limitOf(addr netip.Addr) RateLimit {
	for _, p := range l.per {
		if p.Prefix.Contains(addr) {
			return p.RateLimit
		}
	}
	return l.def
}

// Allow takes a token from addr's bucket and reports whether there was one.
// A refused datagram is counted against addr.
func (l *Limiter) Allow(addr netip.Addr) bool {
	addr = addr.Unmap().WithZone("")
	now := l.now()
	var b *bucket
	if e, ok := l.byIP[addr]; ok {
		l.lru.MoveToFront(e)
		b = e.Value.(*bucket)
		if el := now.Sub(b.last); el > 0 {
			b.tokens = min(float64(max(b.lim.Burst, 1)), b.tokens+b.lim.Rate*el.Seconds())
		}
		b.last = now
	} else {
		lim := l.limitOf(addr)
		if lim.Rate <= 0 {
			return true // unlimited: no bucket to keep
		}
		if l.lru.Len() >= maxBuckets {
			old := l.lru.Back()
			delete(l.byIP, old.Value.(*bucket).addr)
			l.lru.Remove(old)
		}
		b = &bucket{addr: addr, lim: lim, tokens: float64(max(lim.Burst, 1)), last: now}
		l.byIP[addr] = l.lru.PushFront(b)
	}
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	l.counts.add(addr)
	if l.pending == nil {
		l.pending = make(map[netip.Addr]uint64)
	}
	if _, ok := l.pending[addr]; ok || len(l.pending) < maxCounted {
		l.pending[addr]++
	} else {
		l.overflow++
	}
	return false
}

// Limited is how many datagrams the Limiter has refused.
func (l *Limiter) Limited() uint64 { return l.counts.sum() }

// Top returns the n senders with the most refused datagrams, most first.
func (l *Limiter) Top(n int) []SenderCount { return l.counts.top(n) }

// report returns the log line's attributes for the senders refused since the
// last line, if a second has passed since then on the Limiter's clock (or
// final); nil otherwise. Serve keeps its own second and asks with final.
// At most 5 senders are named, the most limited first.
func (l *Limiter) report(final bool) []any {
	if len(l.pending) == 0 && l.overflow == 0 {
		return nil
	}
	now := l.now()
	if !final && !l.lastLog.IsZero() && now.Sub(l.lastLog) < time.Second {
		return nil
	}
	all := make([]SenderCount, 0, len(l.pending))
	var total uint64
	for a, k := range l.pending {
		all = append(all, SenderCount{a, k})
		total += k
	}
	total += l.overflow
	slices.SortFunc(all, func(x, y SenderCount) int {
		if x.Count != y.Count {
			if x.Count > y.Count {
				return -1
			}
			return 1
		}
		return x.Addr.Compare(y.Addr)
	})
	var b strings.Builder
	for i, s := range all {
		if i == 5 {
			fmt.Fprintf(&b, " and %d more", len(all)-5)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s: %d dropped (%s)", s.Addr, s.Count, l.limitOf(s.Addr))
	}
	if l.overflow > 0 {
		fmt.Fprintf(&b, " and %d from other senders", l.overflow)
	}
	clear(l.pending)
	l.overflow = 0
	l.lastLog = now
	return []any{"senders", b.String(), "dropped", total, "limited_senders", len(all)}
}

// hasPending reports whether refused datagrams wait for a log line.
func (l *Limiter) hasPending() bool { return len(l.pending) > 0 || l.overflow > 0 }
