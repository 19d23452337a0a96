package gpio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/pin"

	"github.com/oscgpio/oscgpio/wiring"
)

// simPins is the number of simulated GPIOs: GPIO0-GPIO27, the 40-pin header.
const simPins = 28

// SimQueue is how many changes a simulated input keeps for its reader (like
// the kernel's event buffer of a GPIO line). A change that finds the queue
// full is dropped, counted (Sim.Overflows) and logged once per pin.
const SimQueue = 1 << 16

// Sim is the simulated backend: virtual pins GPIO0-GPIO27 for any machine.
// Outputs log their electrical level at debug level (`GPIO17 -> high`);
// inputs read their pull level unless driven by a jumper from an output (a
// wire on a breadboard) or from outside with Drive. Every change of an input
// with edge detection is queued with its level and time, so a reader sees
// each one, in order, however fast they come. It is safe for concurrent use.
type Sim struct {
	log *slog.Logger
	now func() time.Time // stamps changes; replaced in tests

	mu   sync.Mutex
	pins map[string]*simPin
	seq  uint64             // changes queued on all pins: orders changes across pins (Encoder)
	pwms map[string]*SimPWM // open PWMs by pin (pwm_sim.go)
}

var _ Backend = (*Sim)(nil)

// NewSim returns an empty simulated backend; pins are created by Pin.
func NewSim(log *slog.Logger) *Sim {
	if log == nil {
		log = slog.Default()
	}
	return &Sim{log: log, now: time.Now, pins: map[string]*simPin{}}
}

// Name returns "sim".
func (s *Sim) Name() string { return "sim" }

// Pin returns the virtual pin name ("GPIO0" to "GPIO27"), creating it on first
// use; the same name always returns the same pin.
func (s *Sim) Pin(name string) (pgpio.PinIO, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pinLocked(name)
}

func (s *Sim) pinLocked(name string) (*simPin, error) {
	key, n, err := simName(name)
	if err != nil {
		return nil, err
	}
	if p := s.pins[key]; p != nil {
		return p, nil
	}
	p := &simPin{sim: s, name: key, num: n, signal: make(chan struct{}, 1), halt: make(chan struct{})}
	s.pins[key] = p
	return p, nil
}

// simName checks that name ("GPIO17", any case) is on the header and returns
// its canonical form and BCM number.
func simName(name string) (string, int, error) {
	n, ok := wiring.GPIONumber(name)
	if !ok {
		return "", 0, fmt.Errorf("sim: no pin %q (the simulated header has GPIO0 to GPIO%d)", name, simPins-1)
	}
	if n < len(simPinNames) {
		return simPinNames[n], n, nil // no allocation per Drive
	}
	return "GPIO" + strconv.Itoa(n), n, nil
}

// simPinNames are the canonical names GPIO0 to GPIO27.
var simPinNames = func() (names [simPins]string) {
	for n := range names {
		names[n] = "GPIO" + strconv.Itoa(n)
	}
	return names
}()

// Jumper connects output pin from to input pin to, like a wire: to reads the
// level from drives, now (if from is already an output) and on every Out.
// An input has at most one jumper; Drive still overrides it until the output
// is written again.
func (s *Sim) Jumper(from, to string) error {
	var lg simLog
	defer lg.write(s.log)
	s.mu.Lock()
	defer s.mu.Unlock()
	f, t, err := s.pairLocked("jumper", from, to)
	if err != nil {
		return err
	}
	if f == t {
		return fmt.Errorf("sim: jumper from %s to itself", f.name)
	}
	if t.jumper != nil && t.jumper != f {
		return fmt.Errorf("sim: %s already has a jumper from %s; one input takes one jumper", t.name, t.jumper.name)
	}
	if t.dir == dirOut {
		return fmt.Errorf("sim: jumper to %s, which is an output; the second pin of a jumper must be an input", t.name)
	}
	if f.dir == dirIn {
		return fmt.Errorf("sim: jumper from %s, which is an input; the first pin of a jumper must be an output", f.name)
	}
	if t.jumper == f {
		return nil
	}
	t.jumper = f
	f.targets = append(f.targets, t)
	if f.dir == dirOut {
		t.driveLocked(f.out, &lg)
	}
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		lg.add(slog.LevelDebug, "sim jumper", "from", f.name, "to", t.name)
	}
	return nil
}

// pairLocked finds the two pins of a jumper; what names the call in errors.
func (s *Sim) pairLocked(what, from, to string) (f, t *simPin, err error) {
	if f, err = s.pinLocked(from); err != nil {
		return nil, nil, fmt.Errorf("%s from %s: %w", what, from, err)
	}
	if t, err = s.pinLocked(to); err != nil {
		return nil, nil, fmt.Errorf("%s to %s: %w", what, to, err)
	}
	return f, t, nil
}

