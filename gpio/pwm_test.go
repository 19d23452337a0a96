package gpio

import (
	"context"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
	"periph.io/x/conn/v3/physic"
)

// fakeBackend is a non-sim backend with gpiotest pins, for OpenPWM's
// choices off the sim.
type fakeBackend struct {
	mu       sync.Mutex
	pins     map[string]*gpiotest.Pin
	released []string
}

func (b *fakeBackend) Name() string { return "fake" }

func (b *fakeBackend) Pin(name string) (pgpio.PinIO, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pins == nil {
		b.pins = map[string]*gpiotest.Pin{}
	}
	if b.pins[name] == nil {
		b.pins[name] = &gpiotest.Pin{N: name}
	}
	return b.pins[name], nil
}

func (b *fakeBackend) Release(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.released = append(b.released, name)
	return nil
}

func (b *fakeBackend) Close() error { return nil }

// fakeBCM records what the bcm283x PWM asks of periph's pin.
type fakeBCM struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeBCM) PWM(d pgpio.Duty, freq physic.Frequency) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "PWM "+d.String()+" "+freq.String())
	return nil
}

func (f *fakeBCM) Out(l pgpio.Level) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "Out "+levelName(l))
	return nil
}

func (f *fakeBCM) Halt() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "Halt")
	return nil
}

func TestServoDuty(t *testing.T) {
	for _, c := range []struct {
		pulse time.Duration
		duty  float64
		ok    bool
	}{
		{1500 * time.Microsecond, 0.075, true},
		{500 * time.Microsecond, 0.025, true},
		{2500 * time.Microsecond, 0.125, true},
		{499 * time.Microsecond, 0.02495, false},
		{2501 * time.Microsecond, 0.12505, false},
	} {
		if d := ServoDuty(c.pulse); math.Abs(d-c.duty) > 1e-12 {
			t.Errorf("ServoDuty(%v) = %v, want %v", c.pulse, d, c.duty)
		}
		if err := ServoPulseOK(c.pulse); (err == nil) != c.ok {
			t.Errorf("ServoPulseOK(%v) = %v", c.pulse, err)
		}
	}
}

func TestOpenPWMBadConfig(t *testing.T) {
	k := newFakeKernel(t, pi4Chip)
	for _, c := range []struct {
		pin  string
		cfg  PWMConfig
		want string
	}{
		{"GPIO99", PWMConfig{Name: "x"}, "not a BCM GPIO name"},
		{"GPIO18", PWMConfig{Name: "x", Servo: true, Frequency: 300 * physic.Hertz}, "a servo runs at 50Hz"},
		{"GPIO18", PWMConfig{Name: "x", Frequency: -physic.Hertz}, "negative frequency"},
		{"GPIO17", PWMConfig{Name: "x", Frequency: 5 * physic.KiloHertz}, "software PWM"},
	} {
		if _, err := openPWM(&fakeBackend{}, c.pin, c.cfg, nil, k.env()); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %+v: err = %v, want %q", c.pin, c.cfg, err, c.want)
		}
	}
	if _, err := OpenPWM(nil, "GPIO18", PWMConfig{Name: "x"}, nil); err == nil {
		t.Error("OpenPWM on no backend worked")
	}
}

func TestOpenPWMBCM283x(t *testing.T) {
	k := newFakeKernel(t) // no kernel PWM
	env := k.env()
	bcm := &fakeBCM{}
	env.euid = func() int { return 0 }
	env.bcmPin = func(n int) (bcmPWMPin, bool) { return bcm, n == 13 }
	log, logs := newTestLog(slog.LevelInfo)
	p, err := openPWM(&fakeBackend{}, "GPIO13", PWMConfig{Name: "arm", Servo: true}, log, env)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs.lines("pwm ready", "via=bcm283x", "frequency=50Hz")) != 1 {
		t.Errorf("log: %s", logs)
	}
	if err := p.Set(0.5); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	want := "Out low|PWM 50% 50Hz|Halt|Out low"
	if got := strings.Join(bcm.calls, "|"); got != want {
		t.Errorf("calls %q, want %q", got, want)
	}

	// Not root: an LED falls back to software PWM, a servo is refused.
	env.euid = func() int { return 1000 }
	b := &fakeBackend{}
	p, err = openPWM(b, "GPIO13", PWMConfig{Name: "led"}, log, env)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(*SoftPWM); !ok {
		t.Errorf("got %T, want software PWM", p)
	}
	if len(logs.lines("via=software", "frequency=200Hz", "not running as root")) != 1 {
		t.Errorf("log: %s", logs)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(b.released, ",") != "GPIO13" {
		t.Errorf("released %v, want GPIO13", b.released)
	}
	_, err = openPWM(b, "GPIO13", PWMConfig{Name: "arm", Servo: true}, log, env)
	if err == nil || !strings.Contains(err.Error(), "not running as root") || !strings.Contains(err.Error(), "dtoverlay=pwm-2chan") {
		t.Errorf("servo without hardware: %v", err)
	}
}

