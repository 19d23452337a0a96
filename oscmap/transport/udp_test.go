package transport

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/oscmap/codec"
)

// wait is the generous deadline for anything to arrive over loopback.
const wait = 10 * time.Second

// logBuf collects a logger's lines; safe for concurrent use.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func testLogger() (*slog.Logger, *logBuf) {
	lb := &logBuf{}
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), lb
}

// serveReturned waits for Serve's result on done after a cancel or Close
// (what), and fails the test unless Serve returned nil in time.
func serveReturned(t *testing.T, done <-chan error, what string) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve returned %v after %s, want nil", err, what)
		}
	case <-time.After(wait):
		t.Fatalf("Serve did not return after %s", what)
	}
}

// got is one call of the handler.
type got struct {
	m    *osc.Message
	from netip.AddrPort
	at   time.Time
}

// serve starts a server on 127.0.0.1:0 that hands each message to the
// returned channel, and stops it at the end of the test.
func serve(t *testing.T, h func(*osc.Message)) (*UDP, <-chan got, *logBuf) {
	t.Helper()
	return serveWith(t, h)
}

// serveWith is serve with options.
func serveWith(t *testing.T, h func(*osc.Message), opts ...Option) (*UDP, <-chan got, *logBuf) {
	t.Helper()
	log, lb := testLogger()
	s, err := ListenUDP("127.0.0.1:0", log, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan got, 10000)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.Serve(ctx, func(m *osc.Message, from netip.AddrPort) {
			if h != nil {
				h(m)
			}
			ch <- got{codec.Clone(m), from, time.Now()} // Serve reuses m
		})
	}()
	t.Cleanup(func() {
		cancel()
		serveReturned(t, done, "cancel")
	})
	return s, ch, lb
}

func dial(t *testing.T, s *UDP) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp", nil, s.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func write(t *testing.T, c *net.UDPConn, packets ...[]byte) {
	t.Helper()
	for _, p := range packets {
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
	}
}

func next(t *testing.T, ch <-chan got) got {
	t.Helper()
	select {
	case g := <-ch:
		return g
	case <-time.After(wait):
		t.Fatalf("no message within %v", wait)
		return got{}
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(wait); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("not within %v: %s", wait, what)
		}
	}
}

func TestServeMalformedBetweenValid(t *testing.T) {
	s, ch, lb := serve(t, nil)
	c := dial(t, s)
	write(t, c,
		msg("/led", ",i", be32(1)),
		[]byte("/led\x00\x00\x00\x00,x\x00\x00\x00\x00\x00\x01"),
		msg("/led", ",i", be32(0)))
	if g := next(t, ch); codec.Format(g.m) != "/led i 1" {
		t.Fatalf("first message %s, want /led i 1", codec.Format(g.m))
	}
	g := next(t, ch)
	if codec.Format(g.m) != "/led i 0" {
		t.Fatalf("second message %s, want /led i 0", codec.Format(g.m))
	}
	if g.from.String() != c.LocalAddr().String() {
		t.Errorf("from = %v, want the sender %v", g.from, c.LocalAddr())
	}
	st := s.Stats()
	if st.Packets != 3 || st.Messages != 2 || st.Malformed != 1 || st.Scheduled != 0 || st.Panics != 0 {
		t.Errorf("Stats = %+v, want 3 packets, 2 messages, 1 malformed", st)
	}
	line := regexp.MustCompile(`level=WARN msg="malformed OSC packet dropped" from=` + regexp.QuoteMeta(c.LocalAddr().String()) + ` bytes=16 err="unknown type tag 'x'`)
	if !line.MatchString(lb.String()) {
		t.Errorf("log has no malformed line with the sender and the reason:\n%s", lb)
	}
}

