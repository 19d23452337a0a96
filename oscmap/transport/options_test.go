package transport

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/oscmap/codec"
)

// TestFilterRefusesBeforeDecoding lets one sender through and refuses the
// other, and datagrams over 64 bytes: refused datagrams are counted as
// filtered, never decoded (a malformed one is not counted as malformed) and
// never reach the handler.
func TestFilterRefusesBeforeDecoding(t *testing.T) {
	allowed, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer allowed.Close()
	other, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ok := allowed.LocalAddr().(*net.UDPAddr).AddrPort()
	var mu sync.Mutex
	var asked []int // sizes the filter saw from the allowed sender
	filter := func(from netip.AddrPort, size int) bool {
		if from != ok {
			return false
		}
		mu.Lock()
		asked = append(asked, size)
		mu.Unlock()
		return size <= 64
	}
	s, ch, lb := serveWith(t, nil, WithFilter(filter))
	to := s.Addr()
	send := func(c *net.UDPConn, p []byte) {
		t.Helper()
		if _, err := c.WriteTo(p, to); err != nil {
			t.Fatal(err)
		}
	}
	send(other, msg("/refused", ","))
	send(other, []byte("not OSC at all"))
	send(allowed, msg("/big", ",s", oscString(string(make([]byte, 100)))))
	send(allowed, msg("/ok", ",i", be32(1)))
	g := next(t, ch)
	if codec.Format(g.m) != "/ok i 1" || g.from != ok {
		t.Fatalf("handler got %s from %v first, want /ok i 1 from %v", codec.Format(g.m), g.from, ok)
	}
	st := s.Stats()
	if st.Packets != 4 || st.Filtered != 3 || st.Malformed != 0 || st.Messages != 1 {
		t.Errorf("Stats = %+v, want 4 packets, 3 filtered, 0 malformed, 1 message", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 2 || asked[0] != 116 || asked[1] != 12 {
		t.Errorf("the filter saw sizes %v from the allowed sender, want [116 12]", asked)
	}
	if strings.Contains(lb.String(), "malformed") {
		t.Errorf("a refused datagram was logged as malformed:\n%s", lb)
	}
}

// TestWriteToReplyFromHandler answers each message from the handler to its
// sender: the answer comes from the listening address, on an IPv4 socket and
// on one bound to every interface (IPv6 and IPv4).
func TestWriteToReplyFromHandler(t *testing.T) {
	for _, listen := range []string{"127.0.0.1:0", ":0"} {
		t.Run(listen, func(t *testing.T) {
			log, _ := testLogger()
			u, err := ListenUDP(listen, log)
			if err != nil {
				t.Fatal(err)
			}
			errs := make(chan error, 1)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- u.Serve(ctx, func(m *osc.Message, from netip.AddrPort) {
					if !from.Addr().Is4() {
						errs <- errors.New("sender " + from.String() + " is not an IPv4 address")
						return
					}
					p, err := codec.Encode(osc.NewMessage("/ack", m.Arguments...))
					if err == nil {
						err = u.WriteTo(p, from)
					}
					errs <- err
				})
			}()
			defer func() {
				cancel()
				serveReturned(t, done, "cancel")
			}()
			port := u.Addr().(*net.UDPAddr).Port
			peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Close()
			to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
			if _, err := peer.WriteTo(msg("/ping", ",i", be32(7)), to); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-errs:
				if err != nil {
					t.Fatalf("WriteTo from the handler: %v", err)
				}
			case <-time.After(wait):
				t.Fatal("the handler was not called")
			}
			peer.SetReadDeadline(time.Now().Add(wait))
			buf := make([]byte, 1500)
			n, from, err := peer.ReadFromUDP(buf)
			if err != nil {
				t.Fatal(err)
			}
			if from.Port != port {
				t.Errorf("answer from %v, want from the listening port %d", from, port)
			}
			els, err := codec.Decode(buf[:n])
			if err != nil || codec.Format(els[0].Msg) != "/ack i 7" {
				t.Errorf("answer %v %v, want /ack i 7", els, err)
			}
		})
	}
}

// TestServeWaitsForTheHandler cancels ctx while the handler is blocked: Serve
// returns only after the handler has returned, and no handler runs after.
func TestServeWaitsForTheHandler(t *testing.T) {
	u, err := ListenUDP("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	release := make(chan struct{})
	var mu sync.Mutex
	running, calls := false, 0
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- u.Serve(ctx, func(m *osc.Message, _ netip.AddrPort) {
			mu.Lock()
			running = true
			calls++
			first := calls == 1
			mu.Unlock()
			if first {
				close(entered)
				<-release
			}
			mu.Lock()
			running = false
			mu.Unlock()
		})
	}()
	c := dial(t, u)
	write(t, c, msg("/block", ","), msg("/after", ","), msg("/after", ","))
	<-entered
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Serve returned (%v) while the handler was running", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	serveReturned(t, done, "cancel")
	mu.Lock()
	defer mu.Unlock()
	if running {
		t.Error("the handler was running when Serve returned")
	}
	if calls != 1 {
		t.Errorf("the handler ran %d times: after the cancel, no message is handled", calls)
	}
}
