package sender

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

const wait = 10 * time.Second

// udpWriter writes from a real socket bound to port 0.
func udpWriter(t *testing.T) Writer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return func(b []byte, to netip.AddrPort) error {
		_, err := c.WriteToUDPAddrPort(b, to)
		return err
	}
}

// receiver is a UDP socket on port 0 and what it received, in order.
type receiver struct {
	c   *net.UDPConn
	got chan string
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := &receiver{c: c, got: make(chan string, 1000)}
	go func() {
		buf := make([]byte, 2048)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			r.got <- string(buf[:n])
		}
	}()
	return r
}

func (r *receiver) port() int { return r.c.LocalAddr().(*net.UDPAddr).Port }

func (r *receiver) expect(t *testing.T, want ...string) {
	t.Helper()
	for _, w := range want {
		select {
		case g := <-r.got:
			if g != w {
				t.Fatalf("received %q, want %q", g, w)
			}
		case <-time.After(wait):
			t.Fatalf("nothing received within %v, want %q", wait, w)
		}
	}
}

func TestSendToIP(t *testing.T) {
	r := newReceiver(t)
	s := New(udpWriter(t), Options{})
	defer s.Close()
	if err := s.Set([]Dest{{"monitor", fmt.Sprintf("127.0.0.1:%d", r.port())}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if err := s.Send("monitor", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 100; i++ {
		r.expect(t, fmt.Sprint(i))
	}
	if st := s.Stats(); st.Sent != 100 || st.Dropped != 0 || st.Errors != 0 {
		t.Errorf("Stats = %+v, want 100 sent", st)
	}
	if err := s.Send("nobody", []byte("x")); err == nil {
		t.Error("Send to an unknown destination = nil, want an error")
	}
}

// A resolver that never answers delays nothing: Send returns at once, the
// other destination gets its messages, and Close does not wait for it.
func TestUnansweredLookupBlocksNothing(t *testing.T) {
	r := newReceiver(t)
	stuck := make(chan struct{})
	defer close(stuck)
	resolve := func(ctx context.Context, host string) ([]netip.Addr, error) {
		select {
		case <-stuck:
		case <-ctx.Done():
		}
		return nil, errors.New("no answer")
	}
	s := New(udpWriter(t), Options{Resolve: resolve})
	err := s.Set([]Dest{{"lost", "nowhere.invalid:9000"}, {"monitor", fmt.Sprintf("127.0.0.1:%d", r.port())}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		for i := 0; i < 10; i++ {
			s.Send("lost", []byte("x"))
			s.Send("monitor", []byte(fmt.Sprint(i)))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("Send blocked on a lookup that does not answer")
	}
	for i := 0; i < 10; i++ {
		r.expect(t, fmt.Sprint(i))
	}
	if st, _ := s.DestStats("lost"); st.Queued != 10 {
		t.Errorf("lost: %+v, want 10 queued", st)
	}
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(wait):
		t.Fatal("Close waited for a lookup that does not answer")
	}
}

// A host name that fails twice then resolves: the queued messages go out in
// order, with back-off between the lookups.
func TestLookupRetriedThenDelivered(t *testing.T) {
	r := newReceiver(t)
	var mu sync.Mutex
	calls := 0
	resolve := func(ctx context.Context, host string) ([]netip.Addr, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls < 3 {
			return nil, &net.DNSError{Err: "server misbehaving", Name: host, IsTemporary: true}
		}
		return []netip.Addr{netip.MustParseAddr("::1"), netip.MustParseAddr("127.0.0.1")}, nil
	}
	s := New(udpWriter(t), Options{Resolve: resolve, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
	defer s.Close()
	if err := s.Set([]Dest{{"max", fmt.Sprintf("max.local:%d", r.port())}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		s.Send("max", []byte(fmt.Sprint(i)))
	}
	r.expect(t, "0", "1", "2", "3", "4")
	s.Send("max", []byte("5"))
	r.expect(t, "5")
	mu.Lock()
	defer mu.Unlock()
	if calls != 3 {
		t.Errorf("%d lookups, want 3", calls)
	}
}

// A full socket buffer queues; a full queue drops its oldest, counted; the
// rest go out in order once the socket drains.
func TestFullQueueDropsOldest(t *testing.T) {
	var mu sync.Mutex
	full := true
	var out []string
	got := make(chan struct{}, 100)
	w := func(b []byte, to netip.AddrPort) error {
		mu.Lock()
		defer mu.Unlock()
		if full {
			return fmt.Errorf("sendto: %w", syscall.EAGAIN)
		}
		out = append(out, string(b))
		got <- struct{}{}
		return nil
	}
	s := New(w, Options{Queue: 4})
	defer s.Close()
	s.Set([]Dest{{"d", "127.0.0.1:9"}})
	for i := 0; i < 10; i++ {
		if err := s.Send("d", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); st.Dropped != 6 || st.Queued != 4 {
		t.Errorf("Stats = %+v, want 6 dropped, 4 queued", st)
	}
	mu.Lock()
	full = false
	mu.Unlock()
	for i := 0; i < 4; i++ {
		select {
		case <-got:
		case <-time.After(wait):
			t.Fatal("the queue was not sent after the socket drained")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"6", "7", "8", "9"}; !slices.Equal(out, want) {
		t.Errorf("sent %q, want %q", out, want)
	}
}

func TestSetKeepsUnchanged(t *testing.T) {
	s := New(func([]byte, netip.AddrPort) error { return fmt.Errorf("x: %w", syscall.EAGAIN) }, Options{})
	defer s.Close()
	s.Set([]Dest{{"a", "127.0.0.1:1000"}, {"b", "127.0.0.1:2000"}})
	s.Send("a", []byte("1"))
	s.Send("b", []byte("1"))
	a := (*s.dests.Load())["a"]
	if err := s.Set([]Dest{{"a", "127.0.0.1:1000"}, {"b", "127.0.0.1:2001"}, {"c", "bad"}}); err == nil {
		t.Error("Set with a bad address = nil, want an error")
	}
	if (*s.dests.Load())["a"] != a {
		t.Error("an unchanged destination was replaced")
	}
	if st, _ := s.DestStats("a"); st.Queued != 1 {
		t.Errorf("a lost its queue: %+v", st)
	}
	if st := s.Stats(); st.Dropped != 1 {
		t.Errorf("Stats = %+v, want the changed destination's message dropped", st)
	}
	if _, ok := s.DestStats("c"); ok {
		t.Error("a destination with a bad address was set")
	}
}
