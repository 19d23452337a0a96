package oscmap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/gpio"
)

// KindAnalog is an analog sensor's point (a channel of an ADC). Its Value is
// the reading scaled to the input's range, as sent.
const KindAnalog Kind = "analog"

// adcConn is one ADC of the mapping. On the host it is opened at its first
// read and again after a failure, so a chip that comes back is used again;
// on the sim it is a gpio.SimADC set by /sim/<sensor> messages.
type adcConn struct {
	cfg config.ADC
	sim *gpio.SimADC // the simulated chip, on the sim backend

	mu  sync.Mutex
	adc gpio.ADC
	bus io.Closer // the I2C bus the chip is on, closed with it

	openChip func() (gpio.ADC, io.Closer, error) // a.openBus, replaced in tests
}

func newADCConn(c config.ADC, simulated bool) *adcConn {
	a := &adcConn{cfg: c}
	a.openChip = a.openBus
	if simulated {
		_, channels := config.ChipRate(c.Chip)
		a.sim = gpio.NewSimADC(c.Name, channels)
		a.adc = a.sim
	}
	return a
}

// read converts channel once, opening the chip first when needed. After an
// error the chip is closed, to be opened again by the next read.
func (a *adcConn) read(channel int) (float64, error) {
	a.mu.Lock()
	if a.adc == nil {
		adc, bus, err := a.openChip()
		if err != nil {
			a.mu.Unlock()
			return 0, err
		}
		a.adc, a.bus = adc, bus
	}
	adc := a.adc
	a.mu.Unlock()
	v, err := adc.Read(channel)
	if err != nil && a.sim == nil {
		a.mu.Lock()
		if a.adc == adc {
			a.closeLocked()
		}
		a.mu.Unlock()
	}
	return v, err
}

// openBus opens the chip on its bus: an ADS1x15 on I2C (the bus is closed
// with it), an MCP3008 on SPI (it owns its port).
func (a *adcConn) openBus() (gpio.ADC, io.Closer, error) {
	if a.cfg.I2C() {
		bus, err := gpio.OpenI2CBus(a.cfg.Bus)
		if err != nil {
			return nil, nil, fmt.Errorf("adc %q: %w", a.cfg.Name, err)
		}
		dev, err := gpio.OpenADS1x15(bus, a.cfg.Chip, a.cfg.Addr, 0)
		if err != nil {
			bus.Close()
			return nil, nil, fmt.Errorf("adc %q: %w", a.cfg.Name, err)
		}
		return dev, bus, nil
	}
	port, err := gpio.OpenSPIPort(a.cfg.Bus)
	if err != nil {
		return nil, nil, fmt.Errorf("adc %q: %w", a.cfg.Name, err)
	}
	dev, err := gpio.OpenMCP3008(port, 0)
	if err != nil {
		port.Close()
		return nil, nil, fmt.Errorf("adc %q: %w", a.cfg.Name, err)
	}
	return dev, nil, nil
}

func (a *adcConn) closeLocked() {
	if a.adc != nil && a.sim == nil {
		a.adc.Close()
		a.adc = nil
	}
	if a.bus != nil {
		a.bus.Close()
		a.bus = nil
	}
}

func (a *adcConn) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closeLocked()
}

// sensorFilter is the pure part of a sensor's pipeline: smoothing, scaling
// to the range, the deadband and the rate limit per address (the latest
// value wins, nothing queues up). It reads no clock: the caller passes the
// time of each sample.
type sensorFilter struct {
	smoothing, deadband float64
	lo, hi              float64
	minGap              time.Duration // 1/max_rate

	s    float64 // the smoothed reading, 0..1
	have bool

	last   float64 // the value last sent
	sent   bool
	lastAt time.Time
	pv     float64 // a value waiting for the rate limit
	wait   bool
}

func newSensorFilter(c config.Input) *sensorFilter {
	f := &sensorFilter{smoothing: c.Smoothing, deadband: c.Deadband, lo: c.Range[0], hi: c.Range[1]}
	if c.MaxRate > 0 {
		f.minGap = time.Duration(float64(time.Second) / c.MaxRate)
	}
	return f
}

// sample takes one raw reading (0..1 of full scale) at now and returns the
// value to send now, if any. A value that the rate limit holds back waits
// (see due and flush); a newer one replaces it.
func (f *sensorFilter) sample(now time.Time, raw float64) (float64, bool) {
	if !f.have {
		f.s, f.have = raw, true
	} else {
		f.s = f.smoothing*f.s + (1-f.smoothing)*raw
	}
	v := f.lo + f.s*(f.hi-f.lo)
	if f.sent && (v == f.last || math.Abs(v-f.last) < f.deadband) {
		f.wait = false // back within the deadband: nothing to send
		return 0, false
	}
	if f.sent && now.Sub(f.lastAt) < f.minGap {
		f.pv, f.wait = v, true
		return 0, false
	}
	f.wait = false
	f.last, f.lastAt, f.sent = v, now, true
	return v, true
}

