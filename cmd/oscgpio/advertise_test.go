package main

import (
	"net"
	"net/netip"
	"testing"
)

// The dashboard is advertised where it listens, which is not always where
// OSC does: by default it is on 127.0.0.1:5080 while `listen: 0.0.0.0:5005`
// puts OSC on the network.
func TestAdvertised(t *testing.T) {
	osc := &net.UDPAddr{IP: net.IPv4zero, Port: 5005}
	s := advertised(osc, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5080})
	if s.OSCPort != 5005 || s.Listen != netip.IPv4Unspecified() || s.HTTPPort != 5080 || s.HTTPListen != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("OSC on 0.0.0.0:5005, dashboard on 127.0.0.1:5080: %+v", s)
	}
	if s := advertised(osc, nil); s.HTTPPort != 0 || s.HTTPListen.IsValid() || s.OSCPort != 5005 {
		t.Errorf("no dashboard: %+v, want no HTTP port", s)
	}
	var none net.Addr // what dashboard.addr gives without a dashboard
	if s := advertised(osc, none); s.HTTPPort != 0 {
		t.Errorf("no dashboard: %+v", s)
	}
	if s := (&dashboard{}).addr(); s != nil {
		t.Errorf("addr of no dashboard = %v, want nil", s)
	}
}
