package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/oscmap/codec"
)

const (
	// readBufferSize is the receive buffer asked of the kernel. Linux's
	// default (212992 bytes) holds only a few hundred small datagrams.
	readBufferSize = 4 << 20
	// maxReadErrors is how many read errors in a row end Serve.
	maxReadErrors = 100
	// yieldEvery is how many datagrams Serve serves before it lets other
	// goroutines run, when it runs on one processor (one recvmmsg batch on
	// Linux).
	yieldEvery = 16
)

// A Handler receives each message of a UDP transport with the address it came
// from. It is called from Serve's goroutine, one message at a time. The
// message is the transport's until the handler returns: Serve reuses it for
// a later datagram, so a handler that keeps it longer keeps a copy
// (codec.Clone).
type Handler func(m *osc.Message, from netip.AddrPort)

// Options are the settings of a UDP transport beyond its address.
type Options struct {
	// Filter, when not nil, is asked about every datagram before it is
	// decoded, with its sender and its size in bytes. A datagram it refuses
	// (false) is counted in Stats.Filtered and dropped without being decoded
	// or logged. It is asked after Allow and Limiter, from Serve's goroutine,
	// so it needs no locking against itself, and it must not block.
	Filter func(from netip.AddrPort, size int) bool
	// Allow, when not nil, is the list of senders that may send: a datagram
	// from any other address is counted (Stats.Denied, and per sender:
	// UDP.DeniedSenders) and dropped before the rate limit, Filter and
	// decoding. On Linux it is also installed in the kernel (see WithAllow).
	Allow *Allow
	// Limiter, when not nil, limits each sender's datagrams (a token bucket
	// per sender address, one token a datagram, a bundle included): the
	// excess is counted (Stats.RateLimited, and per sender:
	// UDP.RateLimitedSenders) and dropped after the allow check and before
	// Filter and decoding. A Limiter serves one transport.
	Limiter *Limiter
	// MaxAhead, when above 0, refuses a bundle element dated more than
	// that after now: it is counted (Stats.TooFarAhead) and dropped, so a
	// sender cannot fill the hold queue with cues for the distant future.
	MaxAhead time.Duration
	// Hold, when not nil, is asked before a message is held for a future
	// time tag: a message whose address it refuses (the mapping routes it
	// nowhere) is dropped and counted (Stats.HeldDropped) instead of taking
	// a place in the queue.
	Hold func(address string) bool

	// LoopLimit, when its Rate is above 0, limits the datagrams that come
	// from the transport's own socket (its port, on one of this host's
	// addresses): a mapping whose destination is the bridge itself, by any
	// name. The excess is counted (Stats.LoopLimited), logged at most once
	// a second, and dropped before the allow check, so such a loop runs at
	// that rate at most instead of as fast as the CPU allows.
	LoopLimit RateLimit

	userspaceAllow bool // tests and measurements: do not install Allow in the kernel
	singleReads    bool // measurements: one datagram per system call, as before recvmmsg
}

// An Option sets one of the Options of ListenUDP.
type Option func(*Options)

// WithLoopLimit sets Options.LoopLimit.
func WithLoopLimit(r RateLimit) Option { return func(o *Options) { o.LoopLimit = r } }

// WithHold sets Options.Hold.
func WithHold(f func(address string) bool) Option { return func(o *Options) { o.Hold = f } }

// WithMaxAhead sets Options.MaxAhead.
func WithMaxAhead(d time.Duration) Option { return func(o *Options) { o.MaxAhead = d } }

// WithFilter sets Options.Filter.
func WithFilter(f func(from netip.AddrPort, size int) bool) Option {
	return func(o *Options) { o.Filter = f }
}

