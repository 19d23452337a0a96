package oscmap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hypebeast/go-osc/osc"
	pgpio "periph.io/x/conn/v3/gpio"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/gpio"
	"github.com/oscgpio/oscgpio/oscmap/codec"
	"github.com/oscgpio/oscgpio/oscmap/logs"
	"github.com/oscgpio/oscgpio/oscmap/mux"
	"github.com/oscgpio/oscgpio/oscmap/sender"
	"github.com/oscgpio/oscgpio/oscmap/transport"
)

// Options adjusts a Bridge beyond what its mapping says.
type Options struct {
	// Listen overrides the mapping's listen address when not empty, at
	// start and at every reload.
	Listen string
	// Logger receives the bridge's log; nil means slog.Default().
	Logger *slog.Logger
	// resolve replaces the system's resolver for destination host names (tests).
	resolve func(ctx context.Context, host string) ([]netip.Addr, error)
	// clock replaces the real clock for the inputs' hold timers (tests).
	clock clock
	// StartAttrs are more key-value pairs for the start line ("oscgpio
	// listening"), after the bridge's own: run adds the dashboard's URL.
	StartAttrs []any
	// LogLines bounds the info lines about single messages and changes
	// (recv, sent, output levels) per second; beyond it one line a second
	// says how many were not shown. 0 means 20.
	LogLines int
}

// Counters are the bridge's running totals.
type Counters struct {
	Packets     uint64 // datagrams received, filtered and malformed ones included
	Filtered    uint64 // datagrams refused before decoding by a filter
	Denied      uint64 // datagrams from senders not in allow (those the kernel dropped count as KernelDrops)
	RateLimited uint64 // datagrams over a sender's rate_limit
	LoopLimited uint64 // datagrams from the bridge's own socket over the loop limit (a destination that is the bridge itself)
	Messages    uint64 // messages in well-formed datagrams, bundle elements included
	Malformed   uint64 // datagrams dropped as not OSC
	KernelDrops uint64 // datagrams the kernel dropped at the socket (its buffer was full)
	Scheduled   uint64 // messages held for a future time tag
	HeldDropped uint64 // messages with a future time tag dropped: the held messages were at their limit
	TooFarAhead uint64 // messages dated further ahead than max_schedule_ahead
	Panics      uint64 // handler calls (over UDP or injected) and timers that panicked (recovered and logged)
	Handled     uint64 // messages the bridge finished with (scheduled ones when due)
	Applied     uint64 // output actions (a message can drive several outputs)
	Coalesced   uint64 // output changes held back by max_switch_rate (the latest was written later)
	Unmatched   uint64 // messages whose address reached nothing
	Rejected    uint64 // messages whose argument could not be used
	Changes     uint64 // point changes published
	Sent        uint64 // messages sent to destinations
	SendErrors  uint64 // sends that failed
	SendDropped uint64 // messages dropped from a full destination queue
	DeadInputs  uint64 // input watchers that stopped on an error
	InputLost   uint64 // input changes the backend could not queue (the sim's queue was full)
	Reloads     uint64 // mappings applied after the first
}

// simulator is what the bridge uses of a simulated backend (gpio.Sim):
// jumpers from the mapping and /sim/<pin> drives.
type simulator interface {
	Jumper(from, to string) error
	Unjumper(from, to string) error
	Drive(name string, l pgpio.Level) error
}

