package gpio

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"
)

// EncoderConfig describes one rotary encoder (two pins in quadrature).
type EncoderConfig struct {
	Name string     // mapping name, used in logs, errors and steps
	Pull pgpio.Pull // usually pgpio.PullUp: A, B and common to GND
	// StepsPerDetent is how many quadrature changes make one detent (one
	// click): 4 (full quadrature, the default when 0), 2 (half) or 1 (every
	// valid change is a step).
	StepsPerDetent int
	Reverse        bool // swap the directions: +1 becomes -1
}

// EncoderStep is one detent of an encoder.
type EncoderStep struct {
	Name  string    // the encoder's mapping name
	Delta int       // +1 (A leads B; -1 with Reverse) or -1
	Time  time.Time // when the change that completed the detent happened
	Seq   uint64    // 1 for the encoder's first step, then one more for each
}

// Encoder decodes a rotary encoder from its two pins' changes with a
// transition table: Ben Buxton's full-step state machine for 4 changes per
// detent, his half-step machine for 2, and plain Gray-code counting for 1.
// Contact bounce makes the machine step back and forth between sub-states
// and never completes a detent, so there is no time debounce (which would
// lose steps when the shaft turns fast). The table needs the two pins'
// changes in the order they happened; see Run.
type Encoder struct {
	a, b  pgpio.PinIn
	cfg   EncoderConfig
	log   *slog.Logger
	table *[8][4]uint8 // nil: count every valid change (StepsPerDetent 1)

	running    atomic.Bool
	wakes      atomic.Uint64 // waits that returned (tests check an idle encoder sleeps)
	pairLogged atomic.Bool   // the fallback to two readers was logged

	// Used only by Run's goroutine.
	state uint8 // table state, or the last Gray code for StepsPerDetent 1
	lvl   uint8 // (A<<1)|B as last seen
	seq   uint64
}

// Transition tables, after Ben Buxton's Rotary library (buxtronix/arduino,
// GPL-free re-statement): rows are states, columns the pins' code
// (A<<1)|B, values the next state, or-ed with encCW / encCCW when a detent
// completes. A detent rests at 11 (pull-ups, contacts open).
const (
	encCW  = 0x10
	encCCW = 0x20
)

const (
	fsStart = iota
	fsCWFinal
	fsCWBegin
	fsCWNext
	fsCCWBegin
	fsCCWFinal
	fsCCWNext
)

// fullStep: clockwise is 11 -> 01 -> 00 -> 10 -> 11 (A falls first).
var fullStep = [8][4]uint8{
	fsStart:    {fsStart, fsCWBegin, fsCCWBegin, fsStart},
	fsCWFinal:  {fsCWNext, fsStart, fsCWFinal, fsStart | encCW},
	fsCWBegin:  {fsCWNext, fsCWBegin, fsStart, fsStart},
	fsCWNext:   {fsCWNext, fsCWBegin, fsCWFinal, fsStart},
	fsCCWBegin: {fsCCWNext, fsStart, fsCCWBegin, fsStart},
	fsCCWFinal: {fsCCWNext, fsCCWFinal, fsStart, fsStart | encCCW},
	fsCCWNext:  {fsCCWNext, fsCCWFinal, fsCCWBegin, fsStart},
}

const (
	hsStart     = iota // at 11
	hsCCWBegin         // from 11 towards 00, counter-clockwise
	hsCWBegin          // from 11 towards 00, clockwise
	hsStartM           // at 00
	hsCWBeginM         // from 00 towards 11, clockwise
	hsCCWBeginM        // from 00 towards 11, counter-clockwise
)

