package e2e

import (
	"net"
	"testing"
	"time"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/oscmap/codec"
)

// peer is a UDP socket on 127.0.0.1:0 that sends OSC and collects what it
// receives, decoded, in arrival order: a stand-in for a show computer where
// a test needs to count, order or query (oscdump and Pd cover the rest).
type peer struct {
	t    *testing.T
	c    *net.UDPConn
	msgs chan *osc.Message
}

func newPeer(t *testing.T) *peer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadBuffer(4 << 20) // what the kernel grants; flow control keeps within it
	p := &peer{t: t, c: c, msgs: make(chan *osc.Message, 1<<16)}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, err := c.Read(buf)
			if err != nil {
				close(p.msgs)
				return
			}
			els, err := codec.Decode(buf[:n])
			if err != nil {
				continue
			}
			for _, e := range els {
				p.msgs <- e.Msg
			}
		}
	}()
	return p
}

func (p *peer) port() int { return p.c.LocalAddr().(*net.UDPAddr).Port }

// send sends m to 127.0.0.1:port from the peer's socket.
func (p *peer) send(port int, m *osc.Message) {
	p.t.Helper()
	b, err := codec.Encode(m)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.c.WriteToUDP(b, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}); err != nil {
		p.t.Fatal(err)
	}
}

// next returns the next message received, or fails the test after wait.
func (p *peer) next() *osc.Message {
	p.t.Helper()
	select {
	case m, ok := <-p.msgs:
		if !ok {
			p.t.Fatal("the peer's socket closed")
		}
		return m
	case <-time.After(wait):
		p.t.Fatalf("the peer received nothing within %v", wait)
	}
	return nil
}

// expect fails the test unless the next message received formats as want.
func (p *peer) expect(want string) {
	p.t.Helper()
	if got := codec.Format(p.next()); got != want {
		p.t.Fatalf("received %q, want %q", got, want)
	}
}

// nothingPending fails the test if a message has arrived and not been read.
// Call it after a fence: a message that must arrive after anything unwanted.
func (p *peer) nothingPending() {
	p.t.Helper()
	select {
	case m := <-p.msgs:
		p.t.Fatalf("received %s, want nothing", codec.Format(m))
	default:
	}
}

// stats asks the bridge on port for its counters (/oscgpio/stats, answered
// to the sender) and returns them. Use a peer that receives nothing else.
func (p *peer) stats(port int) map[string]int {
	p.t.Helper()
	p.send(port, osc.NewMessage("/oscgpio/stats"))
	m := p.next()
	if m.Address != "/oscgpio/stats" || len(m.Arguments)%2 != 0 {
		p.t.Fatalf("stats reply %s", codec.Format(m))
	}
	out := map[string]int{}
	for i := 0; i < len(m.Arguments); i += 2 {
		name, ok1 := m.Arguments[i].(string)
		v, ok2 := m.Arguments[i+1].(int32)
		if !ok1 || !ok2 {
			p.t.Fatalf("stats reply %s: want pairs of s and i", codec.Format(m))
		}
		out[name] = int(v)
	}
	return out
}

// waitStats polls the bridge's counters until ok accepts them.
func (p *peer) waitStats(port int, what string, ok func(map[string]int) bool) map[string]int {
	p.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		st := p.stats(port)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("bridge counters never showed %s: %v", what, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
