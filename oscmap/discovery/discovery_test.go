package discovery_test

import (
	"net"
	"net/netip"
	"os"
	"testing"

	"github.com/oscgpio/oscgpio/oscmap/discovery"
)

// ServiceAt takes the port and address from the bridge's UDP address: a
// loopback address is advertised on the loopback interface only, an
// unspecified one everywhere.
func TestServiceAt(t *testing.T) {
	for _, c := range []struct {
		addr     *net.UDPAddr
		loopback bool
	}{
		{&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5005}, true},
		{&net.UDPAddr{IP: net.ParseIP("::1"), Port: 5005}, true},
		{&net.UDPAddr{IP: net.IPv4zero, Port: 5005}, false},
		{&net.UDPAddr{IP: net.IPv6unspecified, Port: 5005}, false},
	} {
		s := discovery.ServiceAt(c.addr, 8765)
		if s.OSCPort != 5005 || s.HTTPPort != 8765 || s.Name != "" {
			t.Errorf("ServiceAt(%v, 8765) = %+v, want ports 5005 and 8765, the default name", c.addr, s)
		}
		if s.Listen != netip.MustParseAddr(c.addr.IP.String()).Unmap() {
			t.Errorf("ServiceAt(%v).Listen = %v", c.addr, s.Listen)
		}
		if s.LoopbackOnly() != c.loopback {
			t.Errorf("ServiceAt(%v).LoopbackOnly() = %v, want %v", c.addr, s.LoopbackOnly(), c.loopback)
		}
	}
	// A dashboard on every interface beside OSC on loopback is on the network.
	lo := discovery.Service{OSCPort: 5005, HTTPPort: 5080, Listen: netip.MustParseAddr("127.0.0.1")}
	if lo.HTTPListen = netip.IPv4Unspecified(); lo.LoopbackOnly() {
		t.Errorf("%+v: LoopbackOnly, but _oscjson._tcp is published on every interface", lo)
	}
	if lo.HTTPListen = netip.MustParseAddr("::1"); !lo.LoopbackOnly() {
		t.Errorf("%+v: not LoopbackOnly", lo)
	}
	h, _ := os.Hostname()
	if got := discovery.DefaultName(); got != "oscgpio on "+h {
		t.Errorf("DefaultName() = %q, want %q", got, "oscgpio on "+h)
	}
}