// A Bridge drives the outputs of a mapping from OSC messages and reports its
// inputs as OSC messages. Every mapped pin is a point with a current value;
// every change of a point, whatever caused it, is published once, in order,
// to the subscribers (Subscribe): the reports to destinations are one of them.
//
// Create it with NewBridge, serve with Run; Apply changes the mapping while
// it runs; Close (or the end of Run) puts every output at its safe level.
type Bridge struct {
	log     *slog.Logger
	opt     Options
	backend gpio.Backend
	sim     simulator    // the backend, when it simulates pins
	budget  *logs.Budget // info lines about single messages
	warns   *logs.Budget // warnings about single messages, apart so a flood of info lines does not hide them
	send    *sender.Sender
	ctx     context.Context // ends at Close: input watchers and timers
	stop    context.CancelFunc
	clock   clock // the hold and repeat timers

	applyMu sync.Mutex             // one Apply at a time
	onApply []func(*config.Config) // guarded by applyMu

	// mu guards everything below. A message is handled entirely under it,
	// so it sees the old mapping or the new one, never half of each; input
	// events and Close take it too.
	mu       sync.Mutex
	cfg      *config.Config
	listen   string // the address srv was asked to bind
	srv      *transport.UDP
	routes   *mux.Mux
	outs     []*output
	pwms     []*pwmOut
	ins      []*input
	encs     []*encoder
	sensors  []*sensor
	adcs     map[string]*adcConn
	jumpers  map[[2]string]bool
	subs     []func(Change)
	taps     []*tapFn // nil: a cancelled tap's place
	tapping  int      // taps not cancelled
	seq      uint64
	closed   bool
	orphans  []*output           // removed by a reload whose safe level failed: retried at Close
	fbLimits map[string]*fbLimit // feedback rate limits, by point name
	oldStats transport.Stats     // totals of the sockets a reload replaced

	out       atomic.Pointer[transport.UDP] // srv, for sends that must not take mu
	routesNow atomic.Pointer[mux.Mux]       // routes, for the reader's hold check without mu

	onHandled func() // tests: called after each message, set before Run

	req       mux.Request                                   // the request being handled, guarded by mu
	sendReply func(m *osc.Message, to netip.AddrPort) error // b.reply, made once

	handled, applied, unmatched, rejected, changes, deadInputs, reloads, coalesced, otherPanics atomic.Uint64

	closeOnce sync.Once
	closeErr  error
}