// WithAllow sets Options.Allow: only the senders a allows may send.
//
// On Linux, ListenUDP also installs a in the kernel as a classic BPF socket
// filter (SO_ATTACH_FILTER) that checks the IP source address of each
// datagram, IPv4 on an IPv4 socket, IPv4 and IPv6 on an IPv6 (dual-stack)
// one. The kernel then drops a stranger's datagrams before they take room in
// the socket's receive buffer or wake the transport, so they are not counted
// per sender, nor in Stats.Packets or Stats.Denied: Linux counts them with the
// socket's drops, in Stats.KernelDrops. ListenUDP logs which way the list
// works; when the filter cannot be installed (another system, or the kernel
// refused it), the check in Serve does all the work. Serve checks the list
// in any case: datagrams queued before the filter was installed are counted
// in Stats.Denied. The kernel's drops are read while allowed datagrams
// arrive and at Close, so a denied flood alone shows in Stats.KernelDrops
// when the next allowed datagram comes.
func WithAllow(a *Allow) Option {
	return func(o *Options) { o.Allow = a }
}

// WithRateLimit sets Options.Limiter to a new Limiter: def for every sender,
// except the senders in one of per's prefixes (the longest that holds the
// sender wins).
func WithRateLimit(def RateLimit, per ...PrefixRateLimit) Option {
	return WithLimiter(NewLimiter(def, per, nil))
}

// WithLimiter sets Options.Limiter to l (made with NewLimiter, for its clock).
func WithLimiter(l *Limiter) Option {
	return func(o *Options) { o.Limiter = l }
}

// Stats are a UDP transport's running totals.
type Stats struct {
	// Packets counts the datagrams Serve read: denied, rate-limited,
	// filtered and malformed ones included (not those the kernel dropped).
	Packets uint64
	// Denied counts the datagrams dropped in Serve because their sender is
	// not in Options.Allow (a subset of Packets). The ones the kernel's
	// filter dropped are not here but in KernelDrops (see WithAllow).
	Denied uint64
	// RateLimited counts the datagrams dropped because their sender was over
	// its rate limit (a subset of Packets).
	RateLimited uint64
	// LoopLimited counts the datagrams from the socket itself over
	// Options.LoopLimit.
	LoopLimited uint64
	// Filtered counts the datagrams Options.Filter refused (a subset of
	// Packets); they are not decoded.
	Filtered uint64
	// Messages counts the messages of the well-formed datagrams, bundle
	// elements included, whether handled at once or scheduled.
	Messages uint64
	// Malformed counts the datagrams dropped because codec.Decode rejected
	// them, the ones with more than codec.MaxMessages messages included.
	Malformed uint64
	// KernelDrops counts the datagrams the kernel dropped at the socket
	// because its receive buffer was full: the transport was sent more than
	// it read in time, or, with Options.Allow installed in the kernel,
	// because their sender was not allowed. Linux only (read from the socket with SO_MEMINFO every
	// 250 ms while datagrams arrive, and once more at Close); always 0 on
	// other systems.
	KernelDrops uint64
	// Scheduled counts the messages held for a future time tag (a subset of
	// Messages).
	Scheduled uint64
	// HeldDropped counts the messages with a future time tag dropped because
	// the held messages were at their limit (see UDP.Serve).
	HeldDropped uint64
	// TooFarAhead counts the messages refused because their time tag was
	// further ahead than Options.MaxAhead.
	TooFarAhead uint64
	// Panics counts the calls of the handler that panicked.
	Panics uint64
}

// ErrWouldBlock is the error (tested with errors.Is) of a UDP.WriteTo that did
// not send because the socket's send buffer was full: WriteTo never waits.
var ErrWouldBlock = errors.New("the socket's send buffer is full")