// halfStep emits at 00 and at 11.
var halfStep = [8][4]uint8{
	hsStart:     {hsStartM, hsCWBegin, hsCCWBegin, hsStart},
	hsCCWBegin:  {hsStartM | encCCW, hsStart, hsCCWBegin, hsStart},
	hsCWBegin:   {hsStartM | encCW, hsCWBegin, hsStart, hsStart},
	hsStartM:    {hsStartM, hsCCWBeginM, hsCWBeginM, hsStart},
	hsCWBeginM:  {hsStartM, hsStartM, hsCWBeginM, hsStart | encCW},
	hsCCWBeginM: {hsStartM, hsCCWBeginM, hsStartM, hsStart | encCCW},
}

// grayNext is the code that follows each code clockwise:
// 11 -> 01 -> 00 -> 10 -> 11.
var grayNext = [4]uint8{0: 2, 1: 0, 2: 3, 3: 1}

// NewEncoder configures a and b (A and B) as inputs with c.Pull and edges on
// both, and returns their decoder. StepsPerDetent must be 0 (= 4), 4, 2 or 1.
func NewEncoder(a, b pgpio.PinIn, c EncoderConfig, log *slog.Logger) (*Encoder, error) {
	if a == nil || b == nil {
		return nil, fmt.Errorf("encoder %q: needs two pins (A and B)", c.Name)
	}
	if a == b || a.Name() == b.Name() {
		return nil, fmt.Errorf("encoder %q: A and B are the same pin (%s); give two pins", c.Name, a.Name())
	}
	if log == nil {
		log = slog.Default()
	}
	e := &Encoder{a: a, b: b, cfg: c, log: log}
	switch c.StepsPerDetent {
	case 0, 4:
		e.cfg.StepsPerDetent, e.table = 4, &fullStep
	case 2:
		e.table = &halfStep
	case 1:
	default:
		return nil, fmt.Errorf("encoder %q on %s/%s: steps per detent is %d; use 4 (full quadrature), 2 (half) or 1", c.Name, a.Name(), b.Name(), c.StepsPerDetent)
	}
	for _, p := range []pgpio.PinIn{a, b} {
		if err := p.In(c.Pull, pgpio.BothEdges); err != nil {
			return nil, fmt.Errorf("encoder %q: configuring %s as an input with %s and edges: %w", c.Name, p.Name(), c.Pull, pinHint(err))
		}
	}
	e.reset(a.Read(), b.Read())
	return e, nil
}

// reset starts the decoder from the levels read now.
func (e *Encoder) reset(a, b pgpio.Level) {
	e.lvl = code(a, b)
	switch {
	case e.table == nil:
		e.state = e.lvl
	case e.table == &halfStep && e.lvl == 0:
		e.state = hsStartM
	default:
		e.state = 0 // fsStart / hsStart
	}
}

func code(a, b pgpio.Level) uint8 {
	var c uint8
	if a {
		c |= 2
	}
	if b {
		c |= 1
	}
	return c
}

// feed applies one change of pin A (isA) or B to the decoder and returns the
// detent it completes: +1, -1 or 0.
func (e *Encoder) feed(isA bool, l pgpio.Level) int {
	bit := uint8(1)
	if isA {
		bit = 2
	}
	lvl := e.lvl &^ bit
	if l {
		lvl |= bit
	}
	e.lvl = lvl
	d := 0
	if e.table == nil {
		switch lvl {
		case grayNext[e.state]:
			d = 1
		case e.state:
		default:
			if grayNext[lvl] == e.state {
				d = -1
			} // else both pins changed (a lost change): no step
		}
		e.state = lvl
	} else {
		next := e.table[e.state&7][lvl]
		e.state = next & 7
		switch next & 0x30 {
		case encCW:
			d = 1
		case encCCW:
			d = -1
		}
	}
	if e.cfg.Reverse {
		d = -d
	}
	return d
}

