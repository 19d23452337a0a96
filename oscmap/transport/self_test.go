package transport

import (
	"net"
	"net/netip"
	"testing"
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
