package transport

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncClock is a fakeClock safe to read from Serve's goroutine.
type syncClock struct {
	mu sync.Mutex
	fakeClock
}

func (c *syncClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *syncClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestRateLimitFloodAndSteadySender floods from one sender while another
// sends ten messages a second (a fake clock moves 100 ms between them): every
// message of the steady sender is handled, the flooder gets its burst and its
// rate and no more, each datagram is either handled or counted, and the log
// names the flooder.
func TestRateLimitFloodAndSteadySender(t *testing.T) {
	clk := &syncClock{fakeClock: *newFakeClock()}
	lim := NewLimiter(RateLimit{Rate: 200, Burst: 50}, []PrefixRateLimit{
		{prefix("127.0.0.4/32"), RateLimit{Rate: 1, Burst: 1}},
	}, clk.now)
	s, ch, lb := serveWith(t, nil, WithLimiter(lim))
	steady, flooder := loopSender(t, "127.0.0.2", s), loopSender(t, "127.0.0.3", s)
	const rounds, perRound = 10, 300
	for range rounds {
		for range perRound {
			write(t, flooder, msg("/flood", ","))
		}
		write(t, steady, msg("/led", ",i", be32(1)))
		clk.add(100 * time.Millisecond)
	}
	const sent = rounds*perRound + rounds
	eventually(t, "every datagram read and handled or limited", func() bool {
		st := s.Stats()
		return st.Packets+st.KernelDrops >= sent && st.KernelDrops+st.RateLimited+st.Messages >= sent
	})
	st := s.Stats()
	if st.KernelDrops != 0 {
		t.Fatalf("the kernel dropped %d datagrams: the counts below would not be exact", st.KernelDrops)
	}
	var steadyGot, floodGot int
	for range st.Messages {
		g := next(t, ch)
		switch g.from.Addr() {
		case addr("127.0.0.2"):
			steadyGot++
		case addr("127.0.0.3"):
			floodGot++
		}
	}
	if steadyGot != rounds {
		t.Errorf("the steady sender had %d of its %d messages handled", steadyGot, rounds)
	}
	// Burst 50, then 200/s for at most the 1 s the clock moved.
	if floodGot < 50 || floodGot > 50+200 {
		t.Errorf("the flooder had %d messages handled, want between 50 and 250", floodGot)
	}
	if st.RateLimited != uint64(rounds*perRound-floodGot) {
		t.Errorf("RateLimited = %d, want %d", st.RateLimited, rounds*perRound-floodGot)
	}
	if vol := s.TopSenders(5); len(vol) != 2 || vol[0] != (SenderCount{addr("127.0.0.3"), rounds * perRound}) || vol[1] != (SenderCount{addr("127.0.0.2"), rounds}) {
		t.Errorf("TopSenders = %v, want the flooder's %d then the steady sender's %d", vol, rounds*perRound, rounds)
	}
	top := s.RateLimitedSenders(5)
	if len(top) != 1 || top[0].Addr != addr("127.0.0.3") || top[0].Count != st.RateLimited {
		t.Errorf("RateLimitedSenders = %v", top)
	}
	if !strings.Contains(lb.String(), `msg="senders over their rate limit: the excess is dropped"`) ||
		!strings.Contains(lb.String(), "127.0.0.3: ") {
		t.Errorf("no log line naming the flooder:\n%s", lb)
	}
	t.Logf("flooder: %d of %d handled; %+v", floodGot, rounds*perRound, st)
}

// TestAllowThenRateLimitThenFilter checks the order of the checks before
// decoding and that each drop is counted once, in its own counter.
func TestAllowThenRateLimitThenFilter(t *testing.T) {
	clk := newFakeClock()
	allow, _ := ParseAllow("127.0.0.2", "127.0.0.3")
	var filtered []netip.Addr
	var mu sync.Mutex
	filter := func(from netip.AddrPort, size int) bool {
		mu.Lock()
		defer mu.Unlock()
		filtered = append(filtered, from.Addr())
		return from.Addr() != addr("127.0.0.3")
	}
	lim := NewLimiter(RateLimit{Rate: 1, Burst: 2}, nil, clk.now)
	s, ch, _ := serveWith(t, nil, WithAllow(allow), withUserspaceAllowIfAny(), WithLimiter(lim), WithFilter(filter))
	a, b, c := loopSender(t, "127.0.0.2", s), loopSender(t, "127.0.0.3", s), loopSender(t, "127.0.0.4", s)
	for range 3 {
		write(t, c, msg("/denied", ","))
		write(t, b, msg("/filtered", ","))
		write(t, a, msg("/ok", ","))
	}
	if g := next(t, ch); g.m.Address != "/ok" {
		t.Fatalf("got %s", g.m.Address)
	}
	next(t, ch)
	// Packets is counted when a datagram is read, its verdict just after:
	// wait for the verdicts, or the last one may not be counted yet.
	eventually(t, "9 datagrams read or dropped, each with its verdict", func() bool {
		st := s.Stats()
		return st.Packets+st.KernelDrops == 9 &&
			st.Denied+st.KernelDrops+st.RateLimited+st.Filtered+st.Messages == 9
	})
	st := s.Stats()
	if st.RateLimited != 2 || st.Filtered != 2 || st.Messages != 2 || st.Denied+st.KernelDrops != 3 {
		t.Errorf("Stats = %+v, want 3 denied (in Serve or the kernel), 2 rate limited, 2 filtered, 2 messages", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(filtered) != 4 {
		t.Errorf("the filter was asked about %v, want the 4 datagrams within the rate limit", filtered)
	}
}

// loopSender sends to s from ip on loopback.
func loopSender(t testing.TB, ip string, s *UDP) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)}, s.Addr().(*net.UDPAddr))
	if err != nil {
		t.Skipf("cannot send from %s (loopback other than 127.0.0.1): %v", ip, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestRateLimitLogsTheTailWithoutTraffic limits a short burst, then sends
// nothing: the senders limited after the first line are still logged, about
// a second later, by Serve's wake-up rather than by a next datagram.
func TestRateLimitLogsTheTailWithoutTraffic(t *testing.T) {
	clk := &syncClock{fakeClock: *newFakeClock()}
	lim := NewLimiter(RateLimit{Rate: 1, Burst: 1}, nil, clk.now)
	s, ch, lb := serveWith(t, nil, WithLimiter(lim))
	c := loopSender(t, "127.0.0.3", s)
	write(t, c, msg("/a", ","), msg("/b", ","), msg("/c", ","))
	next(t, ch)
	eventually(t, "the first line", func() bool { return strings.Contains(lb.String(), "senders=\"127.0.0.3: 1 dropped") })
	eventually(t, "two refused", func() bool { return s.Stats().RateLimited == 2 })
	// The Limiter's clock stands still: the line comes from Serve's own
	// one-second timer, with no datagram to trigger it.
	eventually(t, "the second line, with no datagram after", func() bool {
		return strings.Count(lb.String(), "senders over their rate limit") == 2
	})
	if n := strings.Count(lb.String(), "senders over their rate limit"); n != 2 {
		t.Errorf("%d lines, want 2:\n%s", n, lb)
	}
}
