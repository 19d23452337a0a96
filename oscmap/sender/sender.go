// Package sender delivers encoded OSC messages to named destinations without
// ever making the caller wait: not for DNS, not for a full socket buffer,
// not for another destination.
//
// Each destination has a bounded queue. Send writes at once when the
// destination's address is known and nothing is queued before it; otherwise
// the message is queued, and the destination's own goroutine sends it when
// it can. When a queue is full the oldest message is dropped and counted. A
// host name is looked up by a goroutine of its own, outside every lock,
// retried with back-off (0.5 s doubling to 30 s) until it resolves; messages
// wait in the queue meanwhile.
package sender

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Writer sends one datagram. The bridge passes its listening socket's
// non-blocking WriteTo, so replies reach peers that answer the source port.
// It returns an error matching syscall.EAGAIN when the socket's buffer is full.
type Writer func(b []byte, to netip.AddrPort) error

// Dest names a destination: Addr is "host:port" as the mapping writes it.
type Dest struct {
	Name, Addr string
}

// Options adjust a Sender.
type Options struct {
	Queue   int                                                          // messages kept per destination; default 1024
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error) // default: net.DefaultResolver.LookupNetIP
	Log     *slog.Logger                                                 // default slog.Default()
	// MinBackoff and MaxBackoff bound the wait between two lookups of a
	// host name that failed; defaults 500ms and 30s.
	MinBackoff, MaxBackoff time.Duration
}

// Stats are running totals, for one destination or all of them.
type Stats struct {
	Sent    uint64 // datagrams written
	Dropped uint64 // oldest messages dropped from a full queue, or queued for a removed destination
	Errors  uint64 // writes that failed for another reason than a full buffer
	Queued  uint64 // messages waiting now
}

// Sender sends to a set of named destinations. It is safe for concurrent use.
type Sender struct {
	write Writer
	opt   Options
	log   *slog.Logger

	mu    sync.Mutex
	dests atomic.Pointer[map[string]*dest]
	gone  Stats // totals of removed destinations
	done  bool
}

// New returns a Sender writing with w.
func New(w Writer, opt Options) *Sender {
	if opt.Queue <= 0 {
		opt.Queue = 1024
	}
	if opt.Resolve == nil {
		opt.Resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	if opt.MinBackoff <= 0 {
		opt.MinBackoff = 500 * time.Millisecond
	}
	if opt.MaxBackoff < opt.MinBackoff {
		opt.MaxBackoff = max(30*time.Second, opt.MinBackoff)
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	s := &Sender{write: w, opt: opt, log: opt.Log}
	m := map[string]*dest{}
	s.dests.Store(&m)
	return s
}

// Set makes ds the destinations. One whose name and address are unchanged
// keeps its queue and its looked-up address; a removed or changed one is
// stopped and what it still had queued is dropped (counted). An address
// that is not host:port is an error for that destination only; the others
// are set.
func (s *Sender) Set(ds []Dest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return errors.New("sender: closed")
	}
	old := *s.dests.Load()
	next := make(map[string]*dest, len(ds))
	var errs []error
	for _, d := range ds {
		if o := old[d.Name]; o != nil && o.addr == d.Addr {
			next[d.Name] = o
			continue
		}
		nd, err := s.newDest(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		next[d.Name] = nd
	}
	for name, o := range old {
		if next[name] != o {
			s.retire(o)
		}
	}
	s.dests.Store(&next)
	return errors.Join(errs...)
}

func (s *Sender) retire(d *dest) {
	d.cancel()
	d.mu.Lock()
	n := uint64(d.q.len())
	d.q = ring{}
	d.mu.Unlock()
	d.dropped.Add(n)
	st := d.stats()
	s.gone.Sent += st.Sent
	s.gone.Dropped += st.Dropped
	s.gone.Errors += st.Errors
}

// Send sends data (which the Sender keeps; do not change it afterwards) to
// the destination called name. It never blocks. It returns an error only for
// an unknown name or a write that failed outright (both counted as Errors
// when the name is known).
func (s *Sender) Send(name string, data []byte) error {
	d := (*s.dests.Load())[name]
	if d == nil {
		return fmt.Errorf("sender: no destination %q", name)
	}
	return d.send(data)
}

// Stats returns the totals of every destination, removed ones included.
func (s *Sender) Stats() Stats {
	s.mu.Lock()
	t := s.gone
	s.mu.Unlock()
	for _, d := range *s.dests.Load() {
		st := d.stats()
		t.Sent += st.Sent
		t.Dropped += st.Dropped
		t.Errors += st.Errors
		t.Queued += st.Queued
	}
	return t
}

// DestStats returns one destination's totals.
func (s *Sender) DestStats(name string) (Stats, bool) {
	d := (*s.dests.Load())[name]
	if d == nil {
		return Stats{}, false
	}
	return d.stats(), true
}

// Close stops every destination's goroutines without waiting for them (a
// lookup stuck in the system's resolver must not delay a shutdown); queued
// messages are dropped. Sends after Close return an error.
func (s *Sender) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return
	}
	s.done = true
	for _, d := range *s.dests.Load() {
		s.retire(d)
	}
	empty := map[string]*dest{}
	s.dests.Store(&empty)
}