// A UDP transport receives OSC datagrams on one UDP socket and sends from the
// same socket. Create it with ListenUDP, then call Serve.
type UDP struct {
	conn   *net.UDPConn
	log    *slog.Logger
	opts   Options
	sock   sockInfo // what the kernel tells about the socket
	rcvbuf int      // receive buffer the kernel granted, 0 if unknown

	packets, filtered, messages, malformed, scheduled, heldDropped, tooFar, panics atomic.Uint64
	drops                                                                          dropCounter
	denied                                                                         senderCounts
	received                                                                       senderCounts // every datagram read, by sender
	kernelAllow                                                                    bool         // Options.Allow is installed in the kernel
	self                                                                           selfSet      // the socket's own addresses, with LoopLimit
	loop                                                                           *Limiter     // LoopLimit's bucket, nil without it

	serving   atomic.Bool
	closing   atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// ListenUDP binds the UDP socket addr ("host:port"; port 0 picks a free one,
// see Addr) and asks the kernel for a 4 MiB receive buffer, so that a burst
// of messages is queued rather than dropped. The size granted is logged: at
// debug level when it is what was asked, at info level with the sysctl to
// raise it when it is smaller. log may be nil for slog.Default().
func ListenUDP(addr string, log *slog.Logger, opts ...Option) (*UDP, error) {
	if log == nil {
		log = slog.Default()
	}
	if addr == "" {
		return nil, errors.New("listen: no address: give host:port, like 127.0.0.1:5005")
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w (want host:port, like 127.0.0.1:5005)", addr, err)
	}
	conn, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, listenError(addr, err)
	}
	u := &UDP{conn: conn, log: log}
	for _, o := range opts {
		o(&u.opts)
	}
	u.rcvbuf, u.sock = tuneSocket(conn, readBufferSize, log)
	switch {
	case u.rcvbuf == 0:
		log.Debug("UDP receive buffer requested", "addr", u.Addr().String(), "requested", readBufferSize)
	case u.rcvbuf < readBufferSize:
		log.Info("UDP receive buffer smaller than requested: a burst of messages may be dropped (raise the limit with: sysctl -w net.core.rmem_max=4194304)",
			"addr", u.Addr().String(), "requested", readBufferSize, "granted", u.rcvbuf)
	default:
		log.Debug("UDP receive buffer", "addr", u.Addr().String(), "requested", readBufferSize, "granted", u.rcvbuf)
	}
	if a := u.opts.Allow; a != nil {
		u.installAllow(a)
	}
	if u.opts.LoopLimit.Rate > 0 {
		u.self = selfAddrs(conn.LocalAddr().(*net.UDPAddr))
		u.loop = NewLimiter(u.opts.LoopLimit, nil, nil)
	}
	if !u.sock.dropsOK {
		log.Debug("the kernel does not report drops at this socket: Stats.KernelDrops stays 0", "addr", u.Addr().String())
	}
	return u, nil
}

// installAllow installs a in the kernel when it can, and logs which way the
// allow list works.
func (u *UDP) installAllow(a *Allow) {
	addr := u.Addr().String()
	if !kernelFilterSupported || u.opts.userspaceAllow {
		why := "kernel socket filters need Linux"
		if kernelFilterSupported {
			why = "not installed in the kernel"
		}
		u.log.Info("allow list checked for each datagram by the bridge ("+why+")", "addr", addr, "allow", a.String())
		return
	}
	if err := attachAllow(u.conn, a, u.sock); err != nil {
		u.log.Warn("allow list not installed in the kernel: the bridge checks each datagram itself, so a stranger's flood still fills the receive buffer",
			"addr", addr, "allow", a.String(), "err", err.Error())
		return
	}
	u.kernelAllow = true
	u.log.Info("allow list installed in the kernel (BPF socket filter): datagrams from other senders are dropped before they reach the bridge and counted with the kernel's drops",
		"addr", addr, "allow", a.String())
}

// KernelAllow reports whether Options.Allow is installed in the kernel as a
// socket filter (see WithAllow).
func (u *UDP) KernelAllow() bool { return u.kernelAllow }

// DeniedSenders returns the n senders with the most datagrams dropped by the
// allow check in Serve, most first. Senders beyond the first 4096 are counted
// together, as one entry with an invalid Addr. The kernel's filter drops are
// not seen per sender.
func (u *UDP) DeniedSenders(n int) []SenderCount { return u.denied.top(n) }

// TopSenders returns the n senders with the most datagrams read (Serve's
// Stats.Packets: denied, limited and malformed ones included), most first:
// who is sending the volume. Senders beyond the first 4096 are counted
// together, as one entry with an invalid Addr; what the kernel dropped is not
// seen per sender.
func (u *UDP) TopSenders(n int) []SenderCount { return u.received.top(n) }

