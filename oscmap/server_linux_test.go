//go:build linux

package oscmap

import (
	"context"
	"net"
	"testing"

	"github.com/hypebeast/go-osc/osc"
)

// TestServeKernelDrops overflows a tiny receive buffer before Serve reads
// it, and checks that the kernel's drops show in Stats.KernelDrops and that
// every datagram is either read or counted as dropped.
func TestServeKernelDrops(t *testing.T) {
	s, err := Listen("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.dropsOK {
		t.Skip("this kernel does not report drops at the socket (SO_RXQ_OVFL)")
	}
	if s.rcvbuf <= 0 {
		t.Errorf("receive buffer granted %d bytes: not read back", s.rcvbuf)
	}
	if err := s.conn.SetReadBuffer(1); err != nil { // the kernel's minimum: a few datagrams
		t.Fatal(err)
	}
	c := dial(t, s)
	const burst = 300
	for range burst {
		write(t, c, msg("/x", ",i", be32(1)))
	}
	ch := make(chan string, burst+1000)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, func(m *osc.Message, _ net.Addr) { ch <- m.Address }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()

	// The kernel reports drops with the next datagram it delivers: send
	// more until every datagram sent is accounted for.
	sent := burst
	eventually(t, "every datagram read or counted as dropped", func() bool {
		write(t, c, msg("/end", ","))
		sent++
		st := s.Stats()
		return st.KernelDrops > 0 && st.Packets+st.KernelDrops == uint64(sent)
	})
	t.Logf("Stats after %d datagrams: %+v", sent, s.Stats())
}