func TestOpenPWMServoRefusedOnSoftware(t *testing.T) {
	k := newFakeKernel(t, pi4Chip)
	_, err := openPWM(&fakeBackend{}, "GPIO17", PWMConfig{Name: "arm", Servo: true}, nil, k.env())
	for _, s := range []string{`pwm "arm" on GPIO17`, "servo needs hardware PWM", "twitch", "dtoverlay=pwm-2chan", "not GPIO12, 13, 18 or 19"} {
		if err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("err %v lacks %q", err, s)
		}
	}
	if _, err := NewSoftPWM(&gpiotest.Pin{N: "GPIO17"}, PWMConfig{Name: "arm", Servo: true}, nil); err == nil {
		t.Error("NewSoftPWM took a servo")
	}
}

func TestSimPWM(t *testing.T) {
	log, logs := newTestLog(slog.LevelDebug)
	s := NewSim(log)
	p, err := OpenPWM(s, "gpio18", PWMConfig{Name: "arm", Servo: true}, log)
	if err != nil {
		t.Fatal(err)
	}
	sp, ok := p.(*SimPWM)
	if !ok {
		t.Fatalf("got %T", p)
	}
	if sp.Frequency() != ServoFrequency || p.Name() != "arm" {
		t.Errorf("frequency %s name %s", sp.Frequency(), p.Name())
	}
	if d, ok := s.PWMDuty("GPIO18"); !ok || d != 0 {
		t.Errorf("PWMDuty before Set = %v %v", d, ok)
	}
	if err := p.Set(ServoDuty(1500 * time.Microsecond)); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.PWMDuty("GPIO18"); d != 0.075 || p.Duty() != 0.075 {
		t.Errorf("duty %v / %v, want 0.075", d, p.Duty())
	}
	if err := p.Set(math.NaN()); err == nil {
		t.Error("Set(NaN) worked")
	}
	if len(logs.lines("GPIO18 pwm -> 0.075")) != 1 {
		t.Errorf("log: %s", logs)
	}
	if _, err := OpenPWM(s, "GPIO18", PWMConfig{Name: "two"}, log); err == nil || !strings.Contains(err.Error(), `already the PWM "arm"`) {
		t.Errorf("second PWM on a pin: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.PWMDuty("GPIO18"); ok {
		t.Error("PWM still open after Close")
	}
	if err := p.Set(0.5); err == nil {
		t.Error("Set after Close worked")
	}
	p2, err := OpenPWM(s, "GPIO18", PWMConfig{Name: "led"}, log)
	if err != nil {
		t.Fatal(err)
	}
	if p2.(*SimPWM).Frequency() != DefaultPWMFrequency {
		t.Errorf("LED frequency %s", p2.(*SimPWM).Frequency())
	}
	_ = p2.Close()
}

// The sim logs outside its locks: a handler that calls back into the PWM
// from its log call must not deadlock.
func TestSimPWMLogsOutsideLocks(t *testing.T) {
	s := NewSim(nil)
	var p PWM
	h := &callbackHandler{fn: func() {
		if p != nil {
			_ = p.Duty()
		}
		_, _ = s.PWMDuty("GPIO12")
	}}
	log := slog.New(h)
	var err error
	p, err = OpenPWM(s, "GPIO12", PWMConfig{Name: "led"}, log)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.Set(0.3)
		_ = p.Close()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("deadlock: the sim PWM logs while holding a lock")
	}
	if h.calls() < 2 {
		t.Errorf("logged %d records", h.calls())
	}
}

type callbackHandler struct {
	fn func()
	mu sync.Mutex
	n  int
}

func (h *callbackHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *callbackHandler) Handle(context.Context, slog.Record) error {
	h.fn()
	h.mu.Lock()
	h.n++
	h.mu.Unlock()
	return nil
}

func (h *callbackHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *callbackHandler) WithGroup(string) slog.Handler      { return h }

func (h *callbackHandler) calls() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}