// NewBridge opens the pins the mapping names on backend, and only those, sets
// every output to its initial level, connects the simulator's jumpers when
// backend is the sim, binds the OSC socket and starts watching the inputs.
// On error, every output already opened is put at its safe level.
func NewBridge(cfg *config.Config, backend gpio.Backend, opt Options) (*Bridge, error) {
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	if opt.LogLines <= 0 {
		opt.LogLines = 20
	}
	b := &Bridge{log: log, opt: opt, backend: backend, jumpers: map[[2]string]bool{}}
	b.sim, _ = backend.(simulator)
	b.clock = opt.clock
	if b.clock == nil {
		b.clock = realClock{}
	}
	b.clock = guardedClock{clock: b.clock, log: log, panics: &b.otherPanics}
	b.sendReply = func(m *osc.Message, to netip.AddrPort) error {
		if err := b.reply(m, to); err != nil {
			return err
		}
		if b.tapping != 0 { // handlers answer under b.mu
			b.tap(Traffic{Time: time.Now(), Out: true, Peer: to.String(), Msg: m})
		}
		return nil
	}
	b.ctx, b.stop = context.WithCancel(context.Background())
	b.budget = logs.NewBudget(opt.LogLines, func(n int) {
		log.Info(fmt.Sprintf("%d log lines about single messages not shown in the last second (the bridge is busy; the counters at exit and /oscgpio/stats count everything)", n), "not_shown", n)
	})
	b.warns = logs.NewBudget(opt.LogLines, func(n int) {
		log.Warn(fmt.Sprintf("%d warnings about single messages not shown in the last second (the counters at exit and /oscgpio/stats count everything)", n), "not_shown", n)
	})
	b.send = sender.New(b.writeTo, sender.Options{Log: log, Resolve: opt.resolve})
	if err := b.Apply(cfg); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// Addr is the address the bridge receives OSC on.
func (b *Bridge) Addr() net.Addr {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.srv.Addr()
}

// reply encodes m and sends it to to from the listening socket.
func (b *Bridge) reply(m *osc.Message, to netip.AddrPort) error {
	data, err := codec.Encode(m)
	if err != nil {
		return err
	}
	return b.writeTo(data, to)
}

// writeTo sends from the listening socket, so a peer that answers to the
// source port reaches the bridge.
func (b *Bridge) writeTo(p []byte, to netip.AddrPort) error {
	srv := b.out.Load()
	if srv == nil {
		return errors.New("not listening")
	}
	return srv.WriteTo(p, to)
}

// Counters returns the running totals.
func (b *Bridge) Counters() Counters {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.countersLocked()
}

func (b *Bridge) countersLocked() Counters {
	st := b.oldStats
	if b.srv != nil {
		st = addStats(st, b.srv.Stats())
	}
	ss := b.send.Stats()
	return Counters{
		Packets: st.Packets, Filtered: st.Filtered, Denied: st.Denied, RateLimited: st.RateLimited, LoopLimited: st.LoopLimited, TooFarAhead: st.TooFarAhead, HeldDropped: st.HeldDropped, Messages: st.Messages, Malformed: st.Malformed, KernelDrops: st.KernelDrops,
		Scheduled: st.Scheduled, Panics: st.Panics + b.otherPanics.Load(),
		Handled: b.handled.Load(), Applied: b.applied.Load(), Coalesced: b.coalesced.Load(), Unmatched: b.unmatched.Load(), Rejected: b.rejected.Load(),
		Changes: b.changes.Load(), Sent: ss.Sent, SendErrors: ss.Errors, SendDropped: ss.Dropped,
		DeadInputs: b.deadInputs.Load(), Reloads: b.reloads.Load(), InputLost: b.inputLost(),
	}
}

// addOldStats keeps the totals of a socket a reload replaced.
func (b *Bridge) addOldStats(u *transport.UDP) {
	st := u.Stats()
	b.mu.Lock()
	b.oldStats = addStats(b.oldStats, st)
	b.mu.Unlock()
}

func addStats(a, c transport.Stats) transport.Stats {
	a.Packets += c.Packets
	a.Filtered += c.Filtered
	a.Denied += c.Denied
	a.RateLimited += c.RateLimited
	a.LoopLimited += c.LoopLimited
	a.Messages += c.Messages
	a.Malformed += c.Malformed
	a.KernelDrops += c.KernelDrops
	a.Scheduled += c.Scheduled
	a.HeldDropped += c.HeldDropped
	a.TooFarAhead += c.TooFarAhead
	a.Panics += c.Panics
	return a
}

// inputLost sums the changes the backend dropped on the inputs' pins. The
// caller holds b.mu.
func (b *Bridge) inputLost() uint64 {
	o, ok := b.backend.(interface{ Overflows(string) (uint64, error) })
	if !ok {
		return 0
	}
	var n uint64
	for _, in := range b.ins {
		if k, err := o.Overflows(in.cfg.Pin.Name()); err == nil {
			n += k
		}
	}
	return n
}

// LogValue lets a Counters be logged as one group of key=value pairs.
func (c Counters) LogValue() slog.Value {
	var attrs []slog.Attr
	for _, kv := range c.pairs() {
		attrs = append(attrs, slog.Uint64(kv.name, kv.value))
	}
	return slog.GroupValue(attrs...)
}

// Run serves OSC until ctx is done, then puts every output at its safe level
// and releases the pins and sockets (Close). A reload that changes the listen
// address moves Run to the new socket. It returns nil after a cancelled ctx,
// unless an output could not be put at its safe level.
func (b *Bridge) Run(ctx context.Context) (err error) {
	defer func() { err = errors.Join(err, b.Close()) }()
	b.mu.Lock()
	b.log.Info("oscgpio listening", append([]any{"addr", b.srv.Addr().String(), "gpio", b.backend.Name(), "mapping", b.cfg.File,
		"outputs", len(b.outs), "inputs", len(b.ins) + len(b.encs) + len(b.sensors)}, b.opt.StartAttrs...)...)
	b.mu.Unlock()
	for {
		b.mu.Lock()
		srv, closed := b.srv, b.closed
		b.mu.Unlock()
		if closed {
			return nil
		}
		err := srv.Serve(ctx, b.handle)
		if ctx.Err() != nil {
			return nil
		}
		// A reload that moved the bridge to a new socket closes the old
		// one; wait for that Apply to finish, then serve the new one.
		b.applyMu.Lock()
		b.mu.Lock()
		cur, closed := b.srv, b.closed
		b.mu.Unlock()
		b.applyMu.Unlock()
		switch {
		case closed:
			return nil
		case cur != srv:
			continue
		case err != nil:
			return err
		}
		return errors.New("the OSC socket was closed and could not be bound again: the bridge stops (see the log)")
	}
}

// Alive reports whether the engine answers: it takes the lock that every
// message, input event and timer takes, so a stuck handler makes it wait
// (until ctx is done, then false). systemd's watchdog asks it.
func (b *Bridge) Alive(ctx context.Context) bool {
	got := make(chan bool, 1)
	go func() {
		b.mu.Lock()
		closed := b.closed
		b.mu.Unlock()
		got <- !closed
	}()
	select {
	case ok := <-got:
		return ok
	case <-ctx.Done():
		return false
	}
}

// Close stops the handling of messages, puts every output at its safe level,
// stops the input watchers and releases the sockets and the pins. A message
// being handled finishes first; none is handled after. It is safe to call
// more than once and from any goroutine.
func (b *Bridge) Close() error {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.closed = true // from here no message, event or timer drives anything
		var errs []error
		for _, o := range append(b.outs, b.orphans...) {
			if err := b.safe(o, CauseSafe); err != nil {
				errs = append(errs, err)
			}
		}
		for _, o := range b.pwms {
			if err := b.safePWM(o, CauseSafe); err != nil {
				errs = append(errs, err)
			}
			o.closeAtExit()
		}
		ins, encs, sensors, adcs := b.ins, b.encs, b.sensors, b.adcs
		for _, in := range ins {
			in.stopHold()
		}
		srv := b.srv
		b.mu.Unlock()
		b.stop()
		if srv != nil {
			srv.Close()
		}
		b.send.Close()
		// Input watchers end when their wait is interrupted; do not let a
		// stuck driver hold the exit.
		for _, in := range ins {
			in.w.wait(100 * time.Millisecond)
		}
		for _, en := range encs {
			en.stop(100 * time.Millisecond)
		}
		for _, s := range sensors {
			s.stop(100 * time.Millisecond)
		}
		for _, a := range adcs {
			a.close()
		}
		if err := b.backend.Close(); err != nil {
			errs = append(errs, err)
		}
		b.budget.Flush()
		b.warns.Flush()
		b.closeErr = errors.Join(errs...)
	})
	return b.closeErr
}