func TestServeInArrivalOrder(t *testing.T) {
	const n = 1000
	s, ch, _ := serve(t, nil)
	c := dial(t, s)
	for i := range n {
		write(t, c, msg("/led", ",ii", be32(uint32(i%2)), be32(uint32(i))))
	}
	last := -1
	received := 0
	for last != n-1 {
		select {
		case g := <-ch:
			seq := int(g.m.Arguments[1].(int32))
			if seq <= last {
				t.Fatalf("message %d arrived after message %d", seq, last)
			}
			if v := g.m.Arguments[0].(int32); v != int32(seq%2) {
				t.Fatalf("message %d has value %d", seq, v)
			}
			last = seq
			received++
		case <-time.After(wait):
			t.Fatalf("the last message did not arrive; last seen %d, %d received, stats %+v", last, received, s.Stats())
		}
	}
	if drops := s.Stats().KernelDrops; received+int(drops) != n {
		t.Errorf("%d received and %d dropped by the kernel, want %d in all", received, drops, n)
	} else if drops > 0 {
		t.Logf("the kernel dropped %d of %d", drops, n)
	}
}

func TestServeFutureBundle(t *testing.T) {
	s, ch, _ := serve(t, nil)
	c := dial(t, s)
	due := time.Now().Add(300 * time.Millisecond)
	write(t, c,
		bundle(ntp(due), msg("/later", ",i", be32(1)), msg("/later", ",i", be32(2)),
			bundle(ntp(due.Add(50*time.Millisecond)), msg("/later", ",i", be32(4))), msg("/later", ",i", be32(3))),
		msg("/now", ","))
	g := next(t, ch)
	if codec.Format(g.m) != "/now" {
		t.Fatalf("got %s first: a message of the future bundle was applied early", codec.Format(g.m))
	}
	for i := 1; i <= 4; i++ {
		g := next(t, ch)
		if want := "/later i " + strconv.Itoa(i); codec.Format(g.m) != want {
			t.Fatalf("got %s, want %s", codec.Format(g.m), want)
		}
		if early := due.Sub(g.at); early > time.Millisecond {
			t.Errorf("%s applied %v before its time", codec.Format(g.m), early)
		}
	}
	if st := s.Stats(); st.Scheduled != 4 || st.Messages != 5 {
		t.Errorf("Stats = %+v, want 5 messages, 4 scheduled", st)
	}
}

// Bundles dated far ahead are held only up to a memory budget, so a sender
// cannot grow the bridge until the kernel kills it.
func TestServeHeldBytesAreBounded(t *testing.T) {
	s, _, lb := serve(t, nil)
	c := dial(t, s)
	big, err := osc.NewMessage("/far", make([]byte, 60000)).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	due := ntp(time.Now().Add(time.Hour))
	const sent = 200 // 12 MB of blobs, over maxHeldBytes
	for i := 1; i <= sent; i++ {
		write(t, c, bundle(due, big))
		// One at a time, so that the socket buffer never overflows.
		eventually(t, "the bundle to be read", func() bool { return s.Stats().Messages >= uint64(i) })
	}
	// Messages is counted before the message is held or dropped.
	eventually(t, "the last message held or dropped", func() bool {
		st := s.Stats()
		return st.Scheduled+st.HeldDropped >= sent
	})
	st := s.Stats()
	if held := st.Scheduled * 60000; held > maxHeldBytes || st.Scheduled == 0 {
		t.Fatalf("%d of %d 60 KB messages held (%d bytes): want some, and at most %d bytes", st.Scheduled, sent, held, maxHeldBytes)
	}
	if st.Scheduled+st.HeldDropped != sent {
		t.Errorf("%d held and %d dropped, want %d in all", st.Scheduled, st.HeldDropped, sent)
	}
	if !strings.Contains(lb.String(), "too many messages held for a future time tag") {
		t.Errorf("the refused messages were not logged:\n%s", lb.String())
	}
}

func TestServePastAndImmediateBundles(t *testing.T) {
	s, ch, _ := serve(t, nil)
	c := dial(t, s)
	write(t, c,
		bundle(ntp(time.Now().Add(-time.Hour)), msg("/past", ",")),
		bundle(1, msg("/immediately", ",")))
	for _, want := range []string{"/past", "/immediately"} {
		if g := next(t, ch); g.m.Address != want {
			t.Fatalf("got %s, want %s", g.m.Address, want)
		}
	}
	if st := s.Stats(); st.Scheduled != 0 {
		t.Errorf("Stats.Scheduled = %d, want 0", st.Scheduled)
	}
}

