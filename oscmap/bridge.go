package oscmap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/oscmap/codec"
	"github.com/oscgpio/oscgpio/oscmap/transport"
	pgpio "periph.io/x/conn/v3/gpio"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/gpio"
	"github.com/oscgpio/oscgpio/oscmap/mux"
	"github.com/oscgpio/oscgpio/wiring"
)

// Options adjusts a Bridge beyond what its mapping says.
type Options struct {
	// Listen overrides the mapping's listen address when not empty.
	Listen string
	// Logger receives the bridge's log; nil means slog.Default().
	Logger *slog.Logger
}

// Counters are the bridge's running totals, on top of the transport's Stats.
type Counters struct {
	transport.Stats
	Handled    uint64 // messages the bridge finished with (scheduled ones when due)
	Applied    uint64 // output actions (a message can drive several outputs)
	Unmatched  uint64 // messages whose address matched no output
	Rejected   uint64 // messages whose argument could not be read as on/off
	Sent       uint64 // messages sent to destinations
	SendErrors uint64 // sends that failed
}

// A Bridge drives the outputs of a mapping from OSC messages and reports its
// inputs as OSC messages. Create it with NewBridge, start it with Run; Close
// (or the end of Run) puts every output at its safe level.
type Bridge struct {
	cfg     *config.Config
	log     *slog.Logger
	backend gpio.Backend
	sim     *gpio.Sim
	srv     *transport.UDP
	sender  *Sender

	outs []*output
	ins  []*input

	handled, applied, unmatched, rejected, sent, sendErrors atomic.Uint64

	closeOnce sync.Once
}

type output struct {
	cfg config.Output
	out *gpio.Out
}

type input struct {
	cfg   config.Input
	in    *gpio.In
	dests []config.Destination
}

// NewBridge opens the pins the mapping names on backend, and only those, sets
// every output to its initial level, connects the simulator's jumpers when
// backend is the sim, and binds the OSC server. On error, outputs already
// opened are put at their safe level before it returns.
func NewBridge(cfg *config.Config, backend gpio.Backend, opt Options) (_ *Bridge, err error) {
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	b := &Bridge{cfg: cfg, log: log, backend: backend}
	b.sim, _ = backend.(*gpio.Sim)
	defer func() {
		if err != nil {
			b.safe()
		}
	}()

	for _, oc := range cfg.Outputs {
		p, err := backend.Pin(oc.Pin.Name())
		if err != nil {
			return nil, fmt.Errorf("output %q on %s: %w", oc.Name, oc.Pin, err)
		}
		out, err := gpio.NewOut(p, gpio.OutConfig{Name: oc.Name, ActiveLow: oc.ActiveLow, Initial: oc.Initial, Safe: oc.Safe}, log)
		if err != nil {
			return nil, fmt.Errorf("output %q on %s: %w", oc.Name, oc.Pin, err)
		}
		b.outs = append(b.outs, &output{cfg: oc, out: out})
	}
	if b.sim != nil {
		for _, j := range cfg.Jumpers {
			if err := b.sim.Jumper(j.From.Name(), j.To.Name()); err != nil {
				return nil, fmt.Errorf("%s:%d:%d: jumper %s -> %s: %w", cfg.File, j.Pos.Line, j.Pos.Col, j.From.Name(), j.To.Name(), err)
			}
		}
	} else if len(cfg.Jumpers) > 0 {
		log.Warn("sim jumpers ignored: they only exist on the simulated backend", "jumpers", len(cfg.Jumpers), "gpio", backend.Name())
	}
	for _, ic := range cfg.Inputs {
		p, err := backend.Pin(ic.Pin.Name())
		if err != nil {
			return nil, fmt.Errorf("input %q on %s: %w", ic.Name, ic.Pin, err)
		}
		in, err := gpio.NewIn(p, gpio.InConfig{Name: ic.Name, Pull: pull(ic.Pull), ActiveLow: ic.ActiveLow, Debounce: ic.Debounce, Poll: ic.Poll}, log)
		if err != nil {
			return nil, fmt.Errorf("input %q on %s: %w", ic.Name, ic.Pin, err)
		}
		n := &input{cfg: ic, in: in}
		for _, name := range ic.To {
			d, ok := cfg.Destination(name)
			if !ok {
				return nil, fmt.Errorf("input %q sends to %q, which is not under destinations", ic.Name, name)
			}
			n.dests = append(n.dests, d)
		}
		b.ins = append(b.ins, n)
	}

	listen := cfg.Listen
	if opt.Listen != "" {
		listen = opt.Listen
	}
	if b.srv, err = transport.ListenUDP(listen, log); err != nil {
		return nil, err
	}
	if b.sender, err = NewSender(log); err != nil {
		b.srv.Close()
		return nil, err
	}
	// Look the destinations up now, so the first press is not delayed by
	// DNS; one that fails is tried again at each message.
	for _, d := range cfg.Destinations {
		if _, err := b.sender.resolve(d.Addr); err != nil {
			log.Warn("destination not found yet; trying again at each message", "name", d.Name, "err", err)
		}
	}
	return b, nil
}