// handle applies one received message. The server calls it from its one
// reader goroutine, in arrival order (bundle elements at their time tag).
func (b *Bridge) handle(m *osc.Message, from netip.AddrPort) {
	b.serve(m, from, b.sendReply)
}

// serve applies one message from from; send answers it (nil: no answer).
func (b *Bridge) serve(m *osc.Message, from netip.AddrPort, send func(*osc.Message, netip.AddrPort) error) {
	defer func() {
		b.handled.Add(1)
		if b.onHandled != nil {
			b.onHandled()
		}
	}()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	if b.logOK(slog.LevelInfo) {
		b.log.Info("recv", "osc", codec.Format(m), "from", from.String())
	}
	if b.tapping != 0 {
		b.tapIn(m, from.String())
	}
	r := &b.req // one request, reused: handlers run one at a time, under mu
	*r = mux.Request{Msg: m, From: from, Send: send}
	n := b.routes.Dispatch(r)
	*r = mux.Request{}
	if n == 0 {
		b.unmatched.Add(1)
		if b.logOK(slog.LevelInfo) {
			b.log.Info("no output is mapped to this address", "address", m.Address, "from", from.String())
		}
	}
}

// logOK reports whether a line about one message, at level, is to be
// written: the level is on and the line budget allows it. Check it before
// formatting anything.
func (b *Bridge) logOK(level slog.Level) bool {
	if !b.log.Enabled(context.Background(), level) {
		return false
	}
	if level >= slog.LevelWarn {
		return b.warns.Allow()
	}
	return b.budget.Allow()
}