// Run decodes the encoder and calls emit (from Run's goroutine) for every
// detent, until ctx is done; then it returns nil. While the shaft rests it
// waits without a timeout: no periodic wake-ups. If a pin can deliver no more
// changes (released or reconfigured, a driver error) Run logs it once and
// returns an error naming the encoder. A panic in emit is logged and the
// encoder keeps running. A second Run while one runs returns an error.
//
// Order of the two pins' changes: when both pins are sim pins of one Sim,
// one goroutine takes them by the sim's global sequence number, which is the
// exact order in which they happened. When both are host lines of one GPIO
// chip, Run closes the pins' own line requests and requests the two lines as
// one two-line input line set: the kernel queues the events of one request
// in the order they happened, and one goroutine decodes them (exact at any
// speed). Run starts the decoder from the levels it reads from that set, and
// closes the set when it returns (Host.Release of either pin, or reconfiguring
// it, closes it too and Run returns an error). Otherwise (lines of two chips,
// a pair set the kernel refused, other periph pins) each pin is read by its
// own goroutine and the changes are decoded in the order the two goroutines
// took them from the kernel (each pin's own changes always in order); the
// reason is logged once per encoder. periph's one-line sets' events carry no
// timestamp, so there is no common clock to merge by.
func (e *Encoder) Run(ctx context.Context, emit func(EncoderStep)) (err error) {
	if !e.running.CompareAndSwap(false, true) {
		return fmt.Errorf("encoder %q on %s/%s is already running; the second Run is ignored", e.cfg.Name, e.a.Name(), e.b.Name())
	}
	defer e.running.Store(false)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pin driver panicked: %v", r)
		}
		if err != nil {
			if ctx.Err() != nil {
				err = nil // a release racing with the cancel is not a death
				return
			}
			e.log.Error("encoder stopped", "name", e.cfg.Name, "a", e.a.Name(), "b", e.b.Name(), "err", err)
			err = fmt.Errorf("encoder %q on %s/%s stopped: %w", e.cfg.Name, e.a.Name(), e.b.Name(), err)
		}
	}()
	if emit == nil {
		emit = func(EncoderStep) {}
	}
	if sa, ok := e.a.(*simPin); ok {
		if sb, ok := e.b.(*simPin); ok && sa.sim == sb.sim {
			return e.runSim(ctx, sa, sb, emit)
		}
	}
	ha, okA := e.a.(*hostLine)
	hb, okB := e.b.(*hostLine)
	if okA && okB {
		p, err := openHostPair(ha, hb, e.cfg.Pull)
		if err == nil {
			return e.runHostPair(ctx, p, emit)
		}
		if e.pairLogged.CompareAndSwap(false, true) {
			e.log.Warn("encoder pins read by two goroutines: a fast turn can lose a detent", "name", e.cfg.Name, "a", e.a.Name(), "b", e.b.Name(), "why", err)
		}
	}
	return e.runPair(ctx, emit)
}

// runHostPair decodes the events of the pins' two-line set in the order the
// kernel queued them, in one goroutine, and closes the set when it returns.
func (e *Encoder) runHostPair(ctx context.Context, p *hostPair, emit func(EncoderStep)) error {
	// The cancel closes the set: the close halts the wait until it returns.
	stop := context.AfterFunc(ctx, func() { _ = p.close() })
	defer func() {
		stop()
		if err := p.close(); err != nil {
			e.log.Debug("closing the encoder's line set", "name", e.cfg.Name, "err", err)
		}
	}()
	a, b, err := p.levels()
	if err != nil {
		return fmt.Errorf("host: reading %s and %s: %w", e.a.Name(), e.b.Name(), err)
	}
	e.reset(a, b)
	for {
		ev, ok, err := p.next()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		e.wakes.Add(1)
		if ok {
			e.step(ev.isA, ev.c, emit)
		}
	}
}

// step applies one change and emits the detent it completes.
func (e *Encoder) step(isA bool, c pinChange, emit func(EncoderStep)) {
	d := e.feed(isA, c.level)
	if d == 0 {
		return
	}
	e.seq++
	e.emit(emit, EncoderStep{Name: e.cfg.Name, Delta: d, Time: c.at, Seq: e.seq})
}