// RateLimitedSenders returns the n senders with the most datagrams dropped by
// the rate limit, most first (nil without Options.Limiter).
func (u *UDP) RateLimitedSenders(n int) []SenderCount {
	if u.opts.Limiter == nil {
		return nil
	}
	return u.opts.Limiter.Top(n)
}

func listenError(addr string, err error) error {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("listen on UDP %s: %w: another program (another oscgpio, or the python-osc tutorial's server) is using that port; stop it or choose another port", addr, err)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("listen on UDP %s: %w: ports below 1024 need root; use a port like 5005", addr, err)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Errorf("listen on UDP %s: %w: this machine has no interface with that IP address; use 0.0.0.0 for every interface or 127.0.0.1 for this machine only", addr, err)
	}
	return fmt.Errorf("listen on UDP %s: %w", addr, err)
}

// Addr is the address the transport receives on, with the port the kernel
// chose when ListenUDP was given port 0.
func (u *UDP) Addr() net.Addr { return u.conn.LocalAddr() }

// Stats returns the running totals. It is safe to call at any time, from any
// goroutine, and does not touch the socket.
func (u *UDP) Stats() Stats {
	var limited, looped uint64
	if l := u.opts.Limiter; l != nil {
		limited = l.Limited()
	}
	if u.loop != nil {
		looped = u.loop.Limited()
	}
	return Stats{
		Packets:     u.packets.Load(),
		Denied:      u.denied.sum(),
		RateLimited: limited,
		LoopLimited: looped,
		Filtered:    u.filtered.Load(),
		Messages:    u.messages.Load(),
		Malformed:   u.malformed.Load(),
		KernelDrops: u.drops.total.Load(),
		Scheduled:   u.scheduled.Load(),
		HeldDropped: u.heldDropped.Load(),
		TooFarAhead: u.tooFar.Load(),
		Panics:      u.panics.Load(),
	}
}

// Close reads the kernel's drop counter one last time (Stats.KernelDrops),
// then closes the socket; a running Serve returns nil once the handler call
// in progress, if any, has returned. Close may be called more than once.
func (u *UDP) Close() error {
	u.closeOnce.Do(func() {
		u.closing.Store(true)
		u.readDrops()
		u.closeErr = u.conn.Close()
	})
	return u.closeErr
}

// WriteTo sends the datagram b to to from the listening socket, so that a
// peer that answers to the source port reaches this transport. It never
// waits: when the socket's send buffer is full the datagram is not sent and
// the error matches errors.Is(err, ErrWouldBlock). It is safe to call from
// any goroutine, the handler included. An IPv4 address is sent to as such
// from a socket bound to every interface (IPv6 and IPv4).
func (u *UDP) WriteTo(b []byte, to netip.AddrPort) error {
	if !to.IsValid() || to.Port() == 0 {
		return fmt.Errorf("send %d bytes to %v: not an address with a port", len(b), to)
	}
	if err := sendTo(u.conn, u.sock, b, to); err != nil {
		if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.ENOBUFS) {
			return fmt.Errorf("send %d bytes to %s from %s: %w (%v)", len(b), to, u.Addr(), ErrWouldBlock, err)
		}
		return fmt.Errorf("send %d bytes to %s from %s: %w", len(b), to, u.Addr(), err)
	}
	return nil
}

