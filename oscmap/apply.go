package oscmap

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/gpio"
	"github.com/oscgpio/oscgpio/oscmap/mux"
	"github.com/oscgpio/oscgpio/oscmap/sender"
	"github.com/oscgpio/oscgpio/oscmap/transport"
)

// Apply makes cfg the running mapping. The first call (from NewBridge) opens
// everything; a later call (a reload) changes only what differs:
//
//   - an output whose pin and active_low are unchanged keeps its level and is
//     not written (its addresses, safe level and no_arg are updated);
//   - a removed or changed output goes to its safe level and its pin is
//     released; a new one starts at its initial level;
//   - an input whose pin, pull, active_low, debounce, poll, mode, hold and
//     repeat are unchanged keeps its watcher and its state (no spurious press
//     or release, its latch and count); what it reports (address, values,
//     type, to, report_at_start) is updated; other inputs are re-created and,
//     like new ones, report their state (report_at_start);
//   - the routes and destinations are swapped at once: a message is handled
//     by the old mapping or the new, never half of each;
//   - a changed listen address is bound first, then the old socket closed.
//
// On a reload, a point that cannot be set up (a pin that is busy) is left out
// with its error and the rest is applied; the errors are returned joined. On
// the first call any error is returned at once.
func (b *Bridge) Apply(cfg *config.Config) error {
	var fns []func(*config.Config)
	err := func() error {
		b.applyMu.Lock()
		defer b.applyMu.Unlock() // also when apply panics
		err := b.apply(cfg)
		b.mu.Lock()
		applied := b.cfg == cfg
		b.mu.Unlock()
		if applied {
			fns = append(fns, b.onApply...)
		}
		return err
	}()
	for _, fn := range fns {
		if fn != nil {
			fn(cfg)
		}
	}
	return err
}

