package oscmap

import (
	"fmt"
	"log/slog"
	"net/netip"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/oscmap/codec"
	"github.com/oscgpio/oscgpio/oscmap/transport"
)

// Traffic is one OSC message the bridge received or sent, for a live log.
type Traffic struct {
	Time time.Time
	Out  bool // sent by the bridge (a report, feedback or an answer); false: received
	// Peer is who sent the message, or where it went: an address
	// ("192.168.1.20:9000"), or a destination's name from the mapping.
	Peer string
	Msg  *osc.Message // the message, during the call only: the tap must not modify or keep it (copy it with codec.Clone)
}

// Tap calls fn with every OSC message received (before it is handled) and
// every message sent (reports, feedback and answers, once queued), in order.
// Like Subscribe's, fn runs while the bridge's state is locked: it must
// return quickly, never block and not call the Bridge. It returns a function
// that ends the tap. Without taps, nothing is formatted or decoded for them.
func (b *Bridge) Tap(fn func(Traffic)) (cancel func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := &tapFn{fn}
	i := slices.Index(b.taps, nil) // a cancelled tap's place, if any
	if i < 0 {
		i = len(b.taps)
		b.taps = append(b.taps, nil)
	}
	b.taps[i] = t
	b.tapping++
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.taps[i] == t {
			b.taps[i] = nil
			b.tapping--
		}
	}
}

// tapFn is one tap; its address tells it from a later tap in the same place.
type tapFn struct{ fn func(Traffic) }

// tap hands t to the taps. The caller holds b.mu.
func (b *Bridge) tap(t Traffic) {
	for _, x := range b.taps {
		if x != nil {
			x.fn(t)
		}
	}
}

// tapIn records a received message. The caller holds b.mu.
func (b *Bridge) tapIn(m *osc.Message, from string) {
	if b.tapping == 0 {
		return
	}
	b.tap(Traffic{Time: time.Now(), Peer: from, Msg: m})
}

// tapOut records a sent packet (one encoded message). The caller holds b.mu.
func (b *Bridge) tapOut(to string, data []byte) {
	if b.tapping == 0 {
		return
	}
	els, err := codec.Decode(data)
	if err != nil {
		return
	}
	now := time.Now()
	for _, e := range els {
		b.tap(Traffic{Time: now, Out: true, Peer: to, Msg: e.Msg})
	}
}

// Inject handles m as if it had arrived from from over OSC: the same routes,
// the same counters, the same log, the same taps. Answers (/oscgpio/get,
// /oscgpio/stats) go to reply, or nowhere when reply is nil. The dashboard
// and the OSCQuery WebSocket send their controls' messages through it.
func (b *Bridge) Inject(m *osc.Message, from netip.AddrPort, reply func(*osc.Message) error) {
	var send func(*osc.Message, netip.AddrPort) error
	if reply != nil {
		send = func(m *osc.Message, _ netip.AddrPort) error {
			if err := reply(m); err != nil {
				return err
			}
			if b.tapping != 0 { // answers are made under b.mu
				b.tap(Traffic{Time: time.Now(), Out: true, Peer: from.String(), Msg: m})
			}
			return nil
		}
	}
	// A handler that panics is recovered, logged and counted here, as the
	// UDP reader does, not left to the HTTP server's goroutine.
	defer func() {
		if p := recover(); p != nil {
			b.log.Error("OSC handler panicked; the message is dropped and the bridge goes on",
				"address", m.Address, "from", from.String(), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			b.otherPanics.Add(1)
		}
	}()
	b.serve(m, from, send)
}

// OnApply calls fn with the mapping after every Apply that changed it
// (reloads; the first Apply is done when NewBridge returns), outside the
// bridge's lock: fn may call the Bridge. It returns a function that ends the
// calls.
func (b *Bridge) OnApply(fn func(cfg *config.Config)) (cancel func()) {
	b.applyMu.Lock()
	defer b.applyMu.Unlock()
	i := len(b.onApply)
	b.onApply = append(b.onApply, fn)
	return func() {
		b.applyMu.Lock()
		defer b.applyMu.Unlock()
		b.onApply[i] = nil
	}
}

// Config returns the mapping in use. The caller must not modify it.
func (b *Bridge) Config() *config.Config {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cfg
}

// Backend names the pins' backend: "sim", or the host's driver.
func (b *Bridge) Backend() string { return b.backend.Name() }

// Simulated reports whether the pins are simulated (the sim backend), so
// inputs can be driven from outside (/sim/<pin>).
func (b *Bridge) Simulated() bool { return b.sim != nil }

// Senders are the senders with the most datagrams on the OSC socket, most
// first. An entry with an invalid Addr stands for the senders beyond the
// first 4096, counted together.
type Senders struct {
	Received    []transport.SenderCount // datagrams read, whatever became of them: who sends the volume
	Denied      []transport.SenderCount // dropped by allow in the bridge (the kernel's filter drops are not seen per sender)
	RateLimited []transport.SenderCount // dropped by rate_limit
}

// TopSenders returns the n senders with the most datagrams received, denied
// and rate limited, since the OSC socket was opened (a reload that binds a
// new socket starts them again).
func (b *Bridge) TopSenders(n int) Senders {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.topSendersLocked(n)
}

func (b *Bridge) topSendersLocked(n int) Senders {
	if b.srv == nil {
		return Senders{}
	}
	return Senders{Received: b.srv.TopSenders(n), Denied: b.srv.DeniedSenders(n), RateLimited: b.srv.RateLimitedSenders(n)}
}

// senderName is a SenderCount's address, "others" for the senders counted
// together.
func senderName(c transport.SenderCount) string {
	if !c.Addr.IsValid() {
		return "others"
	}
	return c.Addr.String()
}

// A SenderPair is one top sender as /oscgpio/stats sends it: a name like
// "received:192.168.1.20" and a count.
type SenderPair struct {
	Name  string
	Value uint64
}

// Pairs names each entry "received:ADDR", "denied:ADDR" or
// "rate_limited:ADDR" ("others" for the senders counted together), as
// /oscgpio/stats sends them.
func (s Senders) Pairs() []SenderPair {
	var out []SenderPair
	for _, p := range s.pairs() {
		out = append(out, SenderPair{p.name, p.value})
	}
	return out
}

func (s Senders) pairs() []counterPair {
	var out []counterPair
	for _, l := range []struct {
		what string
		cs   []transport.SenderCount
	}{{"received", s.Received}, {"denied", s.Denied}, {"rate_limited", s.RateLimited}} {
		for _, c := range l.cs {
			out = append(out, counterPair{l.what + ":" + senderName(c), c.Count})
		}
	}
	return out
}

// LogValue logs each list as one attribute, like
// received="127.0.0.3=120000 127.0.0.1=10".
func (s Senders) LogValue() slog.Value {
	var attrs []slog.Attr
	for _, l := range []struct {
		what string
		cs   []transport.SenderCount
	}{{"received", s.Received}, {"denied", s.Denied}, {"rate_limited", s.RateLimited}} {
		var sb strings.Builder
		for i, c := range l.cs {
			if i > 0 {
				sb.WriteByte(' ')
			}
			fmt.Fprintf(&sb, "%s=%d", senderName(c), c.Count)
		}
		attrs = append(attrs, slog.String(l.what, sb.String()))
	}
	return slog.GroupValue(attrs...)
}