// Unjumper removes the jumper from output pin from to input pin to. The input
// is no longer driven by it and reads its pull (a change, if the level was
// different). It fails if there is no such jumper.
func (s *Sim) Unjumper(from, to string) error {
	var lg simLog
	defer lg.write(s.log)
	s.mu.Lock()
	defer s.mu.Unlock()
	f, t, err := s.pairLocked("unjumper", from, to)
	if err != nil {
		return err
	}
	if t.jumper != f {
		return fmt.Errorf("sim: no jumper from %s to %s", f.name, t.name)
	}
	f.unjumperLocked(t, &lg)
	return nil
}

// unjumperLocked removes the jumper from p to input t.
func (p *simPin) unjumperLocked(t *simPin, lg *simLog) {
	for k, x := range p.targets {
		if x == t {
			p.targets = append(p.targets[:k], p.targets[k+1:]...)
			break
		}
	}
	t.jumper = nil
	t.undriveLocked(lg)
	if p.sim.log.Enabled(context.Background(), slog.LevelDebug) {
		lg.add(slog.LevelDebug, "sim jumper removed", "from", p.name, "to", t.name)
	}
}

// Drive drives input pin name to level l from outside (OSC /sim/<pin>),
// queueing a change as its edge detection is configured. It fails if the pin
// has not been configured as an input.
func (s *Sim) Drive(name string, l pgpio.Level) error {
	var lg simLog
	defer lg.write(s.log)
	s.mu.Lock()
	defer s.mu.Unlock()
	key, _, err := simName(name)
	if err != nil {
		return err
	}
	p := s.pins[key]
	if p == nil || p.dir != dirIn {
		return fmt.Errorf("sim: cannot drive %s: it is not configured as an input (only mapped inputs can be driven)", key)
	}
	p.driveLocked(l, &lg)
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		lg.add(slog.LevelDebug, "sim drive", "pin", p.name, "level", levelName(l))
	}
	return nil
}

// Level returns what pin name reads now: the level it drives as an output,
// the level driving it as an input, or its pull.
func (s *Sim) Level(name string) (pgpio.Level, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key, _, err := simName(name)
	if err != nil {
		return pgpio.Low, err
	}
	p := s.pins[key]
	if p == nil {
		return pgpio.Low, nil // a pin never used reads low: no pull set
	}
	return p.levelLocked(), nil
}

// Overflows returns how many changes of pin name were dropped because its
// queue (SimQueue changes) was full.
func (s *Sim) Overflows(name string) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key, _, err := simName(name)
	if err != nil {
		return 0, err
	}
	if p := s.pins[key]; p != nil {
		return p.overflows, nil
	}
	return 0, nil
}

// Release returns pin name to unconfigured, as a reload that removes it
// needs: it reads its pull again, its queued changes are dropped, a Run
// waiting on it returns an error, and every jumper that touches it is
// removed (an input it drove reads its own pull). Releasing a pin never
// handed out does nothing.
func (s *Sim) Release(name string) error {
	var lg simLog
	defer lg.write(s.log)
	s.mu.Lock()
	defer s.mu.Unlock()
	key, _, err := simName(name)
	if err != nil {
		return err
	}
	p := s.pins[key]
	if p == nil {
		return nil
	}
	for len(p.targets) > 0 {
		p.unjumperLocked(p.targets[0], &lg)
	}
	if p.jumper != nil {
		p.jumper.unjumperLocked(p, &lg)
	}
	p.dir, p.edge, p.driven = dirNone, pgpio.NoEdge, false
	p.queue, p.head = nil, 0
	p.haltLocked()
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		lg.add(slog.LevelDebug, "sim pin released", "pin", p.name)
	}
	return nil
}

// Close interrupts every pending wait for a change. The pins stay usable.
func (s *Sim) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.pins {
		p.haltLocked()
	}
	return nil
}

type simDir int

const (
	dirNone simDir = iota
	dirIn
	dirOut
)

// simPin is one virtual pin; all its state is guarded by sim.mu.
type simPin struct {
	sim  *Sim
	name string
	num  int

	dir     simDir
	pull    pgpio.Pull
	edge    pgpio.Edge
	out     pgpio.Level // level driven as an output
	driven  bool        // an input driven by a jumper or Drive
	drv     pgpio.Level // that level
	jumper  *simPin     // the output a jumper connects to this input
	targets []*simPin   // inputs this output's jumpers drive

	queue     []pinChange   // undelivered changes, oldest at head
	head      int           // index of the oldest in queue
	overflows uint64        // changes dropped on a full queue
	signal    chan struct{} // a change was queued (capacity 1)
	halt      chan struct{} // closed by Halt; replaced for the next wait
}