// dest is one destination: its queue, its address once known, its goroutine.
type dest struct {
	s          *Sender
	name, addr string
	ctx        context.Context
	cancel     context.CancelFunc
	wake       chan struct{}

	to atomic.Pointer[netip.AddrPort] // nil until looked up

	mu sync.Mutex
	q  ring

	sent, dropped, errs atomic.Uint64
}

func (s *Sender) newDest(d Dest) (*dest, error) {
	host, port, err := net.SplitHostPort(d.Addr)
	if err != nil {
		return nil, fmt.Errorf("destination %q: %q is not host:port (like 127.0.0.1:5006): %w", d.Name, d.Addr, err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return nil, fmt.Errorf("destination %q: port %q is not a number from 1 to 65535", d.Name, port)
	}
	ctx, cancel := context.WithCancel(context.Background())
	nd := &dest{s: s, name: d.Name, addr: d.Addr, ctx: ctx, cancel: cancel, wake: make(chan struct{}, 1), q: ring{max: s.opt.Queue}}
	if ip, err := netip.ParseAddr(host); err == nil {
		ap := netip.AddrPortFrom(ip.Unmap(), uint16(p))
		nd.to.Store(&ap)
	} else {
		go nd.resolve(host, uint16(p))
	}
	go nd.run()
	return nd, nil
}

func (d *dest) stats() Stats {
	d.mu.Lock()
	q := d.q.len()
	d.mu.Unlock()
	return Stats{Sent: d.sent.Load(), Dropped: d.dropped.Load(), Errors: d.errs.Load(), Queued: uint64(q)}
}

// wouldBlock reports whether err means "the socket buffer is full, try later".
func wouldBlock(err error) bool {
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) || errors.Is(err, syscall.ENOBUFS)
}

func (d *dest) send(data []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx.Err() != nil {
		d.dropped.Add(1)
		return fmt.Errorf("sender: destination %q was removed", d.name)
	}
	if to := d.to.Load(); to != nil && d.q.len() == 0 {
		err := d.s.write(data, *to)
		switch {
		case err == nil:
			d.sent.Add(1)
			return nil
		case !wouldBlock(err):
			d.errs.Add(1)
			return fmt.Errorf("send to %s (%s): %w", d.name, to, err)
		}
	}
	if d.q.push(data) {
		d.dropped.Add(1)
	}
	select {
	case d.wake <- struct{}{}:
	default:
	}
	return nil
}

// run sends what is queued once the address is known, in order.
func (d *dest) run() {
	var retry *time.Timer
	for {
		var tick <-chan time.Time
		if retry != nil {
			tick = retry.C
		}
		select {
		case <-d.ctx.Done():
			return
		case <-d.wake:
		case <-tick:
			retry = nil
		}
		for {
			d.mu.Lock()
			to := d.to.Load()
			if to == nil || d.q.len() == 0 || d.ctx.Err() != nil {
				d.mu.Unlock()
				break
			}
			err := d.s.write(d.q.peek(), *to)
			if wouldBlock(err) {
				d.mu.Unlock()
				if retry == nil {
					retry = time.NewTimer(time.Millisecond)
				}
				break
			}
			d.q.pop()
			if err != nil {
				d.errs.Add(1)
			} else {
				d.sent.Add(1)
			}
			d.mu.Unlock()
		}
	}
}

// resolve looks host up until it succeeds or the destination is stopped.
func (d *dest) resolve(host string, port uint16) {
	wait := d.s.opt.MinBackoff
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(d.ctx, 10*time.Second)
		ips, err := d.s.opt.Resolve(ctx, host)
		cancel()
		if d.ctx.Err() != nil {
			return
		}
		if err == nil {
			if ip, ok := pick(ips); ok {
				ap := netip.AddrPortFrom(ip, port)
				d.to.Store(&ap)
				d.s.log.Info("destination found", "name", d.name, "host", host, "addr", ap.String(), "attempt", attempt)
				select {
				case d.wake <- struct{}{}:
				default:
				}
				return
			}
			err = errors.New("no address")
		}
		d.s.log.Warn("destination not found; messages to it wait in its queue", "name", d.name, "host", host,
			"err", err, "retry_in", wait.String())
		t := time.NewTimer(wait)
		select {
		case <-d.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, d.s.opt.MaxBackoff)
	}
}

// pick prefers an IPv4 address: the bridge's socket may be IPv4 only.
func pick(ips []netip.Addr) (netip.Addr, bool) {
	for _, ip := range ips {
		if ip.Unmap().Is4() {
			return ip.Unmap(), true
		}
	}
	if len(ips) > 0 {
		return ips[0], true
	}
	return netip.Addr{}, false
}

// ring is a bounded FIFO of datagrams that drops its oldest when full.
type ring struct {
	buf        [][]byte
	head, size int
	max        int
}

func (r *ring) len() int { return r.size }

// push appends b and reports whether the oldest was dropped to make room.
func (r *ring) push(b []byte) (dropped bool) {
	if r.buf == nil {
		r.buf = make([][]byte, max(r.max, 1))
	}
	if r.size == len(r.buf) {
		r.buf[r.head] = nil
		r.head = (r.head + 1) % len(r.buf)
		r.size--
		dropped = true
	}
	r.buf[(r.head+r.size)%len(r.buf)] = b
	r.size++
	return dropped
}

func (r *ring) peek() []byte { return r.buf[r.head] }

func (r *ring) pop() {
	r.buf[r.head] = nil
	r.head = (r.head + 1) % len(r.buf)
	r.size--
}
