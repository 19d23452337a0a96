// Package mux routes OSC messages to the handlers registered for their
// addresses, as net/http's ServeMux routes requests to handlers.
//
// # Dispatch rules
//
// A handler is registered for a plain address ("/led") with Handle, or for a
// whole reserved subtree ("/sim/", "/oscgpio/") with HandlePrefix. A received
// message's address is an OSC 1.0 address pattern (see Match), and:
//
//   - A message whose address starts with a reserved prefix goes to that
//     prefix's handler, and only there. Patterns are not expanded into a
//     reserved subtree: "/*/GPIO27" reaches neither /sim/ nor any address
//     registered under it, so a wildcard meant for the show's addresses never
//     drives a simulated pin or queries the bridge.
//   - Otherwise, a plain address (no ? * [ ] { }) runs the handler registered
//     for exactly that address, found in a map.
//   - A pattern runs every handler whose address matches it, once per handler
//     however many of its addresses match ("/{led,test}" runs the output that
//     has both addresses once), in the order the handlers were first
//     registered.
//   - An address registered with HandleLiteral (an output's /pulse, /blink
//     and /toggle actions) is reached by its exact address only, never by a
//     pattern: "/led/*" meant for /led/1 and /led/2 does not blink /led.
//   - A message that reaches no handler is reported by Dispatch returning 0.
//
// A Mux is built once (New, Handle, HandlePrefix) and then only read:
// Dispatch is safe for concurrent use. To change the routes, build a new Mux
// and swap it in; a message is then handled entirely by the old or the new.
package mux

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/config"
)

// A Request is one received message with where it came from. A handler
// must not keep it after ServeOSC returns: the caller may reuse it.
type Request struct {
	Msg  *osc.Message
	From netip.AddrPort
	// Send sends a message to an address from the socket Msg arrived on,
	// without blocking; nil when no reply is possible. Use Reply.
	Send func(m *osc.Message, to netip.AddrPort) error
}

// Reply sends m back to the sender, from the socket the request arrived on.
func (r *Request) Reply(m *osc.Message) error {
	if r.Send == nil {
		return errors.New("mux: this request cannot be answered")
	}
	return r.Send(m, r.From)
}

// A Handler acts on the messages routed to it. Handlers are compared by ==
// to run each once per message, so use pointer types.
type Handler interface {
	ServeOSC(r *Request)
}

type route struct {
	address string
	h       Handler
}

type prefixRoute struct {
	prefix string
	h      Handler
}

// Mux is an OSC address router. The zero value is not usable; call New.
type Mux struct {
	exact    map[string][]Handler // plain address -> its handlers (one unless a handler shares it)
	routes   []route              // every registered address, for patterns
	prefixes []prefixRoute
}

// New returns an empty Mux.
func New() *Mux {
	return &Mux{exact: map[string][]Handler{}}
}

// Handle registers h for the plain address. The same handler may be
// registered for several addresses; two handlers may share an address (both
// run). The address must be valid for a mapping (config.CheckAddress, the one
// validator) and must not fall under a reserved prefix.
func (m *Mux) Handle(address string, h Handler) error {
	if h == nil {
		return fmt.Errorf("mux: nil handler for %s", address)
	}
	if err := config.CheckAddress(address); err != nil {
		return err
	}
	for _, p := range m.prefixes {
		if strings.HasPrefix(address+"/", p.prefix) {
			return fmt.Errorf("mux: address %s is under %s, which is reserved", address, p.prefix)
		}
	}
	for _, x := range m.exact[address] {
		if x == h {
			return nil
		}
	}
	m.exact[address] = append(m.exact[address], h)
	m.routes = append(m.routes, route{address: address, h: h})
	return nil
}

// HandleLiteral registers h for address like Handle, but a pattern never
// reaches it: only a message to exactly that address does.
func (m *Mux) HandleLiteral(address string, h Handler) error {
	n := len(m.routes)
	if err := m.Handle(address, h); err != nil {
		return err
	}
	m.routes = m.routes[:n] // in the exact table only
	return nil
}

// HandlePrefix reserves the subtree prefix (which starts and ends with '/',
// like "/sim/") for h: every message whose address starts with it goes to h
// alone. A message to the prefix without its trailing '/' ("/sim") goes there
// too.
func (m *Mux) HandlePrefix(prefix string, h Handler) error {
	if h == nil || len(prefix) < 3 || prefix[0] != '/' || prefix[len(prefix)-1] != '/' {
		return fmt.Errorf("mux: prefix %q must look like /name/ and have a handler", prefix)
	}
	for _, r := range m.routes {
		if strings.HasPrefix(r.address+"/", prefix) {
			return fmt.Errorf("mux: prefix %s is reserved, but %s is registered under it", prefix, r.address)
		}
	}
	m.prefixes = append(m.prefixes, prefixRoute{prefix, h})
	return nil
}

// Dispatch runs the handlers r.Msg's address reaches, following the rules in
// the package doc, and returns how many ran.
func (m *Mux) Dispatch(r *Request) int {
	addr := r.Msg.Address
	for _, p := range m.prefixes {
		if strings.HasPrefix(addr, p.prefix) || addr == p.prefix[:len(p.prefix)-1] {
			p.h.ServeOSC(r)
			return 1
		}
	}
	if !strings.ContainsAny(addr, patternChars) {
		hs := m.exact[addr]
		for _, h := range hs {
			h.ServeOSC(r)
		}
		return len(hs)
	}
	// A pattern: collect the matching handlers once each, in order. Mapped
	// addresses are few; a linear scan is what the matcher is built for.
	var small [8]Handler
	ran := small[:0]
	for _, rt := range m.routes {
		if !Match(addr, rt.address) || contains(ran, rt.h) {
			continue
		}
		ran = append(ran, rt.h)
	}
	for _, h := range ran {
		h.ServeOSC(r)
	}
	return len(ran)
}

func contains(hs []Handler, h Handler) bool {
	for _, x := range hs {
		if x == h {
			return true
		}
	}
	return false
}

// Reaches reports whether a message to addr would run any handler (by the
// rules of Dispatch), without running one.
func (m *Mux) Reaches(addr string) bool {
	for _, p := range m.prefixes {
		if strings.HasPrefix(addr, p.prefix) || addr == p.prefix[:len(p.prefix)-1] {
			return true
		}
	}
	if !strings.ContainsAny(addr, patternChars) {
		return len(m.exact[addr]) > 0
	}
	for _, rt := range m.routes {
		if Match(addr, rt.address) {
			return true
		}
	}
	return false
}

// Addresses returns the registered plain addresses, in registration order.
func (m *Mux) Addresses() []string {
	out := make([]string, len(m.routes))
	for i, r := range m.routes {
		out[i] = r.address
	}
	return out
}
