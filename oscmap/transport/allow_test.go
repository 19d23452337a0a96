package transport

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/bpf"
)

func TestAllowAllows(t *testing.T) {
	a, err := ParseAllow("127.0.0.2", "10.1.0.0/16", " fd00::/8 ", "::1", "::ffff:192.168.0.0/112")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.2", true}, {"127.0.0.3", false}, {"::ffff:127.0.0.2", true},
		{"10.1.255.7", true}, {"10.2.0.1", false}, {"fd12::5", true}, {"fe80::1%lo", false},
		{"::1", true}, {"::2", false}, {"192.168.4.4", true}, {"::ffff:192.168.4.4", true}, {"192.169.0.1", false},
	} {
		if got := a.Allows(netip.MustParseAddr(c.addr)); got != c.want {
			t.Errorf("Allows(%s) = %v, want %v", c.addr, got, c.want)
		}
	}
	if s := a.String(); s != "127.0.0.2,10.1.0.0/16,192.168.0.0/16,fd00::/8,::1" {
		t.Errorf("String() = %q", s)
	}
	for _, bad := range []string{"10.0.0.300", "10.0.0.0/33", "host.local", ""} {
		if _, err := ParseAllow(bad); err == nil || !strings.Contains(err.Error(), "not an address or a network") {
			t.Errorf("ParseAllow(%q) = %v, want an error saying so", bad, err)
		}
	}
	var none *Allow
	if none.Allows(netip.MustParseAddr("127.0.0.1")) {
		t.Error("a nil Allow allows")
	}
}

// ipHeader is a bare IP header from src, as the filter sees it at the network
// offset.
func ipHeader(src netip.Addr) []byte {
	if src.Is4() {
		h := make([]byte, 28)
		h[0] = 0x45
		copy(h[12:], src.AsSlice())
		return h
	}
	h := make([]byte, 48)
	h[0] = 0x60
	copy(h[8:], src.AsSlice())
	return h
}

// TestFilterProgram runs the kernel filter program in x/net/bpf's VM on bare
// IP headers, for an IPv4 and a dual-stack socket, with a list long enough
// that the jump to the IPv6 checks is not a conditional one.
func TestFilterProgram(t *testing.T) {
	short, _ := ParseAllow("127.0.0.2", "10.1.0.0/16", "fd00::/8", "2001:db8::/33", "::1", "0.0.0.0/32")
	var many []string
	for i := range 100 {
		many = append(many, netip.AddrFrom4([4]byte{172, 16, byte(i), 1}).String())
	}
	long, _ := ParseAllow(append(many, "127.0.0.2", "10.1.0.0/16", "fd00::/8", "2001:db8::/33", "::1", "0.0.0.0/32")...)
	for name, a := range map[string]*Allow{"short": short, "long": long} {
		for _, dual := range []bool{false, true} {
			prog, err := a.filterProgram(0, dual)
			if err != nil {
				t.Fatal(err)
			}
			vm, err := bpf.NewVM(prog)
			if err != nil {
				t.Fatalf("%s dual=%v: %v", name, dual, err)
			}
			for _, src := range []string{"127.0.0.2", "127.0.0.3", "10.1.9.9", "10.0.9.9", "0.0.0.0",
				"fd00::7", "fe00::7", "2001:db8:7fff::1", "2001:db8:8000::1", "::1", "::2"} {
				addr := netip.MustParseAddr(src)
				if !dual && !addr.Is4() {
					continue // an IPv4 socket receives IPv4 only
				}
				n, err := vm.Run(ipHeader(addr))
				if err != nil {
					t.Fatal(err)
				}
				want := a.Allows(addr)
				if (n != 0) != want {
					t.Errorf("%s dual=%v: the program returns %d for %s, want accepted=%v", name, dual, n, src, want)
				}
			}
		}
	}
	var huge []netip.Prefix
	for i := range 1100 {
		huge = append(huge, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24))
	}
	a, _ := NewAllow(huge...)
	if _, err := a.filterProgram(skfNetOff, false); err != errTooLong {
		t.Errorf("a list of 1100 networks: %v, want errTooLong", err)
	}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock           { return &fakeClock{t: time.Unix(1e9, 0)} }
func addr(s string) netip.Addr           { return netip.MustParseAddr(s) }
func prefix(s string) netip.Prefix       { return netip.MustParsePrefix(s) }
func takes(l *Limiter, a netip.Addr, n int) (ok int) {
	for range n {
		if l.Allow(a) {
			ok++
		}
	}
	return ok
}

