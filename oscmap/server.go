package oscmap

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hypebeast/go-osc/osc"
)

const (
	// readBufferSize is the receive buffer asked of the kernel. Linux's
	// default (212992 bytes) holds only a few hundred small datagrams.
	readBufferSize = 4 << 20
	// maxPending bounds the messages held for a future time tag, and
	// maxPendingBytes their size (see heldSize), so that bundles dated far
	// ahead cannot grow the process until the kernel kills it.
	maxPending      = 1 << 16
	maxPendingBytes = 8 << 20
	// maxReadErrors is how many read errors in a row end Serve.
	maxReadErrors = 100
)

// Stats are a Server's running totals.
type Stats struct {
	// Packets counts the datagrams received, malformed ones included.
	Packets uint64
	// Messages counts the messages of the well-formed datagrams, bundle
	// elements included, whether applied at once or scheduled.
	Messages uint64
	// Malformed counts the datagrams dropped because Decode rejected them.
	Malformed uint64
	// KernelDrops counts the datagrams the kernel dropped at the socket
	// because its receive buffer was full: the server was sent more than it
	// read in time. Linux only (SO_RXQ_OVFL); always 0 on other systems. The
	// kernel reports drops with the next datagram it delivers.
	KernelDrops uint64
	// Scheduled counts the messages held for a future time tag (a subset of
	// Messages).
	Scheduled uint64
	// Panics counts the calls of the handler that panicked.
	Panics uint64
}

// A Server receives OSC over one UDP socket. Create it with Listen, then call
// Serve.
type Server struct {
	conn    *net.UDPConn
	log     *slog.Logger
	rcvbuf  int  // receive buffer the kernel granted, 0 if unknown
	dropsOK bool // the kernel reports drops at the socket

	packets, messages, malformed, kernelDrops, scheduled, panics atomic.Uint64

	serving   atomic.Bool
	closing   atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// Listen binds the UDP socket addr ("host:port"; port 0 picks a free one,
// see Addr) and asks the kernel for a 4 MiB receive buffer, so that a burst
// of messages is queued rather than dropped. The size granted is logged: at
// debug level when it is what was asked, at info level with the sysctl to
// raise it when it is smaller. log may be nil for slog.Default().
func Listen(addr string, log *slog.Logger) (*Server, error) {
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
	s := &Server{conn: conn, log: log}
	s.rcvbuf, s.dropsOK = tuneSocket(conn, readBufferSize, log)
	switch {
	case s.rcvbuf == 0:
		log.Debug("UDP receive buffer requested", "addr", s.Addr().String(), "requested", readBufferSize)
	case s.rcvbuf < readBufferSize:
		log.Info("UDP receive buffer smaller than requested: a burst of messages may be dropped (raise the limit with: sysctl -w net.core.rmem_max=4194304)",
			"addr", s.Addr().String(), "requested", readBufferSize, "granted", s.rcvbuf)
	default:
		log.Debug("UDP receive buffer", "addr", s.Addr().String(), "requested", readBufferSize, "granted", s.rcvbuf)
	}
	if !s.dropsOK {
		log.Debug("the kernel does not report drops at this socket: Stats.KernelDrops stays 0", "addr", s.Addr().String())
	}
	return s, nil
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

// Addr is the address the server receives on, with the port the kernel chose
// when Listen was given port 0.
func (s *Server) Addr() net.Addr { return s.conn.LocalAddr() }

// Stats returns the running totals. It is safe to call at any time, from any
// goroutine.
func (s *Server) Stats() Stats {
	return Stats{
		Packets:     s.packets.Load(),
		Messages:    s.messages.Load(),
		Malformed:   s.malformed.Load(),
		KernelDrops: s.kernelDrops.Load(),
		Scheduled:   s.scheduled.Load(),
		Panics:      s.panics.Load(),
	}
}

// Close closes the socket; a running Serve returns nil. Close may be called
// more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		s.closeErr = s.conn.Close()
	})
	return s.closeErr
}

