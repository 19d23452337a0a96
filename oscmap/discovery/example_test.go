package discovery_test

import (
	"context"
	"log/slog"
	"net"

	"github.com/oscgpio/oscgpio/oscmap/discovery"
)

// Advertising a bridge's OSC port and its HTTP (OSCQuery) port through
// Avahi. It never fails: without avahi-daemon it logs one warning, and the
// services appear if the daemon starts later. Close withdraws them.
func ExampleAdvertise() {
	osc := &net.UDPAddr{IP: net.IPv4zero, Port: 5005}
	a := discovery.Advertise(context.Background(), discovery.ServiceAt(osc, 5080), slog.Default())
	defer a.Close()

	// After a reload that moved the OSC port:
	a.Update(discovery.ServiceAt(&net.UDPAddr{IP: net.IPv4zero, Port: 5015}, 5080))
}
