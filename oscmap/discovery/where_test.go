package discovery

import (
	"net/netip"
	"testing"

	avahi "github.com/holoplot/go-avahi"
)

// Each service is published where its own server can be reached: OSC on
// every interface and the HTTP server on loopback put _oscjson._tcp on the
// loopback interface only (on the network it would point at a port nobody
// there can open); HTTPListen unset follows Listen.
func TestWhereHTTP(t *testing.T) {
	lo, _, loName := whereAt(netip.MustParseAddr("127.0.0.1"))
	if lo == avahi.InterfaceUnspec || loName == "" {
		t.Fatalf("whereAt(127.0.0.1) found no loopback interface")
	}
	for _, c := range []struct {
		s           Service
		iface, prot int32
	}{
		{Service{Listen: netip.IPv4Unspecified(), HTTPListen: netip.MustParseAddr("127.0.0.1")}, lo, avahi.ProtoInet},
		{Service{Listen: netip.IPv4Unspecified(), HTTPListen: netip.IPv6Unspecified()}, avahi.InterfaceUnspec, avahi.ProtoUnspec},
		{Service{Listen: netip.IPv4Unspecified()}, avahi.InterfaceUnspec, avahi.ProtoUnspec},
		{Service{Listen: netip.MustParseAddr("127.0.0.1")}, lo, avahi.ProtoInet},
		{Service{Listen: netip.MustParseAddr("127.0.0.1"), HTTPListen: netip.IPv4Unspecified()}, avahi.InterfaceUnspec, avahi.ProtoUnspec},
	} {
		if iface, proto := c.s.whereHTTP(); iface != c.iface || proto != c.prot {
			t.Errorf("%+v: _oscjson._tcp on interface %d protocol %d, want %d, %d", c.s, iface, proto, c.iface, c.prot)
		}
	}
	if iface, _, _ := (Service{Listen: netip.IPv4Unspecified(), HTTPListen: netip.MustParseAddr("127.0.0.1")}).where(); iface != avahi.InterfaceUnspec {
		t.Errorf("_osc._udp of a bridge on 0.0.0.0 on interface %d, want every interface", iface)
	}
}
