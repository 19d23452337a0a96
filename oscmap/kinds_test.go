package oscmap

import (
	"errors"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hypebeast/go-osc/osc"
	pgpio "periph.io/x/conn/v3/gpio"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/gpio"
)

// turn drives n detents of a full-quadrature encoder resting at 11 on the
// sim: clockwise (dir 1) A falls first, counter-clockwise B does.
func turn(t *testing.T, sim *gpio.Sim, a, b string, dir, n int) {
	t.Helper()
	first, second := a, b
	if dir < 0 {
		first, second = b, a
	}
	for range n {
		for _, e := range []struct {
			pin string
			l   pgpio.Level
		}{{first, pgpio.Low}, {second, pgpio.Low}, {first, pgpio.High}, {second, pgpio.High}} {
			if err := sim.Drive(e.pin, e.l); err != nil {
				t.Fatal(err)
			}
		}
	}
}

const encoderMapping = `
destinations: {here: 127.0.0.1:9}
inputs:
  - {name: jog, kind: encoder, pins: [GPIO5, GPIO6], address: /jog, to: [here]}
  - {name: vol, kind: encoder, pins: [GPIO20, GPIO21], mode: absolute, min: 0, max: 3, step: 1, address: /vol, to: [here]}
  - {name: hue, kind: encoder, pins: [GPIO12, GPIO16], mode: absolute, min: 0, max: 2, step: 1, wrap: true, address: /hue, to: [here]}
`

func TestEncoderPoints(t *testing.T) {
	sim := gpio.NewSim(quiet())
	b := startOn(t, sim, encoderMapping, Options{Listen: "127.0.0.1:0", Logger: quiet()})
	f := subscribe(t, b)
	turn(t, sim, "GPIO5", "GPIO6", 1, 3)
	turn(t, sim, "GPIO5", "GPIO6", -1, 1)
	for _, want := range []float64{1, 1, 1, -1} {
		f.expect("jog", want, CauseEdge)
	}
	// Absolute, no wrap: 0..3, clamped at the ends (no change, nothing sent).
	turn(t, sim, "GPIO20", "GPIO21", 1, 5)
	for _, want := range []float64{1, 2, 3} {
		f.expect("vol", want, CauseEdge)
	}
	turn(t, sim, "GPIO20", "GPIO21", -1, 1)
	f.expect("vol", 2, CauseEdge)
	// Wrap: 0, 1, 2, then 0 again; backwards from 0 comes 2.
	turn(t, sim, "GPIO12", "GPIO16", 1, 3)
	for _, want := range []float64{1, 2, 0} {
		f.expect("hue", want, CauseEdge)
	}
	turn(t, sim, "GPIO12", "GPIO16", -1, 1)
	f.expect("hue", 2, CauseEdge)
	f.empty()
	for _, p := range b.Points() {
		if p.Name == "jog" && p.Value != 2 {
			t.Errorf("jog's point value %v, want the running total 2", p.Value)
		}
	}
}

func TestSensorFilter(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	f := newSensorFilter(config.Input{Range: [2]float64{0, 127}, Deadband: 2, MaxRate: 10})
	steps := []struct {
		ms   int
		raw  float64
		send bool
		want float64
	}{
		{0, 0.5, true, 63.5},   // the first reading is always sent
		{10, 0.51, false, 0},   // 64.77: within the deadband of 2
		{20, 0.6, false, 0},    // 76.2: out of the deadband, but 10 Hz allows the next send at 100 ms
		{30, 0.7, false, 0},    // 88.9 replaces it: the latest wins
		{200, 0.7, true, 88.9}, // (flushed below first)
	}
	for i, s := range steps[:4] {
		v, ok := f.sample(at(s.ms), s.raw)
		if ok != s.send || (ok && math.Abs(v-s.want) > 1e-9) {
			t.Fatalf("step %d: sample = %v, %v; want %v, %v", i, v, ok, s.want, s.send)
		}
	}
	if d := f.due(); !d.Equal(at(100)) {
		t.Fatalf("due %v, want 100 ms", d.Sub(t0))
	}
	if _, ok := f.flush(at(99)); ok {
		t.Fatal("flushed before its time")
	}
	if v, ok := f.flush(at(100)); !ok || math.Abs(v-88.9) > 1e-9 {
		t.Fatalf("flush = %v, %v; want 88.9", v, ok)
	}
	if _, ok := f.sample(at(300), 0.7); ok {
		t.Error("the same value sent twice")
	}
	// Back within the deadband before the limit allows a send: nothing waits.
	if _, ok := f.sample(at(310), 0.9); !ok {
		t.Fatal("a new value after the limit's interval was not sent")
	}
	f.sample(at(320), 0.95) // held back by the limit
	if f.due().IsZero() {
		t.Fatal("a value out of the deadband inside the limit's interval does not wait")
	}
	f.sample(at(330), 0.9) // the value last sent again
	if !f.due().IsZero() {
		t.Error("a value back within the deadband still waits")
	}

	// Smoothing 0.5: each reading moves halfway.
	g := newSensorFilter(config.Input{Range: [2]float64{0, 1}, Smoothing: 0.5})
	for i, want := range []float64{0, 0.5, 0.75} {
		raw := 1.0
		if i == 0 {
			raw = 0
		}
		if v, ok := g.sample(at(i*1000), raw); !ok || v != want {
			t.Errorf("smoothing step %d: %v, %v; want %v", i, v, ok, want)
		}
	}
}