// Serve reads datagrams until ctx is cancelled or Close is called, and then
// returns nil (and the socket is closed). It returns an error only when the
// socket fails 100 times in a row, or when Serve is already running.
//
// One goroutine, the caller's, reads the socket, and h is called from it for
// each message, one at a time, in the order the datagrams arrived and, in a
// bundle, in the order of its elements. So h needs no locking against itself,
// and "/led 1" then "/led 0" sent back to back always end with the LED off.
// Bundle elements whose time tag is in the future are held and h is called
// for them, from the same goroutine, when they are due (messages due at the
// same time keep their arrival order). Messages still held when Serve
// returns are dropped. A handler that blocks delays everything behind it.
//
// A malformed datagram is counted (Stats.Malformed), logged as a warning with
// the sender and the reason at most once a second (then a line saying how
// many more were suppressed), and the next datagram is served. A panic in h
// is recovered, logged with its stack and counted (Stats.Panics); the server
// goes on with the next message.
func (s *Server) Serve(ctx context.Context, h func(m *osc.Message, from net.Addr)) error {
	if h == nil {
		return errors.New("oscmap: Serve needs a handler, got nil")
	}
	if !s.serving.CompareAndSwap(false, true) {
		return fmt.Errorf("oscmap: Serve is already running on %s", s.Addr())
	}
	defer s.serving.Store(false)
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()

	r := &reader{s: s, h: h}
	defer r.finish()
	buf := make([]byte, 65536) // no UDP datagram is larger
	oob := make([]byte, oobSize)
	var deadline time.Time
	errs := 0
	for {
		now := time.Now()
		r.runDue(now)
		r.flushSuppressed(now)
		if wake := r.nextWake(); !wake.Equal(deadline) {
			if err := s.conn.SetReadDeadline(wake); err != nil && s.closed(err) {
				return nil
			}
			deadline = wake
		}
		n, from, drops, ok, err := readPacket(s.conn, buf, oob)
		if err != nil {
			if s.closed(err) {
				return nil
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			if errs++; errs >= maxReadErrors {
				return fmt.Errorf("read OSC from UDP %s: %d errors in a row, the last: %w", s.Addr(), errs, err)
			}
			s.log.Warn("reading the UDP socket failed; retrying", "addr", s.Addr().String(), "err", err.Error())
			time.Sleep(10 * time.Millisecond)
			continue
		}
		errs = 0
		s.packets.Add(1)
		if ok {
			r.drops(drops)
		}
		r.packet(buf[:n], from)
	}
}

func (s *Server) closed(err error) bool {
	return s.closing.Load() || errors.Is(err, net.ErrClosed)
}

// reader is the state of one Serve call, used by its goroutine only.
type reader struct {
	s         *Server
	h         func(*osc.Message, net.Addr)
	queue     pending
	seq       uint64
	lastDrops uint32

	badLast       time.Time // last malformed-packet line
	badSuppressed int       // malformed packets not logged since
	fullLast      time.Time // last "too many scheduled" line
	heldBytes     int       // sum of the held messages' heldSize
}

// packet handles one datagram.
func (r *reader) packet(b []byte, from *net.UDPAddr) {
	elems, err := Decode(b)
	if err != nil {
		r.s.malformed.Add(1)
		r.malformedPacket(b, from, err)
		return
	}
	r.s.messages.Add(uint64(len(elems)))
	now := time.Now()
	for _, e := range elems {
		if r.s.closing.Load() {
			return // the handler (or anyone) closed the server
		}
		if !e.At.IsZero() && e.At.After(now) {
			r.schedule(now, e, from)
			continue
		}
		r.call(e.Msg, from)
	}
}

// call calls the handler, recovering a panic.
func (r *reader) call(m *osc.Message, from net.Addr) {
	defer func() {
		if p := recover(); p != nil {
			r.s.panics.Add(1)
			r.s.log.Error("OSC handler panicked; the message is dropped and the server goes on",
				"address", m.Address, "from", from.String(), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	r.h(m, from)
}

// drops takes the kernel's cumulative drop counter delivered with a datagram.
func (r *reader) drops(total uint32) {
	if d := total - r.lastDrops; d != 0 && d < 1<<31 {
		r.s.kernelDrops.Add(uint64(d))
		r.lastDrops = total
	}
}

func (r *reader) malformedPacket(b []byte, from *net.UDPAddr, err error) {
	now := time.Now()
	if !r.badLast.IsZero() && now.Sub(r.badLast) < time.Second {
		r.badSuppressed++
		return
	}
	r.flushSuppressed(now)
	r.badLast = now
	r.s.log.Warn("malformed OSC packet dropped", "from", from.String(), "bytes", len(b), "err", err.Error(),
		"start", string(b[:min(len(b), 24)]))
}

// flushSuppressed logs how many malformed packets were not logged, once the
// second after the last line is over.
func (r *reader) flushSuppressed(now time.Time) {
	if r.badSuppressed == 0 || now.Sub(r.badLast) < time.Second {
		return
	}
	r.s.log.Warn(fmt.Sprintf("%d more malformed OSC packets suppressed", r.badSuppressed), "count", r.badSuppressed)
	r.badSuppressed = 0
	r.badLast = now
}

// schedule holds a message until e.At. The due time is taken on the
// monotonic clock, so a change of the wall clock does not move it.
func (r *reader) schedule(now time.Time, e Element, from net.Addr) {
	size := heldSize(e.Msg)
	if len(r.queue) >= maxPending || r.heldBytes+size > maxPendingBytes {
		if now.Sub(r.fullLast) >= time.Second {
			r.fullLast = now
			r.s.log.Warn("too many messages held for a future time tag: this one is dropped",
				"address", e.Msg.Address, "from", from.String(), "held", len(r.queue), "held_bytes", r.heldBytes, "at", e.At)
		}
		return
	}
	r.s.scheduled.Add(1)
	r.seq++
	r.heldBytes += size
	heap.Push(&r.queue, held{due: now.Add(e.At.Sub(now)), seq: r.seq, msg: e.Msg, from: from, size: size})
}

// runDue calls the handler for the held messages that are due.
func (r *reader) runDue(now time.Time) {
	for len(r.queue) > 0 && !r.queue[0].due.After(now) && !r.s.closing.Load() {
		m := heap.Pop(&r.queue).(held)
		r.heldBytes -= m.size
		r.call(m.msg, m.from)
	}
}

// nextWake is when the reader must stop waiting for a datagram: the next
// held message, or the end of the malformed-packet log second. Zero: never.
func (r *reader) nextWake() time.Time {
	var t time.Time
	if len(r.queue) > 0 {
		t = r.queue[0].due
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
	if len(r.queue) > 0 {
		r.s.log.Info("OSC server stopped with messages held for a future time tag; they are dropped", "count", len(r.queue))
	}
}

// held is a message waiting for its time tag.
type held struct {
	due  time.Time
	seq  uint64
	msg  *osc.Message
	from net.Addr
	size int // heldSize(msg)
}

// heldSize is about what a held message costs in memory: its address, its
// strings and blobs, and a fixed amount for the rest.
func heldSize(m *osc.Message) int {
	n := 128 + len(m.Address)
	for _, a := range m.Arguments {
		switch v := a.(type) {
		case string:
			n += len(v) + 16
		case []byte:
			n += len(v) + 24
		default:
			n += 16
		}
	}
	return n
}

// pending is a min-heap of held messages by due time, then arrival.
type pending []held

func (p pending) Len() int { return len(p) }
func (p pending) Less(i, j int) bool {
	if p[i].due.Equal(p[j].due) {
		return p[i].seq < p[j].seq
	}
	return p[i].due.Before(p[j].due)
}
func (p pending) Swap(i, j int) { p[i], p[j] = p[j], p[i] }
func (p *pending) Push(x any)   { *p = append(*p, x.(held)) }
func (p *pending) Pop() any {
	old := *p
	x := old[len(old)-1]
	old[len(old)-1] = held{}
	*p = old[:len(old)-1]
	return x
}