// TestLimiterCounts checks the token bucket's exact counts with a fake clock:
// the burst, the refill, the cap at the burst, per-prefix limits (the longest
// prefix wins) and the counts per sender.
func TestLimiterCounts(t *testing.T) {
	clk := newFakeClock()
	l := NewLimiter(RateLimit{Rate: 10, Burst: 5}, []PrefixRateLimit{
		{prefix("10.0.0.0/8"), RateLimit{Rate: 100, Burst: 20}},
		{prefix("10.9.0.0/16"), RateLimit{}}, // unlimited
		{prefix("::ffff:192.168.0.0/112"), RateLimit{Rate: 1, Burst: 0}},
	}, clk.now)
	a, b := addr("127.0.0.3"), addr("::ffff:127.0.0.4")
	if n := takes(l, a, 8); n != 5 {
		t.Errorf("burst: %d of 8 allowed, want 5", n)
	}
	clk.add(100 * time.Millisecond) // one token
	if n := takes(l, a, 3); n != 1 {
		t.Errorf("after 100 ms at 10/s: %d of 3 allowed, want 1", n)
	}
	clk.add(250 * time.Millisecond) // 2.5 tokens
	if n := takes(l, a, 3); n != 2 {
		t.Errorf("after 250 ms: %d of 3 allowed, want 2", n)
	}
	clk.add(50 * time.Millisecond) // 0.5 + 0.5
	if n := takes(l, a, 2); n != 1 {
		t.Errorf("after 50 more ms: %d of 2 allowed, want 1", n)
	}
	clk.add(time.Hour) // capped at the burst
	if n := takes(l, a, 10); n != 5 {
		t.Errorf("after an hour: %d of 10 allowed, want the burst, 5", n)
	}
	if n := takes(l, b, 7); n != 5 {
		t.Errorf("another sender: %d of 7 allowed, want its own burst, 5", n)
	}
	if n := takes(l, addr("10.1.2.3"), 30); n != 20 {
		t.Errorf("10.1.2.3 (10.0.0.0/8: burst 20): %d of 30 allowed", n)
	}
	if n := takes(l, addr("10.9.2.3"), 1000); n != 1000 {
		t.Errorf("10.9.2.3 (10.9.0.0/16: unlimited): %d of 1000 allowed", n)
	}
	if n := takes(l, addr("192.168.1.1"), 3); n != 1 {
		t.Errorf("192.168.1.1 (burst 0 taken as 1): %d of 3 allowed", n)
	}
	// a: 3+2+1+1+5 refused; b: 2; 10.1.2.3: 10; 192.168.1.1: 2.
	if got := l.Limited(); got != 12+2+10+2 {
		t.Errorf("Limited() = %d, want 26", got)
	}
	top := l.Top(2)
	if len(top) != 2 || top[0] != (SenderCount{a, 12}) || top[1] != (SenderCount{addr("10.1.2.3"), 10}) {
		t.Errorf("Top(2) = %v, want 127.0.0.3: 12, 10.1.2.3: 10", top)
	}
	attrs := l.report(false)
	line := strings.Trim(strings.ReplaceAll(strings.Join(strings.Fields(strings.TrimSpace(fmtAttrs(attrs))), " "), "\n", " "), " ")
	if !strings.Contains(line, "127.0.0.3: 12 dropped (10/s burst 5)") || !strings.Contains(line, "dropped=26") {
		t.Errorf("first report: %s", line)
	}
	takes(l, a, 1)
	if l.report(false) != nil {
		t.Error("a second report within the second")
	}
	clk.add(time.Second)
	if got := fmtAttrs(l.report(false)); !strings.Contains(got, "senders=127.0.0.3: 1 dropped") {
		t.Errorf("report a second later: %s", got)
	}
	if l.report(false) != nil || l.report(true) != nil {
		t.Error("a report with nothing new")
	}
}

func fmtAttrs(attrs []any) string {
	var b strings.Builder
	for i := 0; i+1 < len(attrs); i += 2 {
		b.WriteString(" " + attrs[i].(string) + "=")
		switch v := attrs[i+1].(type) {
		case string:
			b.WriteString(v)
		default:
			b.WriteString(strings.TrimSpace(strings.ReplaceAll(fmtAny(v), "\n", "")))
		}
	}
	return b.String()
}

func fmtAny(v any) string { return fmt.Sprint(v) }

// TestLimiterBounded floods from more senders than the Limiter keeps: the
// table stays at 4096 buckets and the least recently seen sender is the one
// forgotten.
func TestLimiterBounded(t *testing.T) {
	clk := newFakeClock()
	l := NewLimiter(RateLimit{Rate: 1, Burst: 1}, nil, clk.now)
	first := addr("10.0.0.1")
	l.Allow(first)
	for i := range maxBuckets + 10 {
		l.Allow(netip.AddrFrom4([4]byte{11, 0, byte(i >> 8), byte(i)}))
		if i == 100 {
			l.Allow(first) // refused, and now recently seen
		}
	}
	if n := l.lru.Len(); n != maxBuckets || len(l.byIP) != maxBuckets {
		t.Errorf("%d buckets (%d in the map), want %d", n, len(l.byIP), maxBuckets)
	}
	if _, ok := l.byIP[netip.AddrFrom4([4]byte{11, 0, 0, 0})]; ok {
		t.Error("the least recently seen sender is still kept")
	}
	if l.Allow(addr("11.0.0.0")) != true {
		t.Error("a forgotten sender does not start again with a full burst")
	}
	if l.Limited() != 1 {
		t.Errorf("Limited() = %d, want 1", l.Limited())
	}
}

// BenchmarkAllows is the userspace check of one datagram against a list of
// 10 entries (a denied sender: every entry is tried).
func BenchmarkAllows(b *testing.B) {
	a, _ := ParseAllow("10.0.0.0/24", "10.0.1.5", "192.168.1.0/24", "fd00::/8", "::1",
		"172.16.0.0/12", "10.0.2.0/24", "10.0.3.0/24", "10.0.4.0/24", "10.0.5.0/24")
	from := addr("127.0.0.3")
	for b.Loop() {
		if a.Allows(from) {
			b.Fatal("allowed")
		}
	}
}

// BenchmarkLimiter is the rate limit of one datagram from a flooder over its
// limit, among 1000 known senders.
func BenchmarkLimiter(b *testing.B) {
	l := NewLimiter(RateLimit{Rate: 200, Burst: 50}, nil, nil)
	for i := range 1000 {
		l.Allow(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}))
	}
	from := addr("127.0.0.3")
	for b.Loop() {
		l.Allow(from)
	}
}
