package main

import (
	"context"
	"log/slog"
	"net"
	"net/netip"

	"github.com/oscgpio/oscgpio/oscmap"
	"github.com/oscgpio/oscgpio/oscmap/discovery"
)

// advertising keeps the bridge advertised through Avahi (oscmap/discovery)
// for `run`. A nil *advertising (--no-advertise) does nothing.
type advertising struct {
	a *discovery.Advertiser
	// httpAddr is the address of the HTTP (OSCQuery) server, advertised as
	// _oscjson._tcp where it can be reached; nil means no HTTP server, so
	// only _osc._udp.
	httpAddr func() net.Addr
}

// startAdvertising advertises b's OSC port (and the HTTP server at
// httpAddr(), when not nil) as "oscgpio on <hostname>"; it never fails, see
// discovery.Advertise. off (--no-advertise) returns nil and advertises
// nothing.
func startAdvertising(ctx context.Context, off bool, b *oscmap.Bridge, httpAddr func() net.Addr, log *slog.Logger) *advertising {
	if off {
		log.Debug("not advertised on the network (--no-advertise)")
		return nil
	}
	return &advertising{a: discovery.Advertise(ctx, advertised(b.Addr(), httpAddr()), log), httpAddr: httpAddr}
}

// advertised is the Service of a bridge receiving OSC at osc with its HTTP
// server at http (nil: none). Each service is published where its own
// socket can be reached: a dashboard on 127.0.0.1 beside OSC on 0.0.0.0 is
// advertised to this computer only.
func advertised(osc, http net.Addr) discovery.Service {
	ta, _ := http.(*net.TCPAddr)
	if ta == nil {
		return discovery.ServiceAt(osc, 0)
	}
	s := discovery.ServiceAt(osc, ta.Port)
	if ip, ok := netip.AddrFromSlice(ta.IP); ok {
		s.HTTPListen = ip.Unmap()
	}
	return s
}

// renew re-publishes after a reload; it changes something only when the
// bridge's listen address or the dashboard's address changed.
func (ad *advertising) renew(b *oscmap.Bridge) {
	if ad != nil {
		ad.a.Update(advertised(b.Addr(), ad.httpAddr()))
	}
}

// close withdraws the services (at most about 2 s).
func (ad *advertising) close() {
	if ad != nil {
		ad.a.Close()
	}
}