// Serve reads datagrams until ctx is cancelled or Close is called, and then
// returns nil (and the socket is closed). It returns an error only when the
// socket fails 100 times in a row, or when Serve is already running. Serve
// returns only after the handler call in progress has returned: once Serve
// has returned, h is not called any more.
//
// One goroutine, the caller's, reads the socket, and h is called from it for
// each message, one at a time, in the order the datagrams arrived and, in a
// bundle, in the order of its elements. On Linux it reads up to 16 queued
// datagrams with one system call (recvmmsg), which drains a full receive
// buffer about a fifth faster than one call per datagram; elsewhere one at a
// time. So h needs no locking against itself,
// and "/led 1" then "/led 0" sent back to back always end with the LED off.
// A handler that blocks delays everything behind it.
//
// Bundle elements whose time tag is in the future are held and h is called
// for them, from the same goroutine, when they are due (messages due at the
// same time keep their arrival order). At most 65536 messages are held, of at
// most 4 MiB in all (their measured memory: the decoded message and its place
// in the queue); a message beyond either limit is dropped, counted
// (Stats.HeldDropped) and logged at most once a second. Messages still held
// when Serve returns are dropped.
//
// Before decoding, a datagram from a sender not in Options.Allow is counted
// (Stats.Denied, UDP.DeniedSenders) and dropped; then one over its sender's
// rate limit (Options.Limiter) is counted (Stats.RateLimited,
// UDP.RateLimitedSenders) and dropped, and the senders being limited are
// logged as a warning at most once a second, with how many of their
// datagrams were dropped; then a datagram that Options.Filter refuses is
// counted (Stats.Filtered) and dropped. None of these is logged one by one. A malformed datagram is counted (Stats.Malformed), logged as a
// warning with the sender and the reason at most once a second (then a line
// saying how many more were suppressed), and the next datagram is served. A
// panic in h is recovered, logged with its stack and counted (Stats.Panics);
// Serve goes on with the next message. On Linux, datagrams the kernel
// dropped because the receive buffer was full are counted
// (Stats.KernelDrops) and logged as a warning with the total, at most once a
// second.
func (u *UDP) Serve(ctx context.Context, h Handler) error {
	if h == nil {
		return errors.New("transport: Serve needs a handler, got nil")
	}
	if !u.serving.CompareAndSwap(false, true) {
		return fmt.Errorf("transport: Serve is already running on %s", u.Addr())
	}
	defer u.serving.Store(false)
	stop := context.AfterFunc(ctx, func() { u.Close() })
	defer stop()
	if ctx.Err() != nil {
		u.Close()
		return nil
	}

	r := &reader{u: u, h: h, ctx: ctx}
	defer r.finish()
	if u.sock.dropsOK {
		r.activity = make(chan struct{}, 1)
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			u.watchDrops(r.activity, done, realClock)
		}()
		defer wg.Wait()
		defer close(done)
	}
	var rd datagramReader
	if u.opts.singleReads {
		rd = newSingleReader(u.conn)
	} else {
		rd = newDatagramReader(u.conn, u.sock)
	}
	var deadline time.Time
	errs, served := 0, 0
	// With more than one processor the others run beside this goroutine,
	// and a yield would only move it between threads.
	yield := runtime.GOMAXPROCS(0) == 1
	for {
		if r.beforeDatagram() {
			return nil
		}
		if wake := r.nextWake(); !wake.Equal(deadline) {
			if err := u.conn.SetReadDeadline(wake); err != nil && u.closed(err) {
				return nil
			}
			deadline = wake
		}
		n, err := rd.read()
		if err != nil {
			if u.closed(err) {
				return nil
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			if errs++; errs >= maxReadErrors {
				return fmt.Errorf("read OSC from UDP %s: %d errors in a row, the last: %w", u.Addr(), errs, err)
			}
			u.log.Warn("reading the UDP socket failed; retrying", "addr", u.Addr().String(), "err", err.Error())
			time.Sleep(10 * time.Millisecond)
			continue
		}
		errs = 0
		for i := range n {
			// The datagrams of one read are served as if read one by one:
			// held messages due and log lines first.
			if i > 0 && r.beforeDatagram() {
				return nil
			}
			b, from := rd.datagram(i)
			r.datagram(b, from)
		}
		if served += n; yield && served >= yieldEvery {
			// Many datagrams in a row: more are likely waiting, and this
			// goroutine would go on reading without a pause. Let the others
			// run first (an input's watcher, the senders): with one processor
			// they would otherwise wait for the scheduler's 10 ms preemption
			// while their queues grow.
			served = 0
			runtime.Gosched()
		}
	}
}

