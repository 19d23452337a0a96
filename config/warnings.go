package config

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Warnings returns what in a valid mapping is allowed but probably a
// mistake, each as FILE:LINE:COL: message, in file order. check prints
// them without failing; run logs them at start.
//
// They are a destination that is the bridge's own listen address, and what
// wiring.Check finds in the parts of the mapping (Parts): a part marked
// volts: 5 on a GPIO, whose level is 3.3 V (a pin wired twice and a GPIO
// that an adc's bus needs are errors of the file already).
//
// A destination is the bridge's own listen address when it has the
// same host and port, or, with the same port, a local host (localhost,
// 127.0.0.1, ::1, 0.0.0.0) while the bridge listens on that host or on
// every interface (0.0.0.0, ::, no host). Messages the inputs send there
// come back in as OSC messages, and with an output wired to an input the
// bridge feeds itself forever. Addresses of other interfaces of this
// machine are not looked up: a name or a LAN address is compared as
// written.
func (c *Config) Warnings() []*Error {
	var ws []*Error
	for _, d := range c.Destinations {
		if !sameSocket(c.Listen, d.Addr) {
			continue
		}
		ws = append(ws, &Error{File: c.File, Line: d.Pos.Line, Col: d.Pos.Col, Msg: fmt.Sprintf(
			"destination %q is this bridge's own listen address: inputs sent there come back in as messages (a loop); "+
				"listen is %s: give the destination the address of the program that should receive them", d.Name, c.Listen)})
	}
	ws = append(ws, c.wiringWarnings()...)
	Errors(ws).sort()
	return ws
}

// sameSocket reports whether a message sent to dest (host:port) reaches a
// socket listening on listen (host:port, the host may be empty).
func sameSocket(listen, dest string) bool {
	lh, lp, err1 := net.SplitHostPort(listen)
	dh, dp, err2 := net.SplitHostPort(dest)
	if err1 != nil || err2 != nil || lp != dp {
		return false
	}
	lh, dh = strings.ToLower(strings.TrimSuffix(lh, ".")), strings.ToLower(strings.TrimSuffix(dh, "."))
	if lh == dh {
		return true
	}
	if everywhere(lh) {
		// Listening on every interface: any local address reaches it.
		return local(dh)
	}
	// Sending to localhost or to 0.0.0.0 reaches the loopback address.
	la, lerr := netip.ParseAddr(lh)
	da, derr := netip.ParseAddr(dh)
	switch {
	case lerr == nil && derr == nil:
		if da.IsUnspecified() {
			return la.IsLoopback() && la.Unmap() == loopbackOf(da)
		}
		return la.Unmap() == da.Unmap()
	case lerr == nil && (dh == "localhost" || dh == ""):
		return la.Unmap() == netip.MustParseAddr("127.0.0.1") || la == netip.IPv6Loopback()
	case derr == nil && lh == "localhost":
		return da.Unmap() == netip.MustParseAddr("127.0.0.1") || da == netip.IPv6Loopback() || da.IsUnspecified()
	}
	return false
}

// everywhere reports whether a listen host listens on every interface.
func everywhere(host string) bool {
	if host == "" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsUnspecified()
}

// local reports whether sending to host reaches this machine: localhost,
// a loopback address or an unspecified one (0.0.0.0, ::).
func local(host string) bool {
	if host == "localhost" || host == "" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && (a.IsLoopback() || a.IsUnspecified())
}

// loopbackOf is where a message sent to an unspecified address goes.
func loopbackOf(a netip.Addr) netip.Addr {
	if a.Is6() && !a.Is4In6() {
		return netip.IPv6Loopback()
	}
	return netip.MustParseAddr("127.0.0.1")
}
