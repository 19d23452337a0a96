//go:build linux

package transport

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hypebeast/go-osc/osc"
	"github.com/oscgpio/oscgpio/oscmap/codec"
)

// withUserspaceAllow keeps Options.Allow out of the kernel.
func withUserspaceAllow() Option { return func(o *Options) { o.userspaceAllow = true } }

// sender binds a client socket to ip (Linux loopback answers the whole
// 127.0.0.0/8) and sends to s.
func sender(t testing.TB, ip string, s *UDP) *net.UDPConn {
	t.Helper()
	to := s.Addr().(*net.UDPAddr)
	dst := &net.UDPAddr{IP: net.ParseIP("127.0.0.1"), Port: to.Port}
	if strings.Contains(ip, ":") {
		dst.IP = net.ParseIP("::1")
	}
	c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)}, dst)
	if err != nil {
		t.Skipf("cannot send from %s: %v", ip, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestAllowInKernel sends a flood from a sender not allowed before Serve
// runs: with the kernel filter nothing is queued (the receive buffer stays
// empty) and Serve never sees it; without it, the flood is queued, read and
// counted per sender. The allowed sender gets through both ways, on an IPv4
// and a dual-stack socket.
func TestAllowInKernel(t *testing.T) {
	for _, c := range []struct {
		name, listen string
		kernel       bool
	}{
		{"ipv4 kernel", "127.0.0.1:0", true},
		{"dual-stack kernel", "[::]:0", true},
		{"ipv4 userspace", "127.0.0.1:0", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			allow, err := ParseAllow("127.0.0.2", "fd00::/8")
			if err != nil {
				t.Fatal(err)
			}
			opts := []Option{WithAllow(allow)}
			if !c.kernel {
				opts = append(opts, withUserspaceAllow())
			}
			log, lb := testLogger()
			s, err := ListenUDP(c.listen, log, opts...)
			if err != nil {
				t.Skipf("listen %s: %v", c.listen, err)
			}
			defer s.Close()
			if s.KernelAllow() != c.kernel {
				t.Fatalf("KernelAllow() = %v, want %v; log:\n%s", s.KernelAllow(), c.kernel, lb)
			}
			want := "allow list installed in the kernel"
			if !c.kernel {
				want = "allow list checked for each datagram by the bridge"
			}
			if !strings.Contains(lb.String(), want) {
				t.Errorf("the log does not say %q:\n%s", want, lb)
			}
			good, bad := sender(t, "127.0.0.2", s), sender(t, "127.0.0.3", s)
			const flood = 500
			for range flood {
				write(t, bad, msg("/relay", ",i", be32(1)))
			}
			queued := rmemAlloc(t, s.conn)
			if c.kernel && queued != 0 {
				t.Errorf("%d bytes queued after a denied flood: the kernel filter let it in", queued)
			}
			if !c.kernel && queued == 0 {
				t.Errorf("nothing queued after a denied flood without the kernel filter")
			}
			write(t, good, msg("/ok", ","))
			var got atomic.Int32
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- s.Serve(ctx, func(m *osc.Message, from netip.AddrPort) {
					if m.Address != "/ok" || from.Addr() != addr("127.0.0.2") {
						t.Errorf("handler got %s from %v", m.Address, from)
					}
					got.Add(1)
				})
			}()
			eventually(t, "the allowed message handled", func() bool { return got.Load() == 1 })
			cancel()
			serveReturned(t, done, "cancel")
			st := s.Stats()
			t.Logf("%+v", st)
			if c.kernel {
				if st.Packets != 1 || st.Denied != 0 {
					t.Errorf("Stats = %+v: the denied flood reached Serve", st)
				}
				if st.KernelDrops != flood {
					t.Errorf("KernelDrops = %d, want the %d denied datagrams (Linux counts filter drops with the socket's)", st.KernelDrops, flood)
				}
				if top := s.DeniedSenders(3); len(top) != 0 {
					t.Errorf("DeniedSenders = %v, want none seen", top)
				}
			} else {
				if st.Packets != flood+1 || st.Denied != flood || st.KernelDrops != 0 {
					t.Errorf("Stats = %+v, want %d packets, %d denied", st, flood+1, flood)
				}
				if top := s.DeniedSenders(3); len(top) != 1 || top[0] != (SenderCount{addr("127.0.0.3"), flood}) {
					t.Errorf("DeniedSenders = %v, want 127.0.0.3: %d", top, flood)
				}
			}
		})
	}
}

// TestAllowInKernelIPv6 allows ::1 on a dual-stack socket: it and the
// allowed IPv4 sender get through, 127.0.0.3 is dropped by the kernel.
func TestAllowInKernelIPv6(t *testing.T) {
	allow, _ := ParseAllow("::1", "127.0.0.2")
	s, ch, _ := serveWithAt(t, "[::]:0", WithAllow(allow))
	if !s.KernelAllow() {
		t.Fatal("the filter is not installed on a dual-stack socket")
	}
	write(t, sender(t, "127.0.0.3", s), msg("/no", ","))
	write(t, sender(t, "::1", s), msg("/v6", ","))
	write(t, sender(t, "127.0.0.2", s), msg("/v4", ","))
	if g := next(t, ch); g.m.Address != "/v6" || g.from.Addr() != addr("::1") {
		t.Errorf("first: %s from %v, want /v6 from ::1", g.m.Address, g.from)
	}
	if g := next(t, ch); g.m.Address != "/v4" {
		t.Errorf("second: %s from %v, want /v4", g.m.Address, g.from)
	}
	if st := s.Stats(); st.Packets != 2 || st.Denied != 0 {
		t.Errorf("Stats = %+v", st)
	}
}

// serveWithAt is serveWith on listen.
func serveWithAt(t *testing.T, listen string, opts ...Option) (*UDP, <-chan got, *logBuf) {
	t.Helper()
	log, lb := testLogger()
	s, err := ListenUDP(listen, log, opts...)
	if err != nil {
		t.Skipf("listen %s: %v", listen, err)
	}
	ch := make(chan got, 100000)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.Serve(ctx, func(m *osc.Message, from netip.AddrPort) { ch <- got{codec.Clone(m), from, time.Now()} })
	}()
	t.Cleanup(func() {
		cancel()
		serveReturned(t, done, "cancel")
	})
	return s, ch, lb
}

// withUserspaceAllowIfAny keeps Allow in userspace, so that Stats.Denied
// counts the denied datagrams.
func withUserspaceAllowIfAny() Option { return withUserspaceAllow() }