func TestServeHandlerPanic(t *testing.T) {
	s, ch, lb := serve(t, func(m *osc.Message) {
		if m.Address == "/boom" {
			panic("kaboom")
		}
	})
	c := dial(t, s)
	write(t, c, msg("/boom", ","), msg("/ok", ","))
	if g := next(t, ch); g.m.Address != "/ok" {
		t.Fatalf("got %s, want /ok", g.m.Address)
	}
	if p := s.Stats().Panics; p != 1 {
		t.Errorf("Stats.Panics = %d, want 1", p)
	}
	if !strings.Contains(lb.String(), `level=ERROR msg="OSC handler panicked; the message is dropped and the server goes on" address=/boom`) ||
		!strings.Contains(lb.String(), "panic=kaboom") {
		t.Errorf("log has no line for the panic:\n%s", lb)
	}
}

func TestServeRateLimitsMalformedLog(t *testing.T) {
	const bad = 50
	log, lb := testLogger()
	s, err := ListenUDP("127.0.0.1:0", log)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan string, 10)
	done := make(chan error, 1)
	go func() {
		done <- s.Serve(context.Background(), func(m *osc.Message, _ netip.AddrPort) { ch <- m.Address })
	}()
	c := dial(t, s)
	for range bad {
		write(t, c, []byte("nonsense"))
	}
	write(t, c, msg("/end", ","))
	select {
	case <-ch:
	case <-time.After(wait):
		t.Fatal("/end did not arrive")
	}
	s.Close()
	if err := <-done; err != nil {
		t.Fatalf("Serve returned %v after Close, want nil", err)
	}
	if m := s.Stats().Malformed; m != bad {
		t.Fatalf("Stats.Malformed = %d, want %d", m, bad)
	}
	lines := strings.Count(lb.String(), `msg="malformed OSC packet dropped"`)
	suppressed := 0
	for _, m := range regexp.MustCompile(`msg="(\d+) more malformed OSC packets suppressed"`).FindAllStringSubmatch(lb.String(), -1) {
		n, _ := strconv.Atoi(m[1])
		suppressed += n
	}
	if lines < 1 || lines >= bad || lines+suppressed != bad {
		t.Errorf("%d malformed lines and %d suppressed, want a few lines and %d in all:\n%s", lines, suppressed, bad, lb)
	}
}

