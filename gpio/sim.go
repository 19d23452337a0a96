package gpio

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/pin"
)

// simPins is the number of simulated GPIOs: GPIO0-GPIO27, the 40-pin header.
const simPins = 28

// edgeQueue is how many undelivered edges a simulated input keeps, like the
// kernel's event buffer; further edges are dropped until WaitForEdge catches up.
const edgeQueue = 64

// Sim is the simulated backend: virtual pins GPIO0-GPIO27 for any machine.
// Outputs log their electrical level (`GPIO17 -> high`); inputs read their
// pull level unless driven by a jumper from an output (a wire on a
// breadboard) or from outside with Drive. It is safe for concurrent use.
type Sim struct {
	log *slog.Logger

	mu   sync.Mutex
	pins map[string]*simPin
}

var _ Backend = (*Sim)(nil)

// NewSim returns an empty simulated backend; pins are created by Pin.
func NewSim(log *slog.Logger) *Sim {
	if log == nil {
		log = slog.Default()
	}
	return &Sim{log: log, pins: map[string]*simPin{}}
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
	n, err := simNumber(name)
	if err != nil {
		return nil, err
	}
	key := "GPIO" + strconv.Itoa(n)
	if p := s.pins[key]; p != nil {
		return p, nil
	}
	p := &simPin{sim: s, name: key, num: n, edges: make(chan struct{}, edgeQueue), halt: make(chan struct{})}
	s.pins[key] = p
	return p, nil
}

// simNumber parses "GPIO17" (any case) to 17 and checks it is on the header.
func simNumber(name string) (int, error) {
	if len(name) > 4 && strings.EqualFold(name[:4], "GPIO") {
		if n, err := strconv.Atoi(name[4:]); err == nil && n >= 0 && n < simPins && name[4] != '+' && name[4] != '-' {
			return n, nil
		}
	}
	return 0, fmt.Errorf("sim: no pin %q (the simulated header has GPIO0 to GPIO%d)", name, simPins-1)
}

// Jumper connects output pin from to input pin to, like a wire: to reads the
// level from drives, now (if from is already an output) and on every Out.
// An input has at most one jumper; Drive still overrides it until the output
// is written again.
func (s *Sim) Jumper(from, to string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.pinLocked(from)
	if err != nil {
		return fmt.Errorf("jumper from %s: %w", from, err)
	}
	t, err := s.pinLocked(to)
	if err != nil {
		return fmt.Errorf("jumper to %s: %w", to, err)
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
	t.jumper = f
	f.targets = append(f.targets, t)
	if f.dir == dirOut {
		t.driveLocked(f.out)
	}
	s.log.Debug("sim jumper", "from", f.name, "to", t.name)
	return nil
}

// Drive drives input pin name to level l from outside (OSC /sim/<pin>),
// waking WaitForEdge as its edge detection is configured. It fails if the pin
// has not been configured as an input.
func (s *Sim) Drive(name string, l pgpio.Level) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := simNumber(name)
	if err != nil {
		return err
	}
	p := s.pins["GPIO"+strconv.Itoa(n)]
	if p == nil || p.dir != dirIn {
		return fmt.Errorf("sim: cannot drive %s: it is not configured as an input (only mapped inputs can be driven)", "GPIO"+strconv.Itoa(n))
	}
	p.driveLocked(l)
	s.log.Debug("sim drive", "pin", p.name, "level", levelName(l))
	return nil
}

// Close interrupts every pending WaitForEdge. The pins stay usable.
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

	edges chan struct{} // one token per undelivered edge
	halt  chan struct{} // closed by Halt; replaced for the next wait
}

var _ pgpio.PinIO = (*simPin)(nil)
var _ pin.PinFunc = (*simPin)(nil)

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

// driveLocked drives the pin from outside and queues an edge if the level
// changed on an input configured for that edge.
func (p *simPin) driveLocked(l pgpio.Level) {
	old := p.levelLocked()
	p.driven, p.drv = true, l
	p.edgeLocked(old)
}

// edgeLocked queues an edge if the level changed from old on an input
// configured to detect it.
func (p *simPin) edgeLocked(old pgpio.Level) {
	now := p.levelLocked()
	if p.dir != dirIn || now == old {
		return
	}
	if p.edge == pgpio.BothEdges || (p.edge == pgpio.RisingEdge && now) || (p.edge == pgpio.FallingEdge && !now) {
		select {
		case p.edges <- struct{}{}:
		default: // queue full: dropped, like an overflowing kernel buffer
		}
	}
}

func (p *simPin) haltLocked() {
	close(p.halt)
	p.halt = make(chan struct{})
}

// String implements conn.Resource.
func (p *simPin) String() string { return p.name }

// Halt interrupts a pending WaitForEdge.
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

// In implements gpio.PinIn. It discards edges queued before the call.
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
	for len(p.edges) > 0 {
		<-p.edges
	}
	return nil
}

// Read implements gpio.PinIn. On an output it returns the level it drives.
func (p *simPin) Read() pgpio.Level {
	p.sim.mu.Lock()
	defer p.sim.mu.Unlock()
	return p.levelLocked()
}

// WaitForEdge implements gpio.PinIn: it returns true for an edge that
// happened since the last call or during this one, false on timeout or Halt.
// A negative timeout waits without limit, as the gpio.PinIn doc says.
func (p *simPin) WaitForEdge(timeout time.Duration) bool {
	p.sim.mu.Lock()
	if p.dir != dirIn || p.edge == pgpio.NoEdge {
		p.sim.mu.Unlock()
		return false
	}
	halt := p.halt
	p.sim.mu.Unlock()
	select {
	case <-p.edges:
		return true
	default:
	}
	var expired <-chan time.Time
	if timeout >= 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	select {
	case <-p.edges:
		return true
	case <-halt:
		return false
	case <-expired:
		return false
	}
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

// Out implements gpio.PinOut: it drives the level, logs it and copies it to
// the inputs jumpered to this pin.
func (p *simPin) Out(l pgpio.Level) error {
	p.sim.mu.Lock()
	defer p.sim.mu.Unlock()
	if p.jumper != nil {
		return fmt.Errorf("sim: %s is the input end of a jumper from %s and cannot be an output", p.name, p.jumper.name)
	}
	p.dir = dirOut
	p.out = l
	p.sim.log.Info(p.name + " -> " + levelName(l))
	for _, t := range p.targets {
		t.driveLocked(l)
	}
	return nil
}

// PWM implements gpio.PinOut; the simulated pins have no PWM.
func (p *simPin) PWM(pgpio.Duty, physic.Frequency) error {
	return errors.New("sim: " + p.name + ": PWM is not simulated")
}
