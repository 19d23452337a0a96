//go:build linux

package transport

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hypebeast/go-osc/osc"
	"github.com/oscgpio/oscgpio/oscmap/codec"
)

// TestBatchRead queues datagrams before Serve runs, so that recvmmsg reads
// them several at a time (more than readBatch in all): each message comes
// out in order, whole (a 65000-byte one included), with its sender's
// address and port, on an IPv4 and a dual-stack socket; a malformed and an
// empty datagram in between are counted and skipped.
func TestBatchRead(t *testing.T) {
	for _, c := range []struct{ listen, v6 string }{{"127.0.0.1:0", ""}, {"[::]:0", "::1"}} {
		t.Run(c.listen, func(t *testing.T) {
			log, _ := testLogger()
			s, err := ListenUDP(c.listen, log)
			if err != nil {
				t.Fatal(err)
			}
			senders := []*net.UDPConn{sender(t, "127.0.0.2", s), sender(t, "127.0.0.3", s)}
			if c.v6 != "" {
				senders = append(senders, sender(t, c.v6, s))
			}
			from := func(c *net.UDPConn) netip.AddrPort {
				a := c.LocalAddr().(*net.UDPAddr).AddrPort()
				return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
			}
			big := make([]byte, 65000)
			big[64999] = 7
			write(t, senders[0], msg("/big", ",b", be32(uint32(len(big))), big))
			const n = 3*readBatch + 5
			for i := range n {
				write(t, senders[i%len(senders)], msg(fmt.Sprintf("/m/%d", i), ",i", be32(uint32(i))))
				switch i {
				case 10:
					write(t, senders[0], []byte("garbage!"))
				case 20:
					write(t, senders[1], nil)
				}
			}
			type call struct {
				m    *osc.Message
				from netip.AddrPort
			}
			calls := make(chan call, n+1)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- s.Serve(ctx, func(m *osc.Message, from netip.AddrPort) { calls <- call{codec.Clone(m), from} })
			}()
			defer func() { cancel(); serveReturned(t, done, "cancel") }()
			first := <-calls
			if b, ok := first.m.Arguments[0].([]byte); first.m.Address != "/big" || !ok || len(b) != len(big) || b[64999] != 7 || first.from != from(senders[0]) {
				t.Fatalf("first call: %s with %d arguments from %v, want /big with the 65000-byte blob from %v", first.m.Address, len(first.m.Arguments), first.from, from(senders[0]))
			}
			for i := range n {
				got := <-calls
				if want := fmt.Sprintf("/m/%d", i); got.m.Address != want || got.from != from(senders[i%len(senders)]) {
					t.Fatalf("call %d: %s from %v, want %s from %v", i+1, got.m.Address, got.from, want, from(senders[i%len(senders)]))
				}
			}
			eventually(t, "every datagram counted", func() bool { return s.Stats().Packets == n+3 })
			if st := s.Stats(); st.Malformed != 2 || st.Messages != n+1 {
				t.Errorf("stats %+v: want 2 malformed (garbage, empty), %d messages", st, n+1)
			}
		})
	}
}

// With one processor and a backlog of datagrams, Serve lets other goroutines
// run after every yieldEvery datagrams: an input's watcher or a sender waits
// for at most that many messages, not for the scheduler's 10 ms preemption (on a
// Pi, the kernel keeps only 16 events of a GPIO line for its reader).
func TestServeYieldsBetweenBatches(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	log, _ := testLogger()
	s, err := ListenUDP("127.0.0.1:0", log)
	if err != nil {
		t.Fatal(err)
	}
	c := sender(t, "127.0.0.2", s)
	const n = 50 * readBatch
	for i := range n { // the backlog, queued before Serve reads
		write(t, c, msg("/m", ",i", be32(uint32(i))))
	}
	var handled atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.Serve(ctx, func(*osc.Message, netip.AddrPort) { handled.Add(1) })
	}()
	defer func() { cancel(); serveReturned(t, done, "cancel") }()
	// Each time this goroutine runs it notes how many messages were served
	// since it last ran.
	var last, maxGap int64
	for deadline := time.Now().Add(wait); last < n; runtime.Gosched() {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages served", last, n)
		}
		now := handled.Load()
		maxGap = max(maxGap, now-last)
		last = now
	}
	// One turn of yieldEvery, or two when the scheduler's queues put this
	// goroutine behind the reader's next turn; without the yield, every
	// message.
	if maxGap > 2*yieldEvery {
		t.Errorf("another goroutine waited while %d messages were served, want at most %d (two turns)", maxGap, 2*yieldEvery)
	}
}