var _ pgpio.PinIO = (*simPin)(nil)
var _ pin.PinFunc = (*simPin)(nil)
var _ changeSource = (*simPin)(nil)

// levelLocked is what Read returns.
func (p *simPin) levelLocked() pgpio.Level {
	switch {
	case p.dir == dirOut:
		return p.out
	case p.driven:
		return p.drv
	default:
		return p.pull == pgpio.PullUp
	}
}

// driveLocked drives the pin from outside and queues a change if the level
// changed on an input configured for that edge.
func (p *simPin) driveLocked(l pgpio.Level, lg *simLog) {
	old := p.levelLocked()
	p.driven, p.drv = true, l
	p.changedLocked(old, lg)
}

// undriveLocked stops driving the pin: it reads its pull.
func (p *simPin) undriveLocked(lg *simLog) {
	old := p.levelLocked()
	p.driven = false
	p.changedLocked(old, lg)
}

// changedLocked queues a change if the level changed from old on an input
// configured to detect it.
func (p *simPin) changedLocked(old pgpio.Level, lg *simLog) {
	now := p.levelLocked()
	if p.dir != dirIn || now == old {
		return
	}
	if !(p.edge == pgpio.BothEdges || (p.edge == pgpio.RisingEdge && now) || (p.edge == pgpio.FallingEdge && !now)) {
		return
	}
	if len(p.queue)-p.head >= SimQueue {
		p.overflows++
		if p.overflows == 1 {
			lg.add(slog.LevelWarn, "sim input queue full: changes are dropped (counted by Sim.Overflows)", "pin", p.name, "queue", SimQueue)
		}
		return
	}
	if p.head > 0 && len(p.queue) == cap(p.queue) {
		n := copy(p.queue, p.queue[p.head:])
		p.queue, p.head = p.queue[:n], 0
	}
	p.sim.seq++
	p.queue = append(p.queue, pinChange{level: now, at: p.sim.now(), seq: p.sim.seq})
	select {
	case p.signal <- struct{}{}:
	default:
	}
}

// waitChans returns the channels a wait for p's next change selects on: one
// that receives when a change was queued, one that is closed by Halt or
// Release. A change queued after a look at the queue still wakes the wait.
func (p *simPin) waitChans() (signal <-chan struct{}, halt <-chan struct{}) {
	p.sim.mu.Lock()
	defer p.sim.mu.Unlock()
	return p.signal, p.halt
}

func (p *simPin) haltLocked() {
	close(p.halt)
	p.halt = make(chan struct{})
}

// String implements conn.Resource.
func (p *simPin) String() string { return p.name }

// Halt interrupts a pending WaitForEdge or wait for a change.
func (p *simPin) Halt() error {
	p.sim.mu.Lock()
	defer p.sim.mu.Unlock()
	p.haltLocked()
	return nil
}

// Name implements pin.Pin.
func (p *simPin) Name() string { return p.name }

// Number implements pin.Pin: the BCM number.
func (p *simPin) Number() int { return p.num }

// Function implements pin.Pin.
func (p *simPin) Function() string { return string(p.Func()) }

// Func implements pin.PinFunc.
func (p *simPin) Func() pin.Func {
	p.sim.mu.Lock()
	defer p.sim.mu.Unlock()
	switch p.dir {
	case dirIn:
		if p.levelLocked() {
			return pgpio.IN_HIGH
		}
		return pgpio.IN_LOW
	case dirOut:
		if p.out {
			return pgpio.OUT_HIGH
		}
		return pgpio.OUT_LOW
	}
	return pin.FuncNone
}

// SupportedFuncs implements pin.PinFunc.
func (p *simPin) SupportedFuncs() []pin.Func { return []pin.Func{pgpio.IN, pgpio.OUT} }

// SetFunc implements pin.PinFunc.
func (p *simPin) SetFunc(f pin.Func) error {
	switch f {
	case pgpio.IN:
		return p.In(pgpio.PullNoChange, pgpio.NoEdge)
	case pgpio.OUT_HIGH:
		return p.Out(pgpio.High)
	case pgpio.OUT, pgpio.OUT_LOW:
		return p.Out(pgpio.Low)
	}
	return fmt.Errorf("sim: %s does not support function %q (only In and Out)", p.name, f)
}

// In implements gpio.PinIn. It discards changes queued before the call.
func (p *simPin) In(pull pgpio.Pull, edge pgpio.Edge) error {
	if pull > pgpio.PullUp {
		return fmt.Errorf("sim: %s: invalid pull %s", p.name, pull)
	}
	p.sim.mu.Lock()
	defer p.sim.mu.Unlock()
	if len(p.targets) > 0 {
		return fmt.Errorf("sim: %s is the output end of a jumper and cannot be an input", p.name)
	}
	p.dir = dirIn
	if pull != pgpio.PullNoChange {
		p.pull = pull
	}
	p.edge = edge
	p.queue, p.head = p.queue[:0], 0
	return nil
}