func (e *Encoder) emit(emit func(EncoderStep), s EncoderStep) {
	defer func() {
		if r := recover(); r != nil {
			e.log.Error("encoder step handler panicked", "name", s.Name, "panic", r)
		}
	}()
	emit(s)
}

// runSim merges two sim pins' queues by their sequence numbers in one
// goroutine. A change taken from one pin is safe to decode when the other
// pin's queue was found empty after that change was taken: anything the
// other pin queues later has a higher sequence number.
func (e *Encoder) runSim(ctx context.Context, a, b *simPin, emit func(EncoderStep)) error {
	done := ctx.Done()
	var ca, cb pinChange
	var haveA, haveB bool
	sigA, _ := a.waitChans() // a pin's signal channel never changes
	sigB, _ := b.waitChans()
	for {
		// Drop a signal of a change about to be taken below, so that it does
		// not cause a useless wake-up later: the queues are always looked at
		// before the wait, and a change queued after this sends a new signal.
		select {
		case <-sigA:
		default:
		}
		select {
		case <-sigB:
		default:
		}
		var err error
		if !haveA {
			if ca, haveA, err = a.nextChange(done, 0); err != nil {
				return err
			}
		}
		if !haveB {
			if cb, haveB, err = b.nextChange(done, 0); err != nil {
				return err
			}
		}
		if haveB && !haveA {
			// A was looked at before B's change was taken: A may have
			// queued an older one in between. Look again.
			if ca, haveA, err = a.nextChange(done, 0); err != nil {
				return err
			}
		}
		switch {
		case haveA && (!haveB || ca.seq < cb.seq):
			haveA = false
			e.step(true, ca, emit)
			continue
		case haveB:
			haveB = false
			e.step(false, cb, emit)
			continue
		}
		_, haltA := a.waitChans()
		_, haltB := b.waitChans()
		select {
		case <-sigA:
		case <-sigB:
		case <-haltA:
		case <-haltB:
		case <-done:
			return nil
		}
		e.wakes.Add(1)
		if ctx.Err() != nil {
			return nil
		}
	}
}

// pairChange is one change of pin A (isA) or B, read by that pin's goroutine.
type pairChange struct {
	isA bool
	c   pinChange
}

// runPair reads each pin in its own goroutine and decodes the changes in the
// order they were taken.
func (e *Encoder) runPair(ctx context.Context, emit func(EncoderStep)) error {
	ch := make(chan pairChange, 64)
	errc := make(chan error, 2)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	pins := []pgpio.PinIn{e.a, e.b}
	for k, p := range pins {
		src, ok := p.(changeSource)
		if !ok || !src.delivers() {
			src = &readSource{p: p, now: time.Now, log: e.log, name: e.cfg.Name}
		}
		isA := k == 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					errc <- fmt.Errorf("%s: pin driver panicked: %v", p.Name(), r)
				}
			}()
			done := rctx.Done()
			for rctx.Err() == nil {
				c, ok, err := src.nextChange(done, -1)
				if err != nil {
					errc <- fmt.Errorf("%s: %w", p.Name(), err)
					return
				}
				if !ok {
					continue
				}
				select {
				case ch <- pairChange{isA: isA, c: c}:
				case <-done:
					return
				}
			}
		}()
	}
	// Halt interrupts waits without a timeout; repeat it until both readers
	// have returned (see haltRetry). Nothing of this runs before the cancel.
	exited := make(chan struct{})
	stop := context.AfterFunc(rctx, func() {
		t := time.NewTicker(haltRetry)
		defer t.Stop()
		for {
			for _, p := range pins {
				_ = p.Halt()
			}
			select {
			case <-exited:
				return
			case <-t.C:
			}
		}
	})
	defer func() {
		cancel()
		wg.Wait()
		close(exited)
		stop()
	}()
	for {
		select {
		case pc := <-ch:
			e.wakes.Add(1)
			e.step(pc.isA, pc.c, emit)
		case err := <-errc:
			return err
		case <-ctx.Done():
			return nil
		}
	}
}