func TestServeStops(t *testing.T) {
	t.Run("cancel", func(t *testing.T) {
		s, err := ListenUDP("127.0.0.1:0", nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Serve(ctx, func(*osc.Message, netip.AddrPort) {}) }()
		// A second Serve on the same server is refused while the first runs.
		eventually(t, "Serve running", s.serving.Load)
		if err := s.Serve(ctx, func(*osc.Message, netip.AddrPort) {}); err == nil || !strings.Contains(err.Error(), "already running") {
			t.Errorf("second Serve: %v, want already running", err)
		}
		cancel()
		serveReturned(t, done, "cancel")
		if err := s.Close(); err != nil {
			t.Errorf("Close after Serve returned: %v", err)
		}
	})
	t.Run("close", func(t *testing.T) {
		s, err := ListenUDP("127.0.0.1:0", nil)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- s.Serve(context.Background(), func(*osc.Message, netip.AddrPort) {}) }()
		eventually(t, "Serve running", s.serving.Load)
		s.Close()
		s.Close()
		serveReturned(t, done, "Close")
	})
	t.Run("cancelled before", func(t *testing.T) {
		s, err := ListenUDP("127.0.0.1:0", nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := s.Serve(ctx, func(*osc.Message, netip.AddrPort) {}); err != nil {
			t.Errorf("Serve(cancelled ctx) = %v, want nil", err)
		}
	})
	t.Run("nil handler", func(t *testing.T) {
		s, err := ListenUDP("127.0.0.1:0", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Serve(context.Background(), nil); err == nil {
			t.Error("Serve(nil handler) = nil, want an error")
		}
	})
}

func TestListenErrors(t *testing.T) {
	s, err := ListenUDP("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct{ addr, want string }{
		{s.Addr().String(), "another program"},
		{"", "no address"},
		{"127.0.0.1", "want host:port"},
		{"127.0.0.1:notaport", "want host:port"},
	} {
		s2, err := ListenUDP(c.addr, nil)
		if err == nil {
			s2.Close()
			t.Errorf("ListenUDP(%q) succeeded, want an error with %q", c.addr, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("ListenUDP(%q): %v\nwant an error with %q", c.addr, err, c.want)
		}
	}
}

// TestEncodeToUDP sends every type go-osc encodes, encoded with
// codec.Encode, to a UDP transport.
func TestEncodeToUDP(t *testing.T) {
	s, ch, _ := serve(t, nil)
	c := dial(t, s)
	m := osc.NewMessage("/all", int32(-3), float32(0.25), "hi", []byte{1, 2, 3}, int64(1)<<40, 2.5, true, false, nil)
	p, err := codec.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	write(t, c, p)
	g := next(t, ch)
	if want := `/all ifsbhdTFN -3 0.250000 "hi" [3 bytes] 1099511627776 2.500000 #T #F Nil`; codec.Format(g.m) != want {
		t.Errorf("received %s, want %s", codec.Format(g.m), want)
	}
}

// BenchmarkServe sends one message at a time over loopback and waits for the
// handler: the cost of a datagram through Serve, allocations included.
func BenchmarkServe(b *testing.B) {
	u, err := ListenUDP("127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	ch := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Serve(ctx, func(*osc.Message, netip.AddrPort) { ch <- struct{}{} }) }()
	c, err := net.DialUDP("udp", nil, u.Addr().(*net.UDPAddr))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	p := msg("/led", ",i", be32(1))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(p); err != nil {
			b.Fatal(err)
		}
		<-ch
	}
	b.StopTimer()
	cancel()
	<-done
}

// A message dated further ahead than MaxAhead is refused and counted; one
// within it is held as usual.
func TestServeMaxAhead(t *testing.T) {
	s, ch, _ := serveWith(t, nil, WithMaxAhead(time.Minute))
	c := dial(t, s)
	write(t, c,
		bundle(ntp(time.Now().Add(2*time.Hour)), msg("/never", ",i", be32(1))),
		bundle(ntp(time.Now().Add(time.Second)), msg("/soon", ",i", be32(2))))
	if g := next(t, ch); codec.Format(g.m) != "/soon i 2" {
		t.Fatalf("got %s, want /soon i 2", codec.Format(g.m))
	}
	if st := s.Stats(); st.TooFarAhead != 1 || st.Scheduled != 1 {
		t.Errorf("Stats = %+v, want 1 too far ahead, 1 scheduled", st)
	}
}

// A sender may hold at most a quarter of the queue for future time tags,
// and messages that Hold refuses (routed nowhere) take no place at all: a
// legitimate cue still finds room.
func TestHoldShareAndFilter(t *testing.T) {
	var s scheduler
	now := time.Now()
	attacker := netip.MustParseAddrPort("10.0.0.66:9000")
	pkt := msg("/cue", ",i", be32(1))
	held := 0
	for i := 0; i < maxHeld; i++ {
		els, err := codec.Decode(pkt)
		if err != nil {
			t.Fatal(err)
		}
		els[0].At = now.Add(time.Hour)
		if s.push(now, els[0], attacker) {
			held++
		}
	}
	if held != maxHeld/4 {
		t.Errorf("one sender held %d, want a quarter of %d", held, maxHeld)
	}
	els, _ := codec.Decode(pkt)
	els[0].At = now.Add(time.Second)
	if !s.push(now, els[0], netip.MustParseAddrPort("10.0.0.5:9000")) {
		t.Error("a legitimate cue found no room")
	}

	// Hold: an unrouted address is not held. Dated an hour ahead, neither is
	// due while the test runs, however late the bundle is read.
	u, _, _ := serveWith(t, nil, WithHold(func(a string) bool { return a == "/go" }))
	c := dial(t, u)
	write(t, c, bundle(ntp(time.Now().Add(time.Hour)), msg("/nowhere", ",i", be32(1)), msg("/go", ",i", be32(2))))
	eventually(t, "the bundle read", func() bool { st := u.Stats(); return st.Scheduled+st.HeldDropped == 2 })
	if st := u.Stats(); st.Scheduled != 1 || st.HeldDropped != 1 {
		t.Errorf("Stats = %+v, want 1 scheduled, 1 dropped (routed nowhere)", st)
	}
}