func pull(s string) pgpio.Pull {
	switch s {
	case "up":
		return pgpio.PullUp
	case "down":
		return pgpio.PullDown
	default:
		return pgpio.Float
	}
}

// Addr is the address the bridge receives OSC on.
func (b *Bridge) Addr() net.Addr { return b.srv.Addr() }

// Counters returns the running totals.
func (b *Bridge) Counters() Counters {
	return Counters{
		Stats:      b.srv.Stats(),
		Handled:    b.handled.Load(),
		Applied:    b.applied.Load(),
		Unmatched:  b.unmatched.Load(),
		Rejected:   b.rejected.Load(),
		Sent:       b.sent.Load(),
		SendErrors: b.sendErrors.Load(),
	}
}

// Run serves OSC and watches the inputs until ctx is done, then puts every
// output at its safe level and releases the sockets. It returns nil after a
// cancelled ctx, unless an output could not be put at its safe level.
func (b *Bridge) Run(ctx context.Context) (err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer func() { err = errors.Join(err, b.Close()) }()

	var wg sync.WaitGroup
	for _, n := range b.ins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					b.log.Error("input watcher stopped", "input", n.cfg.Name, "pin", n.cfg.Pin.Name(), "panic", r)
				}
			}()
			n.in.Run(ctx, func(e gpio.Event) { b.report(n, e) })
		}()
	}
	b.log.Info("oscgpio listening", "addr", b.srv.Addr().String(), "gpio", b.backend.Name(), "mapping", b.cfg.File,
		"outputs", len(b.outs), "inputs", len(b.ins))
	err = b.srv.Serve(ctx, b.handle)
	cancel()
	wg.Wait()
	return err
}

// Close puts every output at its safe level and closes the sockets and the
// backend. It is safe to call more than once.
func (b *Bridge) Close() error {
	var err error
	b.closeOnce.Do(func() {
		err = b.safe()
		if b.srv != nil {
			b.srv.Close()
			c := b.Counters()
			b.log.Info("oscgpio stopped", "packets", c.Packets, "messages", c.Messages, "applied", c.Applied,
				"unmatched", c.Unmatched, "rejected", c.Rejected, "malformed", c.Malformed,
				"kernel_drops", c.KernelDrops, "handler_panics", c.Panics, "sent", c.Sent, "send_errors", c.SendErrors)
		}
		if b.sender != nil {
			b.sender.Close()
		}
		if cerr := b.backend.Close(); cerr != nil && err == nil {
			err = cerr
		}
	})
	return err
}

// safe puts every output opened so far at its safe level.
func (b *Bridge) safe() error {
	var errs []error
	for _, o := range b.outs {
		if err := o.out.SetSafe(); err != nil {
			errs = append(errs, fmt.Errorf("output %q on %s: %w", o.cfg.Name, o.cfg.Pin, err))
			b.log.Error("could not set the safe level", "output", o.cfg.Name, "pin", o.cfg.Pin.Name(), "err", err)
		}
	}
	return errors.Join(errs...)
}

