package oscmap

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/oscmap/codec"
)

func listenUDP(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedPort is a UDP port on 127.0.0.1 where nothing listens.
func closedPort(t *testing.T) string {
	c := listenUDP(t)
	addr := c.LocalAddr().String()
	c.Close()
	return addr
}

// TestSenderOneSocketDespitePortUnreachable sends to a port where nothing
// listens (the kernel answers ICMP port unreachable) between sends to a
// listener: every send succeeds, and all come from the same socket.
func TestSenderOneSocketDespitePortUnreachable(t *testing.T) {
	rx := listenUDP(t)
	dead := closedPort(t)
	s, err := NewSender(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 5
	for i := range n {
		if err := s.Send(dead, osc.NewMessage("/nobody", int32(i))); err != nil {
			t.Fatalf("send %d to %s, where nothing listens: %v", i, dead, err)
		}
		if err := s.Send(rx.LocalAddr().String(), osc.NewMessage("/x", int32(i))); err != nil {
			t.Fatalf("send %d after one to a closed port: %v", i, err)
		}
	}
	var source string
	buf := make([]byte, 1500)
	rx.SetReadDeadline(time.Now().Add(wait))
	for i := range n {
		k, from, err := rx.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		els, err := codec.Decode(buf[:k])
		if err != nil {
			t.Fatal(err)
		}
		if got, want := codec.Format(els[0].Msg), "/x i "+string(rune('0'+i)); got != want {
			t.Errorf("received %s, want %s", got, want)
		}
		if source == "" {
			source = from.String()
		} else if from.String() != source {
			t.Errorf("message %d came from %s, the first from %s: a new socket per message", i, from, source)
		}
	}
	if len(s.addrs) != 2 {
		t.Errorf("%d destinations cached, want 2", len(s.addrs))
	}
}

func TestSenderErrors(t *testing.T) {
	rx := listenUDP(t).LocalAddr().String()
	s, err := NewSender(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		to   string
		m    *osc.Message
		want string
	}{
		{"localhost", osc.NewMessage("/x"), `destination "localhost" is not host:port`},
		{"127.0.0.1:0", osc.NewMessage("/x"), "port 0"},
		{"127.0.0.1:notaport", osc.NewMessage("/x"), `destination "127.0.0.1:notaport"`},
		{rx, nil, "nil OSC message"},
		{rx, osc.NewMessage("x"), "must start with '/'"},
		{rx, osc.NewMessage("/x", 42), "cannot encode"},
		{rx, osc.NewMessage("/x", make([]byte, 70000)), "more than the 65507"},
	} {
		err := s.Send(c.to, c.m)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Send(%q, %s) = %v, want an error with %q", c.to, codec.Format(c.m), err, c.want)
		}
	}
	s.Close()
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Send(rx, osc.NewMessage("/x")); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Send after Close = %v, want an error saying closed", err)
	}
}