func (b *Bridge) apply(cfg *config.Config) error {
	b.mu.Lock()
	first, closed := b.cfg == nil, b.closed
	oldOuts, oldIns, oldListen := b.outs, b.ins, b.listen
	b.mu.Unlock()
	if closed {
		return errors.New("the bridge is closed")
	}

	var errs []error
	fail := func(err error) { errs = append(errs, err) }

	// The socket first: at start, a busy port touches no pin.
	listen := cfg.Listen
	if b.opt.Listen != "" {
		listen = b.opt.Listen
		if !first && b.cfg.Listen != cfg.Listen {
			b.log.Info("the mapping's listen changed, but --listen on the command line is used", "mapping_listen", cfg.Listen, "listen", listen)
		}
	}
	opts, err := b.listenOptions(cfg)
	if err != nil {
		if first {
			return err
		}
		fail(err)
	}
	guardChanged := !first && !sameGuard(b.cfg, cfg)
	var newSrv, oldSrv *transport.UDP
	if first || listen != oldListen || guardChanged {
		if guardChanged && listen == oldListen {
			b.log.Info("allow or rate_limit changed: the socket is opened again with them", "listen", listen)
		}
		bindAddr := listen
		if !first && listen == oldListen {
			bindAddr = b.Addr().String() // the same socket address, with new guards
		}
		srv, err := transport.ListenUDP(bindAddr, b.log, opts...)
		switch {
		case err == nil:
		case first:
			return err
		case errors.Is(err, syscall.EADDRINUSE) && (samePort(listen, b.Addr().String()) || listen == oldListen):
			// The same port on another interface (127.0.0.1:5005 ->
			// 0.0.0.0:5005) is busy with our own socket: free it, bind
			// again, and go back to the old address if that fails. Run
			// waits for this Apply before it looks at the socket again.
			b.mu.Lock()
			cur := b.srv
			b.mu.Unlock()
			curAddr := cur.Addr().String()
			cur.Close()
			b.addOldStats(cur)
			srv, err = transport.ListenUDP(bindAddr, b.log, opts...)
			if err != nil {
				var again error
				if srv, again = transport.ListenUDP(curAddr, b.log, opts...); again != nil {
					fail(fmt.Errorf("listen %s: %v; and %s could not be bound again (%v): the bridge receives nothing", listen, err, curAddr, again))
				} else {
					fail(fmt.Errorf("listen %s: %w; still listening on %s", listen, err, curAddr))
				}
				listen = oldListen
			}
			b.mu.Lock()
			if srv != nil {
				b.srv = srv
				b.out.Store(srv)
			}
			b.mu.Unlock()
			srv = nil // installed already
		default:
			fail(fmt.Errorf("listen %s: %w; still listening on %s", listen, err, oldListen))
			listen = oldListen
			srv = nil
		}
		if srv != nil && len(cfg.Allow) == 0 {
			if ap, err := netip.ParseAddrPort(srv.Addr().String()); err == nil && ap.Addr().IsUnspecified() {
				b.log.Warn("listening on every interface with no allow list: anyone on the network can drive the pins (add allow: to the mapping)", "addr", srv.Addr().String())
			}
		}
		if first {
			// Installed at once, so that a later failure closes it.
			b.mu.Lock()
			b.srv, b.listen = srv, listen
			b.out.Store(srv)
			b.mu.Unlock()
		} else {
			newSrv = srv
		}
	}

	// Watchers of inputs that go away stop before their pins are released;
	// they may be waiting for b.mu, so this is done without it. An input
	// whose watcher died is re-created, so a reload is its remedy.
	keptIn := map[*input]config.Input{}
	stuck := map[*input]bool{}
	for _, in := range oldIns {
		b.mu.Lock()
		dead := in.point.Err != ""
		b.mu.Unlock()
		if c, ok := findInput(cfg, in.cfg.Name); ok && sameInput(in.cfg, c) && !dead {
			keptIn[in] = c
			continue
		}
		if !in.stop(200 * time.Millisecond) {
			stuck[in] = true
		}
	}

	others := b.stopOtherKinds(cfg)

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		if newSrv != nil {
			newSrv.Close()
		}
		return errors.New("the bridge is closed")
	}

	// Release what goes away: outputs to their safe level first.
	keptPWM := map[string]*pwmOut{}
	for _, o := range b.pwms {
		if c, ok := findOutput(cfg, o.cfg.Name); ok && samePWM(o.cfg, c) {
			keptPWM[o.cfg.Name] = o
			continue
		}
		if err := b.safePWM(o, CauseReload); err != nil {
			fail(fmt.Errorf("output %q on %s: %w", o.cfg.Name, o.cfg.Pin, err))
		}
		if err := o.pwm.Close(); err != nil {
			b.log.Warn("could not release a pwm output", "output", o.cfg.Name, "pin", o.cfg.Pin.Name(), "err", err)
		}
	}
	keptOut := map[string]*output{}
	for _, o := range oldOuts {
		if c, ok := findOutput(cfg, o.cfg.Name); ok && c.Kind == config.OutputDigital && c.Pin.BCM == o.cfg.Pin.BCM && c.ActiveLow == o.cfg.ActiveLow {
			keptOut[o.cfg.Name] = o
			continue
		}
		if err := b.safe(o, CauseReload); err != nil {
			// Not released: it stays ours, unrouted, and Close tries
			// its safe level again.
			fail(fmt.Errorf("output %q on %s: %w; the pin is kept and set safe again at exit", o.cfg.Name, o.cfg.Pin, err))
			b.orphans = append(b.orphans, o)
			continue
		}
		b.release(o.cfg.Pin.Name())
	}
	for _, in := range oldIns {
		if _, kept := keptIn[in]; !kept {
			if stuck[in] {
				b.log.Error("input watcher did not stop: its pin is not released (restart the bridge to free it)", "input", in.cfg.Name, "pin", in.cfg.Pin.Name())
				continue
			}
			b.release(in.cfg.Pin.Name())
		}
	}

	b.releaseOtherKinds(others)

	// Outputs, in mapping order.
	var outs []*output
	var pwms []*pwmOut
	var fresh []string // new outputs: their state goes to their feedback at the end
	for _, c := range cfg.Outputs {
		if c.Kind != config.OutputDigital {
			if o := keptPWM[c.Name]; o != nil {
				o.cfg = c
				o.point.Addresses = c.Addresses
				pwms = append(pwms, o)
				continue
			}
			o, err := b.openPWM(c)
			if err != nil {
				err = fmt.Errorf("output %q on %s: %w", c.Name, c.Pin, err)
				if first {
					b.outs, b.pwms = outs, pwms
					return err
				}
				fail(err)
				continue
			}
			pwms = append(pwms, o)
			fresh = append(fresh, c.Name)
			continue
		}
		if o := keptOut[c.Name]; o != nil {
			o.cfg = c
			o.point.Addresses = c.Addresses
			outs = append(outs, o)
			continue
		}
		o, err := b.openOutput(c)
		if err != nil {
			if first {
				b.outs, b.pwms = outs, pwms
				return err
			}
			fail(err)
			continue
		}
		outs = append(outs, o)
		fresh = append(fresh, c.Name)
	}
	b.outs, b.pwms = outs, pwms

	// Jumpers (sim): remove those the mapping no longer has, add the missing.
	if b.sim != nil {
		want := map[[2]string]bool{}
		for _, j := range cfg.Jumpers {
			want[[2]string{j.From.Name(), j.To.Name()}] = true
		}
		for j := range b.jumpers {
			if !want[j] {
				b.unjumper(j)
			}
		}
		for _, j := range cfg.Jumpers {
			k := [2]string{j.From.Name(), j.To.Name()}
			if b.jumpers[k] {
				continue
			}
			if err := b.sim.Jumper(k[0], k[1]); err != nil {
				err = fmt.Errorf("%s:%d:%d: jumper %s -> %s: %w", cfg.File, j.Pos.Line, j.Pos.Col, k[0], k[1], err)
				if first {
					return err
				}
				fail(err)
				continue
			}
			b.jumpers[k] = true
		}
	} else if first && len(cfg.Jumpers) > 0 {
		b.log.Warn("sim jumpers ignored: they only exist on the simulated backend", "jumpers", len(cfg.Jumpers), "gpio", b.backend.Name())
	}

	// Inputs, in mapping order.
	var ins, started []*input
	for _, c := range cfg.Inputs {
		if c.Kind != config.KindDigital {
			continue // encoders and analog sensors: applyOtherKinds
		}
		if in := findKept(keptIn, c.Name); in != nil {
			if err := in.setReport(c); err != nil {
				fail(err)
			}
			in.point.Addresses = []string{c.Address}
			ins = append(ins, in)
			continue
		}
		in, err := b.openInput(c)
		if err != nil {
			if first {
				b.ins = ins
				return err
			}
			fail(err)
			continue
		}
		ins = append(ins, in)
		started = append(started, in)
	}
	b.ins = ins

	if err := b.applyOtherKinds(cfg, others, first, fail); err != nil {
		return err
	}

	// Routes and destinations, swapped at once (we hold b.mu).
	routes, err := b.buildRoutes(outs, pwms)
	if err != nil {
		fail(err)
	}
	b.routes = routes
	b.routesNow.Store(routes)
	var dests []sender.Dest
	for _, d := range cfg.Destinations {
		dests = append(dests, sender.Dest{Name: d.Name, Addr: d.Addr})
	}
	if err := b.send.Set(dests); err != nil {
		fail(err)
	}
	if newSrv != nil {
		oldSrv = b.srv
		b.srv = newSrv
		b.out.Store(newSrv)
	}
	b.listen = listen
	b.cfg = cfg
	if first {
		b.subs = append([]func(Change){b.report, b.reportValue, b.feedback}, b.subs...)
	}
	// New and re-created inputs publish their state (report_at_start sends
	// it) once they are in b.ins, then start watching.
	now := b.clock.Now()
	for _, in := range started {
		in.publish(now, CauseStart)
		in.start()
	}
	// Watchdogs run from the start (and a reload re-arms them with the
	// mapping's times).
	b.heartbeat()
	// New outputs' initial levels were published before the feedback
	// destinations were set: send them now.
	for _, name := range fresh {
		if fb, ok := b.feedbackFor(name); ok {
			b.sendFeedback(fb)
			if b.fbLimits == nil {
				b.fbLimits = map[string]*fbLimit{}
			}
			if l := b.fbLimits[name]; l != nil {
				l.lastAt = now
			} else {
				b.fbLimits[name] = &fbLimit{lastAt: now}
			}
		}
	}
	if oldSrv != nil {
		oldSrv.Close()                                    // Run moves to the new socket once this Apply returns
		b.oldStats = addStats(b.oldStats, oldSrv.Stats()) // we hold b.mu
		b.log.Info("listening on a new address", "addr", newSrv.Addr().String())
	}
	if !first {
		b.reloads.Add(1)
		b.log.Info("mapping applied", "mapping", cfg.File, "outputs", len(outs), "inputs", len(ins),
			"kept_outputs", len(keptOut), "kept_inputs", len(keptIn), "errors", len(errs))
	}
	return errors.Join(errs...)
}

