package transport

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"testing"

	"github.com/hypebeast/go-osc/osc"
)

func TestSelfAddrs(t *testing.T) {
	one := selfAddrs(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5005})
	every := selfAddrs(&net.UDPAddr{IP: net.IPv4zero, Port: 5005})
	for _, c := range []struct {
		s    selfSet
		from string
		want bool
	}{
		{one, "127.0.0.1:5005", true},
		{one, "127.0.0.1:5006", false},
		{one, "127.0.0.2:5005", false},
		{every, "127.0.0.2:5005", true},
		{every, "[::1]:5005", true},
		{every, "[::ffff:127.0.0.1]:5005", true},
		{every, "127.0.0.1:9000", false},
		{every, "192.0.2.1:5005", false}, // TEST-NET-1: not an address of this host
	} {
		if got := c.s.has(netip.MustParseAddrPort(c.from)); got != c.want {
			t.Errorf("bound %v: has(%s) = %v, want %v", c.s.any, c.from, got, c.want)
		}
	}
}

// A datagram from the socket's own link-local address arrives with the
// interface as its zone (fe80::1%eth0): it is still the socket itself; the
// same address on another link (fe80::1%eth1) is another host.
func TestSelfAddrsLinkLocal(t *testing.T) {
	one := selfAddrs(&net.UDPAddr{IP: net.ParseIP("fe80::1"), Zone: "eth0", Port: 5005})
	every := selfSet{port: 5005, any: true, ips: map[netip.Addr]bool{netip.MustParseAddr("fe80::1%eth0"): true}}
	for _, s := range []selfSet{one, every} {
		if !s.has(netip.MustParseAddrPort("[fe80::1%eth0]:5005")) {
			t.Errorf("bound %v: [fe80::1%%eth0]:5005 is not taken for the socket itself", s.any)
		}
		for _, other := range []string{"[fe80::2%eth0]:5005", "[fe80::1%eth1]:5005"} {
			if s.has(netip.MustParseAddrPort(other)) {
				t.Errorf("bound %v: another host's link-local address %s is taken for the socket itself", s.any, other)
			}
		}
	}
}

// The same through a real socket on every interface: what it sends to its
// own link-local address is held to the loop limit.
func TestLoopLimitLinkLocal(t *testing.T) {
	var to netip.AddrPort
	ifs, _ := net.Interfaces()
	for _, ifc := range ifs {
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() == nil && n.IP.IsLinkLocalUnicast() && ifc.Flags&net.FlagUp != 0 && !to.IsValid() {
				ip, _ := netip.AddrFromSlice(n.IP)
				to = netip.AddrPortFrom(ip.WithZone(ifc.Name), 0)
			}
		}
	}
	if !to.IsValid() {
		t.Skip("no IPv6 link-local address on this host")
	}
	s, err := ListenUDP("[::]:0", slog.New(slog.DiscardHandler), WithLoopLimit(RateLimit{Rate: 0.001, Burst: 1}))
	if err != nil {
		t.Skipf("no IPv6 socket: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, func(*osc.Message, netip.AddrPort) {}) }()
	defer func() { cancel(); serveReturned(t, done, "cancel") }()
	to = netip.AddrPortFrom(to.Addr(), uint16(s.Addr().(*net.UDPAddr).Port))
	for range 5 {
		if err := s.WriteTo(msg("/loop", ","), to); err != nil {
			t.Skipf("cannot send to %v: %v", to, err)
		}
	}
	eventually(t, "5 datagrams read", func() bool { return s.Stats().Packets == 5 })
	if st := s.Stats(); st.LoopLimited != 4 {
		t.Errorf("sent 5 to its own %v with a loop limit of burst 1: loop_limited %d, want 4 (received from %v)", to, st.LoopLimited, s.TopSenders(1))
	}
}