// handle applies one received message. The server calls it from its one
// reader goroutine, in arrival order (bundle elements at their time tag).
func (b *Bridge) handle(m *osc.Message, from netip.AddrPort) {
	defer b.handled.Add(1)
	b.log.Info("recv", "osc", codec.Format(m), "from", from.String())
	if strings.HasPrefix(m.Address, "/sim/") {
		b.simDrive(m, from)
		return
	}
	// An output acts once per message, however many of its addresses the
	// pattern matches (/* or /{led,test}): a toggle must not undo itself.
	matched := false
	for _, o := range b.outs {
		if !slices.ContainsFunc(o.cfg.Addresses, func(a string) bool { return mux.Match(m.Address, a) }) {
			continue
		}
		matched = true
		b.apply(o, m, from)
	}
	if !matched {
		b.unmatched.Add(1)
		b.log.Info("no output is mapped to this address", "address", m.Address, "from", from.String())
	}
}

func (b *Bridge) apply(o *output, m *osc.Message, from netip.AddrPort) {
	var err error
	if len(m.Arguments) == 0 {
		switch o.cfg.NoArg {
		case "on":
			err = o.out.Set(true)
		case "off":
			err = o.out.Set(false)
		case "ignore":
			b.log.Info("message without argument ignored (no_arg: ignore)", "output", o.cfg.Name, "address", m.Address, "from", from.String())
			return
		default:
			err = o.out.Toggle()
		}
	} else {
		on, cerr := Bool(m.Arguments[0])
		if cerr != nil {
			b.rejected.Add(1)
			b.log.Warn("message not applied", "output", o.cfg.Name, "address", m.Address, "from", from.String(), "err", cerr)
			return
		}
		err = o.out.Set(on)
	}
	if err != nil {
		b.log.Error("could not drive output", "output", o.cfg.Name, "pin", o.cfg.Pin.Name(), "err", err)
		return
	}
	b.applied.Add(1)
}

// simDrive handles /sim/<pin> <level>: the electrical level forced onto an
// input pin of the simulator, as a finger on a button would.
func (b *Bridge) simDrive(m *osc.Message, from netip.AddrPort) {
	if b.sim == nil {
		b.rejected.Add(1)
		b.log.Warn("/sim/ messages are accepted with --gpio sim only", "address", m.Address, "from", from.String())
		return
	}
	p, err := wiring.Resolve(strings.TrimPrefix(m.Address, "/sim/"))
	if err != nil {
		b.rejected.Add(1)
		b.log.Warn("sim drive not applied", "address", m.Address, "from", from.String(), "err", err)
		return
	}
	if len(m.Arguments) == 0 {
		b.rejected.Add(1)
		b.log.Warn("sim drive needs a level: /sim/GPIO27 0 or 1", "address", m.Address, "from", from.String())
		return
	}
	level, err := Bool(m.Arguments[0])
	if err == nil {
		err = b.sim.Drive(p.Name(), pgpio.Level(level))
	}
	if err != nil {
		b.rejected.Add(1)
		b.log.Warn("sim drive not applied", "address", m.Address, "from", from.String(), "err", err)
		return
	}
	b.applied.Add(1)
}

// report sends one input event to the input's destinations.
func (b *Bridge) report(n *input, e gpio.Event) {
	m := InputMessage(n.cfg, e.Active)
	for _, d := range n.dests {
		if err := b.sender.Send(d.Addr, m); err != nil {
			b.sendErrors.Add(1)
			b.log.Warn("send failed", "osc", codec.Format(m), "to", d.Name, "addr", d.Addr, "err", err)
			continue
		}
		b.sent.Add(1)
		b.log.Info("sent", "osc", codec.Format(m), "to", d.Name, "addr", d.Addr)
	}
}

// InputMessage is the message an input sends for a change to active (pressed)
// or inactive: its address with its press or release value, typed as the
// mapping asks (i by default, which Pd's [oscparse] and Max understand).
func InputMessage(in config.Input, active bool) *osc.Message {
	v := in.Release
	if active {
		v = in.Press
	}
	var arg any
	switch in.Type {
	case 'f':
		arg = float32(v)
	case 'd':
		arg = v
	case 'h':
		arg = int64(v)
	case 'T':
		arg = active
	default:
		arg = int32(v)
	}
	return osc.NewMessage(in.Address, arg)
}