// Read implements gpio.PinIn. On an output it returns the level it drives.
func (p *simPin) Read() pgpio.Level {
	p.sim.mu.Lock()
	defer p.sim.mu.Unlock()
	return p.levelLocked()
}

// errSimReleased is nextChange's error on a pin that is no longer an input
// with edge detection.
var errSimReleased = errors.New("the pin is no longer an input with edge detection (released or reconfigured)")

// delivers implements changeSource: a sim input always queues its changes.
func (p *simPin) delivers() bool { return true }

// nextChange implements changeSource.
func (p *simPin) nextChange(done <-chan struct{}, timeout time.Duration) (pinChange, bool, error) {
	var timer *time.Timer
	for {
		p.sim.mu.Lock()
		if p.dir != dirIn || p.edge == pgpio.NoEdge {
			p.sim.mu.Unlock()
			return pinChange{}, false, fmt.Errorf("sim: %s: %w", p.name, errSimReleased)
		}
		if p.head < len(p.queue) {
			c := p.queue[p.head]
			p.head++
			if p.head == len(p.queue) {
				p.queue, p.head = p.queue[:0], 0
			}
			p.sim.mu.Unlock()
			if timer != nil {
				timer.Stop()
			}
			return c, true, nil
		}
		halt := p.halt
		p.sim.mu.Unlock()
		if timeout == 0 {
			return pinChange{}, false, nil
		}
		var expired <-chan time.Time
		if timeout > 0 {
			if timer == nil {
				timer = time.NewTimer(timeout)
			}
			expired = timer.C
		}
		select {
		case <-p.signal:
			// a change was queued (or one already taken): look again
		case <-halt:
			return pinChange{}, false, nil
		case <-done:
			return pinChange{}, false, nil
		case <-expired:
			return pinChange{}, false, nil
		}
	}
}

// WaitForEdge implements gpio.PinIn: it takes one queued change (Read gives
// the level now) and returns true, or false on timeout, Halt, or when the pin
// is not an input with edge detection. A negative timeout waits without
// limit, as the gpio.PinIn doc says; 0 only takes a queued change.
func (p *simPin) WaitForEdge(timeout time.Duration) bool {
	_, ok, err := p.nextChange(nil, timeout)
	return ok && err == nil
}

// Pull implements gpio.PinIn.
func (p *simPin) Pull() pgpio.Pull {
	p.sim.mu.Lock()
	defer p.sim.mu.Unlock()
	return p.pull
}

// DefaultPull implements gpio.PinIn: the BCM283x reset pulls (GPIO0-8 up,
// the others down).
func (p *simPin) DefaultPull() pgpio.Pull {
	if p.num <= 8 {
		return pgpio.PullUp
	}
	return pgpio.PullDown
}

// Out implements gpio.PinOut: it drives the level, copies it to the inputs
// jumpered to this pin and logs it at debug level (`GPIO17 -> high`).
func (p *simPin) Out(l pgpio.Level) error {
	var lg simLog
	defer lg.write(p.sim.log)
	p.sim.mu.Lock()
	defer p.sim.mu.Unlock()
	if p.jumper != nil {
		return fmt.Errorf("sim: %s is the input end of a jumper from %s and cannot be an output", p.name, p.jumper.name)
	}
	changed := p.dir != dirOut || p.out != l
	p.dir = dirOut
	p.out = l
	if changed && p.sim.log.Enabled(context.Background(), slog.LevelDebug) {
		lg.out = p
		lg.level = l
	}
	for _, t := range p.targets {
		t.driveLocked(l, &lg)
	}
	return nil
}

// PWM implements gpio.PinOut; the simulated pins have no PWM.
func (p *simPin) PWM(pgpio.Duty, physic.Frequency) error {
	return errors.New("sim: " + p.name + ": PWM is not simulated")
}

// simLog holds what a sim call logs, collected under the sim's lock and
// written after it is released. Nothing is formatted for a level that is
// off: callers check Enabled before adding debug records.
type simLog struct {
	out   *simPin // an output whose level changed (`GPIO17 -> high`)
	level pgpio.Level
	recs  []simRec
}

type simRec struct {
	level slog.Level
	msg   string
	args  []any
}

func (l *simLog) add(level slog.Level, msg string, args ...any) {
	l.recs = append(l.recs, simRec{level, msg, args})
}

func (l *simLog) write(log *slog.Logger) {
	if l.out != nil {
		log.Debug(l.out.name + " -> " + levelName(l.level))
	}
	for _, r := range l.recs {
		log.Log(context.Background(), r.level, r.msg, r.args...)
	}
}