// beforeDatagram runs what is due before the next datagram is served: held
// messages, log lines. It reports whether Serve must return.
func (r *reader) beforeDatagram() bool {
	now := time.Now()
	r.runDue(now)
	r.flushSuppressed(now)
	r.rateReport(now, false)
	return r.stopped()
}

// datagram serves one datagram: counted (and signalled to the drop
// watcher), then checked against the loop limit, the allow list, the rate
// limit and the filter, then decoded and handled.
func (r *reader) datagram(b []byte, from netip.AddrPort) {
	u := r.u
	u.packets.Add(1)
	if r.activity != nil { // after the count: see watchDrops
		select {
		case r.activity <- struct{}{}:
		default:
		}
	}
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	u.received.add(from.Addr())
	if u.loop != nil && u.self.has(from) && !u.loop.Allow(from.Addr()) {
		r.loopReport(time.Now())
		return
	}
	if a := u.opts.Allow; a != nil && !a.Allows(from.Addr()) {
		u.denied.add(from.Addr())
		return
	}
	if l := u.opts.Limiter; l != nil && !l.Allow(from.Addr()) {
		r.rateReport(time.Now(), false)
		return
	}
	if f := u.opts.Filter; f != nil && !f(from, len(b)) {
		u.filtered.Add(1)
		return
	}
	r.packet(b, from)
}

func (u *UDP) closed(err error) bool {
	return u.closing.Load() || errors.Is(err, net.ErrClosed)
}

// reader is the state of one Serve call, used by its goroutine only.
type reader struct {
	u        *UDP
	h        Handler
	ctx      context.Context
	activity chan struct{} // a datagram was read (for the drop watcher)
	sched    scheduler

	badLast       time.Time       // last malformed-packet line
	badSuppressed int             // malformed packets not logged since
	fullLast      time.Time       // last "too many held" line
	elems         []codec.Element // reused for every datagram
	dec           codec.Decoder   // reuses the messages of the datagram before
	rateNext      time.Time       // the rate-limit log's next line is not before this
	loopNext      time.Time       // the loop warning's next line is not before this
}

// rateReport logs the senders the rate limit dropped since the last line,
// if any, unless the last line is less than a second old (final: whatever
// its age).
func (r *reader) rateReport(now time.Time, final bool) {
	l := r.u.opts.Limiter
	if l == nil || !l.hasPending() || (!final && now.Before(r.rateNext)) {
		return
	}
	if attrs := l.report(true); attrs != nil {
		r.u.log.Warn("senders over their rate limit: the excess is dropped", append([]any{"addr", r.u.Addr().String()}, attrs...)...)
	}
	r.rateNext = now.Add(time.Second)
}

// loopReport warns, at most once a second, that the socket receives its own
// datagrams over the loop limit.
func (r *reader) loopReport(now time.Time) {
	if now.Before(r.loopNext) {
		return
	}
	r.loopNext = now.Add(time.Second)
	r.u.log.Warn("the bridge receives its own messages faster than its loop limit: a destination of the mapping is the bridge itself (check destinations:); the excess is dropped",
		"addr", r.u.Addr().String(), "limit", r.u.opts.LoopLimit.String(), "loop_limited", r.u.loop.Limited())
}

// rateWake is when the rate-limit log has a line to write; zero: none.
func (r *reader) rateWake() time.Time {
	if l := r.u.opts.Limiter; l != nil && l.hasPending() {
		return r.rateNext
	}
	return time.Time{}
}

// stopped reports whether Serve must return: Close was called or ctx is done.
func (r *reader) stopped() bool {
	return r.u.closing.Load() || r.ctx.Err() != nil
}

