package discovery

import (
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"

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

// A name is cut to a DNS label's 63 bytes between two characters.
func TestClipLabel(t *testing.T) {
	for _, n := range []string{"oscgpio on " + strings.Repeat("h", 53), "oscgpio on " + strings.Repeat("é", 30), "oscgpio on " + strings.Repeat("舞", 20)} {
		got := clipLabel(n)
		if len(got) > maxLabel || len(got) < maxLabel-3 || !utf8.ValidString(got) || !strings.HasPrefix(n, got) {
			t.Errorf("clipLabel(%q) = %q (%d bytes)", n, got, len(got))
		}
	}
	if got := clipLabel("oscgpio on pi"); got != "oscgpio on pi" {
		t.Errorf("clipLabel of a short name = %q", got)
	}
}
