package gpio

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/host/v3/gpioioctl"
)

// pairOpener requests two lines of one chip (by name, A then B) as one input
// LineSet with edges on both, and returns it with the chip offsets of A and
// B: the numbers its WaitForEdge reports.
type pairOpener func(pull pgpio.Pull, lineA, lineB string) (ls lineSet, offA, offB int, err error)

// openIoctlPair requests lines A and B of c as one two-line input LineSet.
func openIoctlPair(c *gpioioctl.GPIOChip) pairOpener {
	return func(pull pgpio.Pull, lineA, lineB string) (lineSet, int, int, error) {
		ls, err := c.LineSet(gpioioctl.LineInput, pgpio.BothEdges, pull, lineA, lineB)
		if err != nil {
			return nil, 0, 0, err
		}
		lines := ls.Lines()
		if len(lines) != 2 {
			_ = ls.Close()
			return nil, 0, 0, fmt.Errorf("the line set of %s and %s has %d lines, want 2", lineA, lineB, len(lines))
		}
		return ls, lines[0].Number(), lines[1].Number(), nil
	}
}

// pairEvent is one change of pin A (isA) or B, from a pair's line set.
type pairEvent struct {
	isA bool
	c   pinChange
}

// hostPair is an encoder's two host lines requested as one two-line input
// LineSet, so the kernel hands over the changes of both in the order they
// happened. While it is open the lines' own requests (their one-line sets
// and GPIOLines) are closed: the kernel gives a line to one request.
//
// The set is handled like hostLine handles its set (periph's LineSet is not
// safe for every concurrent use): primed with a first WaitForEdge before
// anyone can Halt it, Halt and Close only under mu, Close only when no
// WaitForEdge runs (waitMu), halting until the wait returns. close runs
// once; a second caller waits for the first one to finish.
type hostPair struct {
	a, b       *hostLine
	offA, offB int
	pull       pgpio.Pull
	now        func() time.Time

	waitMu sync.Mutex // held for the whole of each ls.WaitForEdge

	mu      sync.Mutex
	ls      lineSet // nil once closed
	pending []pairEvent

	closeOnce sync.Once
	closeErr  error
}

// openHostPair closes the requests a and b hold and requests both lines as
// one line set of their chip. It fails (before closing anything) when the
// lines are not of one chip that offers line sets; when the set itself
// cannot be requested, a and b are configured again as one-line inputs with
// edges, and the error says why.
func openHostPair(a, b *hostLine, pull pgpio.Pull) (*hostPair, error) {
	switch {
	case a.openPair == nil || b.openPair == nil:
		return nil, errors.New("the pins' GPIO chip offers no line sets")
	case a.chip != b.chip:
		return nil, fmt.Errorf("%s is on %s and %s on %s (one line set takes lines of one chip)", a.Name(), a.chip, b.Name(), b.chip)
	}
	for _, h := range []*hostLine{a, b} {
		if err := h.release(); err != nil {
			return nil, fmt.Errorf("releasing %s for the pair's line set: %w", h.Name(), err)
		}
	}
	ls, offA, offB, err := a.openPair(pull, a.lineName, b.lineName)
	if err == nil {
		p := &hostPair{a: a, b: b, offA: offA, offB: offB, pull: pull, ls: ls, now: a.now}
		if err = p.prime(); err == nil {
			a.mu.Lock()
			a.pair = p
			a.mu.Unlock()
			b.mu.Lock()
			b.pair = p
			b.mu.Unlock()
			return p, nil
		}
		_ = ls.Close()
	}
	err = fmt.Errorf("requesting %s and %s as one line set: %w", a.Name(), b.Name(), err)
	for _, h := range []*hostLine{a, b} {
		if e := h.In(pull, pgpio.BothEdges); e != nil {
			err = errors.Join(err, fmt.Errorf("configuring %s again as an input with edges: %w", h.Name(), e))
		}
	}
	return nil, err
}

// prime makes the set's first WaitForEdge (periph creates its file then),
// before anyone else can see the set; an event it reads is kept.
func (p *hostPair) prime() error {
	n, e, err := p.ls.WaitForEdge(time.Nanosecond)
	switch {
	case err == nil:
		if ev, ok := p.event(n, e); ok {
			p.pending = append(p.pending, ev)
		}
	case !errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("waiting for edges on the line set: %w", err)
	}
	return nil
}

// event converts a line set's event: the offset says A or B, rising is
// high, falling low; anything else is dropped.
func (p *hostPair) event(number int, e pgpio.Edge) (pairEvent, bool) {
	var ev pairEvent
	switch number {
	case p.offA:
		ev.isA = true
	case p.offB:
	default:
		return ev, false
	}
	switch e {
	case pgpio.RisingEdge:
		ev.c.level = pgpio.High
	case pgpio.FallingEdge:
		ev.c.level = pgpio.Low
	default:
		return ev, false
	}
	ev.c.at = p.now()
	return ev, true
}

// levels reads A and B now (bits 0 and 1 of the set, in request order).
func (p *hostPair) levels() (a, b pgpio.Level, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ls == nil {
		return false, false, errLineReleased
	}
	v, err := p.ls.Read(0)
	if err != nil {
		return false, false, err
	}
	return v&1 != 0, v&2 != 0, nil
}

// level reads pin h (A or B) of the pair.
func (p *hostPair) level(h *hostLine) (pgpio.Level, error) {
	a, b, err := p.levels()
	if h == p.a {
		return a, err
	}
	return b, err
}

// next waits without a timeout for the pair's next change. ok is false when
// the wait was halted (or the event was none of A's and B's edges); err
// wraps errLineReleased once the set is closed.
func (p *hostPair) next() (ev pairEvent, ok bool, err error) {
	p.waitMu.Lock()
	defer p.waitMu.Unlock()
	p.mu.Lock()
	ls := p.ls
	if len(p.pending) > 0 {
		ev, p.pending = p.pending[0], p.pending[1:]
		p.mu.Unlock()
		return ev, true, nil
	}
	p.mu.Unlock()
	if ls == nil {
		return ev, false, fmt.Errorf("host: %s/%s: %w", p.a.Name(), p.b.Name(), errLineReleased)
	}
	n, e, err := ls.WaitForEdge(0)
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return ev, false, nil // Halt
		}
		return ev, false, fmt.Errorf("host: %s/%s: waiting for an edge: %w", p.a.Name(), p.b.Name(), err)
	}
	ev, ok = p.event(n, e)
	return ev, ok, nil
}

// halt interrupts a pending next.
func (p *hostPair) halt() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ls == nil {
		return nil
	}
	return p.ls.Halt()
}

// close closes the line set once no next waits on it (halting until the
// wait returns) and detaches it from both lines; their lines are then free
// (the next In requests them again). Later calls return the first's error
// once it has finished.
func (p *hostPair) close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		ls := p.ls
		p.ls, p.pending = nil, nil
		p.mu.Unlock()
		for !p.waitMu.TryLock() {
			p.mu.Lock()
			_ = ls.Halt() // a Halt just before the wait starts is lost: repeat
			p.mu.Unlock()
			time.Sleep(haltRetry)
		}
		p.mu.Lock()
		p.closeErr = ls.Close()
		p.mu.Unlock()
		p.waitMu.Unlock()
		for _, h := range []*hostLine{p.a, p.b} {
			h.mu.Lock()
			if h.pair == p {
				h.pair = nil
			}
			h.mu.Unlock()
		}
	})
	return p.closeErr
}