// packet handles one datagram.
func (r *reader) packet(b []byte, from netip.AddrPort) {
	elems, err := r.dec.Decode(r.elems, b)
	r.elems = elems[:0]
	defer clear(elems) // the handler is done with them; let them be collected
	if err != nil {
		r.u.malformed.Add(1)
		r.malformedPacket(b, from, err)
		return
	}
	r.u.messages.Add(uint64(len(elems)))
	now := time.Now()
	for _, e := range elems {
		if r.stopped() {
			return
		}
		if !e.At.IsZero() && e.At.After(now) {
			r.schedule(now, e, from)
			continue
		}
		r.call(e.Msg, from)
	}
}

// call calls the handler, recovering a panic.
func (r *reader) call(m *osc.Message, from netip.AddrPort) {
	defer func() {
		if p := recover(); p != nil {
			r.u.panics.Add(1)
			r.u.log.Error("OSC handler panicked; the message is dropped and the server goes on",
				"address", m.Address, "from", from.String(), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	r.h(m, from)
}

func (r *reader) malformedPacket(b []byte, from netip.AddrPort, err error) {
	now := time.Now()
	if !r.badLast.IsZero() && now.Sub(r.badLast) < time.Second {
		r.badSuppressed++
		return
	}
	r.flushSuppressed(now)
	r.badLast = now
	r.u.log.Warn("malformed OSC packet dropped", "from", from.String(), "bytes", len(b), "err", err.Error(),
		"start", string(b[:min(len(b), 24)]))
}

// flushSuppressed logs how many malformed packets were not logged, once the
// second after the last line is over.
func (r *reader) flushSuppressed(now time.Time) {
	if r.badSuppressed == 0 || now.Sub(r.badLast) < time.Second {
		return
	}
	r.u.log.Warn(fmt.Sprintf("%d more malformed OSC packets suppressed", r.badSuppressed), "count", r.badSuppressed)
	r.badSuppressed = 0
	r.badLast = now
}

// schedule holds a message until e.At, or drops it when the held messages
// are at their limit.
func (r *reader) schedule(now time.Time, e codec.Element, from netip.AddrPort) {
	if max := r.u.opts.MaxAhead; max > 0 && e.At.Sub(now) > max {
		r.u.tooFar.Add(1)
		if now.Sub(r.fullLast) >= time.Second {
			r.fullLast = now
			r.u.log.Warn("a message dated too far ahead is refused (max_schedule_ahead)",
				"address", e.Msg.Address, "from", from.String(), "at", e.At, "max_ahead", max.String())
		}
		return
	}
	if hold := r.u.opts.Hold; hold != nil && !hold(e.Msg.Address) {
		r.u.heldDropped.Add(1)
		return // routed nowhere: it would only take a place in the queue
	}
	if !r.sched.push(now, e, from) {
		r.u.heldDropped.Add(1)
		if now.Sub(r.fullLast) >= time.Second {
			r.fullLast = now
			r.u.log.Warn("too many messages held for a future time tag: this one is dropped",
				"address", e.Msg.Address, "from", from.String(), "held", r.sched.len(), "held_bytes", r.sched.bytes(), "at", e.At)
		}
		return
	}
	r.u.scheduled.Add(1)
}

// runDue calls the handler for the held messages that are due.
func (r *reader) runDue(now time.Time) {
	for !r.stopped() {
		m, ok := r.sched.popDue(now)
		if !ok {
			return
		}
		r.call(m.msg, m.from)
	}
}

// nextWake is when the reader must stop waiting for a datagram: the next
// held message, or the end of the malformed-packet log second. Zero: never.
func (r *reader) nextWake() time.Time {
	t := r.sched.next()
	if w := r.rateWake(); !w.IsZero() && (t.IsZero() || w.Before(t)) {
		t = w
	}
	if r.badSuppressed > 0 {
		if end := r.badLast.Add(time.Second); t.IsZero() || end.Before(t) {
			t = end
		}
	}
	return t
}

func (r *reader) finish() {
	r.flushSuppressed(r.badLast.Add(time.Second))
	r.rateReport(time.Now(), true)
	if n := r.sched.len(); n > 0 {
		r.u.log.Info("OSC server stopped with messages held for a future time tag; they are dropped", "count", n)
	}
}
