package oscmap

import (
	"log/slog"
	"math"
	"net/netip"
	"strings"

	"github.com/hypebeast/go-osc/osc"
	pgpio "periph.io/x/conn/v3/gpio"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/oscmap/mux"
	"github.com/oscgpio/oscgpio/wiring"
)

// selfHandler serves the bridge's own methods under /oscgpio/.
type selfHandler struct{ b *Bridge }

// ServeOSC answers /oscgpio/get [pattern] with one message per point whose
// address matches (every point without a pattern): its address and current
// value (/led 1). /oscgpio/sync sends every point's value to its feedback
// destinations. /oscgpio/heartbeat re-arms every output's watchdog without
// changing anything. It answers /oscgpio/stats with the counters, to the sender, from the
// listening socket: one message /oscgpio/stats whose arguments are pairs of
// a name (s) and a value (i, at most 2147483647): packets, filtered, denied,
// rate_limited, loop_limited, messages, handled, applied, coalesced, unmatched, rejected, malformed, kernel_drops,
// scheduled, held_dropped, too_far_ahead, handler_panics, changes, sent, send_errors,
// send_dropped, dead_inputs, input_lost, reloads; then the three senders
// with the most datagrams received, denied and rate limited, each as a pair
// like "received:192.168.1.20" 1200.
//
// The mapping's oscgpio_methods turns them off: read_only answers get and
// stats only, off none; a refused call is counted as unmatched and logged.
func (h selfHandler) ServeOSC(r *mux.Request) {
	b := h.b
	if !b.methodAllowed(r.Msg.Address) {
		b.unmatched.Add(1)
		if b.logOK(slog.LevelWarn) {
			b.log.Warn("bridge method turned off by the mapping's oscgpio_methods", "address", r.Msg.Address, "oscgpio_methods", b.cfg.Methods, "from", r.From.String())
		}
		return
	}
	switch r.Msg.Address {
	case "/oscgpio/stats":
		c := b.countersLocked()
		reply := osc.NewMessage("/oscgpio/stats")
		for _, kv := range append(c.pairs(), b.topSendersLocked(3).pairs()...) {
			reply.Append(kv.name)
			reply.Append(int32(min(kv.value, math.MaxInt32)))
		}
		b.answer(r, reply)
	case "/oscgpio/sync":
		b.sync()
	case "/oscgpio/heartbeat":
		b.heartbeat()
	case "/oscgpio/get":
		pattern := ""
		if len(r.Msg.Arguments) > 0 {
			p, ok := r.Msg.Arguments[0].(string)
			if !ok {
				b.rejected.Add(1)
				if b.logOK(slog.LevelWarn) {
					b.log.Warn("/oscgpio/get takes an address pattern as a string, like /oscgpio/get /led or /oscgpio/get /led/*", "from", r.From.String())
				}
				return
			}
			pattern = p
		}
		for _, p := range b.pointsLocked() {
			for _, a := range p.Addresses {
				if pattern == "" || mux.Match(pattern, a) {
					b.answer(r, osc.NewMessage(a, valueArg(p.Value)))
					break
				}
			}
		}
	default:
		b.unmatched.Add(1)
		if b.logOK(slog.LevelInfo) {
			b.log.Info("no such bridge method (the bridge answers /oscgpio/stats)", "address", r.Msg.Address, "from", r.From.String())
		}
	}
}

// methodAllowed reports whether the mapping's oscgpio_methods lets the
// bridge answer address. The caller holds b.mu.
func (b *Bridge) methodAllowed(address string) bool {
	switch b.cfg.Methods {
	case config.MethodsOff:
		return false
	case config.MethodsReadOnly:
		return address == "/oscgpio/get" || address == "/oscgpio/stats"
	}
	return true
}

// answer sends m to the sender of r, from the listening socket: to its own
// port, or to the mapping's reply_port on its host.
func (b *Bridge) answer(r *mux.Request, m *osc.Message) {
	to := r.From
	if b.cfg.ReplyPort != 0 {
		to = netip.AddrPortFrom(to.Addr(), uint16(b.cfg.ReplyPort))
	}
	if r.Send == nil {
		return
	}
	if err := r.Send(m, to); err != nil && b.logOK(slog.LevelWarn) {
		b.log.Warn("could not answer", "address", m.Address, "to", to.String(), "err", err)
	}
}

// valueArg types a point's value for an answer: int32 when it is a whole
// number that fits, else float32.
func valueArg(v float64) any {
	if v == math.Trunc(v) && math.Abs(v) <= math.MaxInt32 {
		return int32(v)
	}
	return float32(v)
}

type counterPair struct {
	name  string
	value uint64
}

// pairs lists the counters with the names the log and /oscgpio/stats use.
func (c Counters) pairs() []counterPair {
	return []counterPair{
		{"packets", c.Packets}, {"filtered", c.Filtered}, {"denied", c.Denied}, {"rate_limited", c.RateLimited}, {"loop_limited", c.LoopLimited}, {"messages", c.Messages}, {"handled", c.Handled}, {"applied", c.Applied}, {"coalesced", c.Coalesced},
		{"unmatched", c.Unmatched}, {"rejected", c.Rejected}, {"malformed", c.Malformed},
		{"kernel_drops", c.KernelDrops}, {"scheduled", c.Scheduled}, {"held_dropped", c.HeldDropped}, {"too_far_ahead", c.TooFarAhead}, {"handler_panics", c.Panics},
		{"changes", c.Changes}, {"sent", c.Sent}, {"send_errors", c.SendErrors}, {"send_dropped", c.SendDropped},
		{"dead_inputs", c.DeadInputs}, {"input_lost", c.InputLost}, {"reloads", c.Reloads},
	}
}

// simHandler handles /sim/<pin> <level>: the electrical level forced onto an
// input pin of the simulator, as a finger on a button would. It is routed
// on the simulated backend only.
type simHandler struct{ b *Bridge }

func (h simHandler) ServeOSC(r *mux.Request) {
	b, m := h.b, r.Msg
	reject := func(msg string, args ...any) {
		b.rejected.Add(1)
		if b.logOK(slog.LevelWarn) {
			b.log.Warn(msg, append([]any{"address", m.Address, "from", r.From.String()}, args...)...)
		}
	}
	name := strings.TrimPrefix(m.Address, "/sim/")
	if len(m.Arguments) > 0 {
		if v, err := Number(m.Arguments[0]); err == nil {
			if found, err := b.simSensor(name, v); found {
				if err != nil {
					reject("sim sensor reading not set", "err", err)
					return
				}
				b.applied.Add(1)
				return
			}
		}
	}
	p, err := wiring.Resolve(name)
	if err != nil {
		reject("sim drive not applied (a pin like GPIO27, or an analog input's name)", "err", err)
		return
	}
	if len(m.Arguments) == 0 {
		reject("sim drive needs a level: /sim/GPIO27 0 or 1")
		return
	}
	level, err := Bool(m.Arguments[0])
	if err == nil {
		err = b.sim.Drive(p.Name(), pgpio.Level(level))
	}
	if err != nil {
		reject("sim drive not applied", "err", err)
		return
	}
	b.applied.Add(1)
}