// due is when a held-back value may be sent; the zero time when none waits.
func (f *sensorFilter) due() time.Time {
	if !f.wait {
		return time.Time{}
	}
	return f.lastAt.Add(f.minGap)
}

// flush returns the held-back value if it is due at now.
func (f *sensorFilter) flush(now time.Time) (float64, bool) {
	if !f.wait || now.Before(f.due()) {
		return 0, false
	}
	f.wait = false
	f.last, f.lastAt = f.pv, now
	return f.pv, true
}

// sensor is an analog input point and its sampling goroutine.
type sensor struct {
	b     *Bridge
	cfg   config.Input // guarded by b.mu
	adc   *adcConn
	point Point

	backoff time.Duration // the first wait after a failed read; doubles to 30 s

	w       watcher
	stopped bool // guarded by b.mu
}

func (b *Bridge) newSensor(c config.Input, a *adcConn) *sensor {
	return &sensor{b: b, cfg: c, adc: a, backoff: time.Second, point: Point{Name: c.Name, Kind: KindAnalog,
		Pin: fmt.Sprintf("%s ch%d", c.ADC, c.Channel), Addresses: []string{c.Address}}}
}

// start samples until stop or Close.
func (s *sensor) start() {
	c := s.cfg
	s.w.goWatch(s.b.ctx, func(ctx context.Context) { s.run(ctx, c, newSensorFilter(c)) })
}

// run reads the channel at the input's rate. A failing chip is logged once,
// tried again with back-off (1 s doubling to 30 s), and said back when it
// answers again; the rest of the bridge goes on.
func (s *sensor) run(ctx context.Context, c config.Input, f *sensorFilter) {
	b := s.b
	tick := time.NewTicker(time.Duration(float64(time.Second) / c.Rate))
	defer tick.Stop()
	var flush <-chan time.Time
	var retryAt time.Time
	backoff, failing := s.backoff, false
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-flush:
			flush = nil
			if v, ok := f.flush(now); ok {
				s.publish(v, now)
			}
			continue
		case now := <-tick.C:
			if now.Before(retryAt) {
				continue
			}
			raw, err := s.adc.read(c.Channel)
			if err != nil {
				if !failing {
					failing = true
					b.log.Warn("sensor read failed; trying again with back-off, the rest goes on", "input", c.Name, "adc", c.ADC, "channel", c.Channel, "err", err)
					b.mu.Lock()
					s.point.Err = err.Error()
					b.mu.Unlock()
				}
				retryAt = now.Add(backoff)
				backoff = min(2*backoff, 30*time.Second)
				continue
			}
			if failing {
				failing, backoff = false, s.backoff
				b.log.Info("sensor is back", "input", c.Name, "adc", c.ADC, "channel", c.Channel)
				b.mu.Lock()
				s.point.Err = ""
				b.mu.Unlock()
			}
			if v, ok := f.sample(now, raw); ok {
				s.publish(v, now)
			}
			if d := f.due(); !d.IsZero() && flush == nil {
				flush = time.After(d.Sub(now))
			}
		}
	}
}

// publish records and publishes a value to send.
func (s *sensor) publish(v float64, at time.Time) {
	b := s.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.stopped || b.closed {
		return
	}
	s.point.Value, s.point.Changed, s.point.Cause = v, at, CauseEdge
	b.publish(Change{Point: s.cfg.Name, Kind: KindAnalog, Pin: s.point.Pin, Value: v, Time: at, Cause: CauseEdge})
}

// stop ends the sampling and waits for it, for at most d. The caller must
// not hold b.mu.
func (s *sensor) stop(d time.Duration) {
	s.b.mu.Lock()
	s.stopped = true
	name := s.cfg.Name
	s.b.mu.Unlock()
	if !s.w.stop(d) {
		s.b.log.Warn("sensor did not stop in time", "input", name)
	}
}

// simSensor sets a simulated sensor's raw reading (/sim/<sensor> <value>).
// The caller holds b.mu.
func (b *Bridge) simSensor(name string, v float64) (bool, error) {
	for _, s := range b.sensors {
		if s.cfg.Name != name {
			continue
		}
		if s.adc.sim == nil {
			return true, errors.New("sensor readings can be set on the simulated backend only")
		}
		return true, s.adc.sim.Set(s.cfg.Channel, v)
	}
	return false, nil
}