func findOutput(cfg *config.Config, name string) (config.Output, bool) {
	for _, o := range cfg.Outputs {
		if o.Name == name {
			return o, true
		}
	}
	return config.Output{}, false
}

func findInput(cfg *config.Config, name string) (config.Input, bool) {
	for _, in := range cfg.Inputs {
		if in.Name == name {
			return in, true
		}
	}
	return config.Input{}, false
}

func findKept(kept map[*input]config.Input, name string) *input {
	for in := range kept {
		if in.cfg.Name == name {
			return in
		}
	}
	return nil
}

// sameInput reports whether an input's pin, its electrical settings, its
// mode and its hold and repeat times are unchanged, so its watcher and
// state (latch, count) can be kept.
func sameInput(a, b config.Input) bool {
	return a.Kind == b.Kind && a.Pin.BCM == b.Pin.BCM && a.Pull == b.Pull && a.ActiveLow == b.ActiveLow && a.Debounce == b.Debounce && a.Poll == b.Poll &&
		a.Mode == b.Mode && a.Hold == b.Hold && a.Repeat == b.Repeat
}

// openOutput opens a new output at its initial level. The caller holds b.mu.
func (b *Bridge) openOutput(c config.Output) (*output, error) {
	p, err := b.backend.Pin(c.Pin.Name())
	if err != nil {
		return nil, fmt.Errorf("output %q on %s: %w", c.Name, c.Pin, err)
	}
	out, err := gpio.NewOut(p, gpio.OutConfig{Name: c.Name, ActiveLow: c.ActiveLow, Initial: c.Initial, Safe: c.Safe}, b.log)
	if err != nil {
		return nil, fmt.Errorf("output %q on %s: %w", c.Name, c.Pin, err)
	}
	o := newOutput(b, c, out)
	o.set(c.Initial, CauseStart, netip.AddrPort{})
	return o, nil
}

