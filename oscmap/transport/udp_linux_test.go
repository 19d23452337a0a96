//go:build linux

package transport

import (
	"context"
	"errors"
	"net/netip"
	"regexp"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hypebeast/go-osc/osc"
)

// TestUDPKernelDropsTail overflows a tiny receive buffer while the handler
// is blocked (nobody reads the socket), then lets Serve read again, and
// checks that every datagram is either received or counted in
// Stats.KernelDrops, without sending anything after the burst: the drops at
// the end of a burst are counted too.
func TestUDPKernelDropsTail(t *testing.T) {
	log, lb := testLogger()
	s, err := ListenUDP("127.0.0.1:0", log)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.sock.dropsOK {
		t.Skip("this kernel does not report drops at the socket (SO_MEMINFO)")
	}
	if s.rcvbuf <= 0 {
		t.Errorf("receive buffer granted %d bytes: not read back", s.rcvbuf)
	}
	if err := s.conn.SetReadBuffer(1); err != nil { // the kernel's minimum: a few datagrams
		t.Fatal(err)
	}
	entered := make(chan struct{})
	release := make(chan struct{})
	var received atomic.Uint64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.Serve(ctx, func(m *osc.Message, _ netip.AddrPort) {
			if m.Address == "/first" {
				close(entered)
				<-release
			}
			received.Add(1)
		})
	}()
	defer func() {
		cancel()
		serveReturned(t, done, "cancel")
	}()
	c := dial(t, s)
	write(t, c, msg("/first", ","))
	select {
	case <-entered:
	case <-time.After(wait):
		t.Fatal("the first message did not reach the handler")
	}
	const burst = 300
	for range burst {
		write(t, c, msg("/x", ",i", be32(1)))
	}
	close(release)
	const sent = burst + 1
	eventually(t, "every datagram received or counted as dropped, with nothing sent after the burst", func() bool {
		st := s.Stats()
		return st.Packets+st.KernelDrops == sent && received.Load() == st.Packets
	})
	st := s.Stats()
	if st.KernelDrops == 0 {
		t.Fatalf("no drops counted: %+v", st)
	}
	t.Logf("Stats after a burst of %d: %+v", sent, st)
	// The warning says the total, once the watcher has logged everything.
	eventually(t, "a warning with the total", func() bool {
		m := regexp.MustCompile(`level=WARN msg="packets dropped by the kernel[^"]*" addr=\S+ new=\d+ total=(\d+)`).FindAllStringSubmatch(lb.String(), -1)
		return len(m) > 0 && m[len(m)-1][1] == strconv.FormatUint(st.KernelDrops, 10)
	})
}

// TestWriteToNeverWaits plays a full send buffer (EAGAIN from sendto, which
// loopback never gives): WriteTo returns at once with ErrWouldBlock, and it
// asked the kernel not to wait (MSG_DONTWAIT).
func TestWriteToNeverWaits(t *testing.T) {
	u, err := ListenUDP("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	var flags int
	sendtoFault = func(f int) error {
		flags = f
		return syscall.EAGAIN
	}
	defer func() { sendtoFault = nil }()
	err = u.WriteTo([]byte("/x\x00\x00,\x00\x00\x00"), netip.MustParseAddrPort("127.0.0.1:9"))
	if !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("WriteTo with a full send buffer: %v, want ErrWouldBlock", err)
	}
	if flags&syscall.MSG_DONTWAIT == 0 {
		t.Errorf("sendto flags %#x, want MSG_DONTWAIT", flags)
	}
	sendtoFault = nil
	if err := u.WriteTo([]byte("/x\x00\x00,\x00\x00\x00"), netip.AddrPort{}); err == nil {
		t.Error("WriteTo(no address) = nil, want an error")
	}
	if err := u.WriteTo([]byte("/x\x00\x00,\x00\x00\x00"), netip.MustParseAddrPort("[::1]:9")); err == nil {
		t.Error("WriteTo(IPv6) from an IPv4 socket = nil, want an error")
	}
}
