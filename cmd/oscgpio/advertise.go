package main

import (
	"context"
	"log/slog"

	"github.com/oscgpio/oscgpio/oscmap"
	"github.com/oscgpio/oscgpio/oscmap/discovery"
)

// advertising keeps the bridge advertised through Avahi (oscmap/discovery)
// for `run`. A nil *advertising (--no-advertise) does nothing.
type advertising struct {
	a *discovery.Advertiser
	// httpPort is the TCP port of the HTTP (OSCQuery) server, advertised as
	// _oscjson._tcp; 0 means no HTTP server, so only _osc._udp.
	httpPort func() int
}

// startAdvertising advertises b's OSC port (and httpPort(), when not 0) as
// "oscgpio on <hostname>"; it never fails, see discovery.Advertise. off
// (--no-advertise) returns nil and advertises nothing.
func startAdvertising(ctx context.Context, off bool, b *oscmap.Bridge, httpPort func() int, log *slog.Logger) *advertising {
	if off {
		log.Debug("not advertised on the network (--no-advertise)")
		return nil
	}
	return &advertising{a: discovery.Advertise(ctx, discovery.ServiceAt(b.Addr(), httpPort()), log), httpPort: httpPort}
}

// renew re-publishes after a reload; it changes something only when the
// bridge's listen address or the dashboard's port changed.
func (ad *advertising) renew(b *oscmap.Bridge) {
	if ad != nil {
		ad.a.Update(discovery.ServiceAt(b.Addr(), ad.httpPort()))
	}
}

// close withdraws the services (at most about 2 s).
func (ad *advertising) close() {
	if ad != nil {
		ad.a.Close()
	}
}