const sensorMapping = `
destinations: {here: 127.0.0.1:9}
adcs: [{name: knobs, chip: ads1115}]
inputs:
  - {name: knob, kind: analog, adc: knobs, channel: 1, rate: 200Hz, range: [0, 127], type: i, address: /knob, to: [here]}
`

// /sim/<sensor> sets the reading of a simulated ADC's channel; the sampled,
// scaled value is published.
func TestSensorThroughSim(t *testing.T) {
	b := startOn(t, gpio.NewSim(quiet()), sensorMapping, Options{Listen: "127.0.0.1:0", Logger: quiet()})
	f := subscribe(t, b)
	sendAndWait(t, b, osc.NewMessage("/sim/knob", float32(0.5)))
	for {
		c := f.next()
		if c.Point == "knob" && c.Value == 63.5 {
			break
		}
	}
	sendAndWait(t, b, osc.NewMessage("/sim/knob", int32(1)))
	for {
		c := f.next()
		if c.Point == "knob" && c.Value == 127 {
			break
		}
	}
	sendAndWait(t, b, osc.NewMessage("/sim/knob", "x"))
	if c := b.Counters(); c.Rejected != 1 {
		t.Errorf("rejected = %d, want 1 (a string is no reading)", c.Rejected)
	}
}

// flakyADC fails its first reads, then reads 0.5.
type flakyADC struct {
	mu    sync.Mutex
	fails int
}

func (f *flakyADC) Read(int) (float64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fails > 0 {
		f.fails--
		return 0, errors.New("read /dev/i2c-1: remote I/O error")
	}
	return 0.5, nil
}
func (f *flakyADC) Close() error { return nil }
func (f *flakyADC) Name() string { return "flaky" }

// A sensor whose chip fails logs once, tries again with back-off (the chip
// re-opened), says when it is back, and its readings flow again.
func TestSensorFailsAndComesBack(t *testing.T) {
	var logBuf strings.Builder
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: &logBuf, mu: &mu}, nil))
	b := startOn(t, gpio.NewSim(quiet()), "outputs: [{name: led, pin: GPIO17, address: /led}]", Options{Listen: "127.0.0.1:0", Logger: log})
	f := subscribe(t, b)
	chip := &flakyADC{fails: 3}
	opens := 0
	a := &adcConn{cfg: config.ADC{Name: "panel", Chip: config.ChipADS1115}}
	a.openChip = func() (gpio.ADC, io.Closer, error) {
		opens++
		return chip, nil, nil
	}
	s := b.newSensor(config.Input{Name: "knob", ADC: "panel", Rate: 1000, Range: [2]float64{0, 1}}, a)
	s.backoff = time.Millisecond
	b.mu.Lock()
	b.sensors = append(b.sensors, s)
	b.mu.Unlock()
	s.start()
	f.expect("knob", 0.5, CauseEdge)
	s.stop(wait)
	if opens != 4 {
		t.Errorf("the chip was opened %d times, want 4 (once, then again after each of 3 failures)", opens)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(logBuf.String(), "sensor read failed"); n != 1 {
		t.Errorf("%d failure lines, want 1:\n%s", n, logBuf.String())
	}
	if !strings.Contains(logBuf.String(), `msg="sensor is back" input=knob`) {
		t.Errorf("no line saying the sensor is back:\n%s", logBuf.String())
	}
}

// A sample through a simulated chip and the filter allocates nothing.
func TestSensorSampleAllocatesNothing(t *testing.T) {
	a := newADCConn(config.ADC{Name: "panel", Chip: config.ChipADS1115}, true)
	f := newSensorFilter(config.Input{Range: [2]float64{0, 127}, Deadband: 1, MaxRate: 30})
	now := time.Unix(1000, 0)
	allocs := testing.AllocsPerRun(1000, func() {
		raw, err := a.read(0)
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(20 * time.Millisecond)
		f.sample(now, raw)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per sample, want 0", allocs)
	}
}

// A reload that changes an absolute encoder's bounds keeps its value (not
// its position), and its point says so.
func TestEncoderReloadKeepsValue(t *testing.T) {
	sim := gpio.NewSim(quiet())
	b := startOn(t, sim, encoderMapping, Options{Listen: "127.0.0.1:0", Logger: quiet()})
	f := subscribe(t, b)
	turn(t, sim, "GPIO20", "GPIO21", 1, 2)
	f.expect("vol", 1, CauseEdge)
	f.expect("vol", 2, CauseEdge)
	if err := b.Apply(mustParse(t, strings.Replace(encoderMapping, "mode: absolute, min: 0, max: 3", "mode: absolute, min: 1, max: 5", 1))); err != nil {
		t.Fatal(err)
	}
	for _, p := range b.Points() {
		if p.Name == "vol" && p.Value != 2 {
			t.Errorf("vol after the reload: %v, want 2", p.Value)
		}
	}
	turn(t, sim, "GPIO20", "GPIO21", 1, 1)
	f.expect("vol", 3, CauseEdge)
}