// openInput opens a new input and reads its state; its watcher is started
// by the caller. The caller holds b.mu.
func (b *Bridge) openInput(c config.Input) (*input, error) {
	p, err := b.backend.Pin(c.Pin.Name())
	if err != nil {
		return nil, fmt.Errorf("input %q on %s: %w", c.Name, c.Pin, err)
	}
	gin, err := gpio.NewIn(p, gpio.InConfig{Name: c.Name, Pull: pull(c.Pull), ActiveLow: c.ActiveLow, Debounce: c.Debounce, Poll: c.Poll}, b.log)
	if err != nil {
		return nil, fmt.Errorf("input %q on %s: %w", c.Name, c.Pin, err)
	}
	in := &input{b: b, in: gin, active: gin.Active(),
		point: Point{Name: c.Name, Kind: KindInput, Pin: c.Pin.Name(), Addresses: []string{c.Address}}}
	if err := in.setReport(c); err != nil {
		b.release(c.Pin.Name())
		return nil, err
	}
	return in, nil
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

// release gives a pin back to the backend, with the sim jumpers that touch
// it. The caller holds b.mu.
func (b *Bridge) release(pin string) {
	for j := range b.jumpers {
		if j[0] == pin || j[1] == pin {
			b.unjumper(j)
		}
	}
	if err := b.backend.Release(pin); err != nil {
		b.log.Warn("could not release a pin", "pin", pin, "err", err)
	}
}

func (b *Bridge) unjumper(j [2]string) {
	delete(b.jumpers, j)
	if err := b.sim.Unjumper(j[0], j[1]); err != nil {
		b.log.Warn("could not remove a sim jumper", "from", j[0], "to", j[1], "err", err)
	}
}

// buildRoutes makes the address mux for outs, with the bridge's reserved
// subtrees: /oscgpio/ always, /sim/ on the simulated backend only.
func (b *Bridge) buildRoutes(outs []*output, pwms []*pwmOut) (*mux.Mux, error) {
	m := mux.New()
	var errs []error
	if err := m.HandlePrefix("/oscgpio/", selfHandler{b}); err != nil {
		errs = append(errs, err)
	}
	if b.sim != nil {
		if err := m.HandlePrefix("/sim/", simHandler{b}); err != nil {
			errs = append(errs, err)
		}
	}
	for _, o := range outs {
		for _, a := range o.cfg.Addresses {
			if err := m.Handle(a, o); err != nil {
				errs = append(errs, fmt.Errorf("output %q: %w", o.cfg.Name, err))
			}
			for i, act := range digitalActions {
				if err := m.HandleLiteral(a+"/"+act, o.actions[i]); err != nil {
					errs = append(errs, fmt.Errorf("output %q: %w", o.cfg.Name, err))
				}
			}
		}
	}
	for _, o := range pwms {
		for _, a := range o.cfg.Addresses {
			if err := m.Handle(a, o); err != nil {
				errs = append(errs, fmt.Errorf("output %q: %w", o.cfg.Name, err))
			}
			if err := m.HandleLiteral(a+"/fade", o.fade); err != nil {
				errs = append(errs, fmt.Errorf("output %q: %w", o.cfg.Name, err))
			}
		}
	}
	return m, errors.Join(errs...)
}

// samePort reports whether two host:port addresses name the same port.
func samePort(a, b string) bool {
	_, pa, err1 := net.SplitHostPort(a)
	_, pb, err2 := net.SplitHostPort(b)
	return err1 == nil && err2 == nil && pa == pb
}

// samePWM: the pin, how it is driven and what its values mean are
// unchanged, so the output keeps its value and is not written (its
// addresses, safe value, feedback may change).
func samePWM(a, b config.Output) bool {
	return a.Kind == b.Kind && a.Pin.BCM == b.Pin.BCM && a.Frequency == b.Frequency &&
		a.MinPulse == b.MinPulse && a.MaxPulse == b.MaxPulse && a.Range == b.Range && a.Gamma == b.Gamma
}

// listenOptions are the socket's guards from the mapping: the allow list
// (in the kernel where it can be), the rate limits per sender, how far
// ahead a bundle may be dated, and holding only routed messages.
func (b *Bridge) listenOptions(cfg *config.Config) ([]transport.Option, error) {
	opts := []transport.Option{transport.WithMaxAhead(cfg.MaxScheduleAhead),
		// Only what the mapping routes is held for a future time tag.
		transport.WithHold(func(addr string) bool {
			m := b.routesNow.Load()
			return m == nil || m.Reaches(addr)
		})}
	allow, limit, err := Guard(cfg)
	if err != nil {
		return nil, err
	}
	if allow != nil {
		opts = append(opts, transport.WithAllow(allow))
	}
	if limit != nil {
		opts = append(opts, transport.WithLimiter(limit))
	}
	// A mapping that sends to the bridge itself (by a name check cannot
	// see through) runs at most at the rate limit, or defaultLoopLimit.
	loop := defaultLoopLimit
	if cfg.RateLimit != nil {
		loop = transport.RateLimit{Rate: cfg.RateLimit.Rate, Burst: cfg.RateLimit.Burst}
	}
	opts = append(opts, transport.WithLoopLimit(loop))
	return opts, nil
}

// defaultLoopLimit bounds the messages the bridge takes from its own socket
// when the mapping has no rate_limit.
var defaultLoopLimit = transport.RateLimit{Rate: 200, Burst: 50}

// sameGuard reports whether the allow list and the rate limits are the same.
func sameGuard(a, b *config.Config) bool {
	if a.MaxScheduleAhead != b.MaxScheduleAhead || len(a.Allow) != len(b.Allow) || (a.RateLimit == nil) != (b.RateLimit == nil) ||
		(a.RateLimit != nil && *a.RateLimit != *b.RateLimit) {
		return false
	}
	for i := range a.Allow {
		x, y := a.Allow[i], b.Allow[i]
		if x.Net != y.Net || (x.RateLimit == nil) != (y.RateLimit == nil) || (x.RateLimit != nil && *x.RateLimit != *y.RateLimit) {
			return false
		}
	}
	return true
}
