package gpio

import (
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// recPin records every call an Out makes on its pin.
type recPin struct {
	gpiotest.Pin
	mu     sync.Mutex
	calls  []string
	outErr error
}

func (p *recPin) rec(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, s)
}

func (p *recPin) log() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.calls...)
}

func (p *recPin) Out(l pgpio.Level) error {
	p.rec("Out(" + levelName(l) + ")")
	if p.outErr != nil {
		return p.outErr
	}
	return p.Pin.Out(l)
}

func (p *recPin) Read() pgpio.Level {
	p.rec("Read")
	return p.Pin.Read()
}

func (p *recPin) In(pull pgpio.Pull, e pgpio.Edge) error {
	p.rec("In")
	return p.Pin.In(pull, e)
}

func TestOutInitialIsTheFirstAndOnlyConfiguration(t *testing.T) {
	tests := []struct {
		cfg  OutConfig
		want string
	}{
		{OutConfig{Name: "led"}, "Out(low)"},
		{OutConfig{Name: "led", Initial: true}, "Out(high)"},
		{OutConfig{Name: "relay", ActiveLow: true}, "Out(high)"}, // off relay = electrical high
		{OutConfig{Name: "relay", ActiveLow: true, Initial: true}, "Out(low)"},
	}
	for _, tt := range tests {
		p := &recPin{Pin: gpiotest.Pin{N: "GPIO17", L: !levelFromName(tt.want)}}
		o, err := NewOut(p, tt.cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if got := p.log(); len(got) != 1 || got[0] != tt.want {
			t.Errorf("%+v: calls %v, want exactly [%s]", tt.cfg, got, tt.want)
		}
		if o.On() != tt.cfg.Initial {
			t.Errorf("%+v: On() = %v", tt.cfg, o.On())
		}
		if p.Pin.Read() != levelFromName(tt.want) {
			t.Errorf("%+v: pin at %v", tt.cfg, p.Pin.Read())
		}
	}
}

func levelFromName(call string) pgpio.Level { return pgpio.Level(strings.Contains(call, "high")) }

func TestOutActiveLowNeverReadsBack(t *testing.T) {
	log, buf := newTestLog(slog.LevelInfo)
	p := &recPin{Pin: gpiotest.Pin{N: "GPIO22"}}
	o, err := NewOut(p, OutConfig{Name: "relay", ActiveLow: true, Initial: false, Safe: false}, log)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		do     func() error
		on     bool
		levelL pgpio.Level
	}{
		{func() error { return o.Set(true) }, true, pgpio.Low},
		{func() error { return o.Set(true) }, true, pgpio.Low},
		{o.Toggle, false, pgpio.High},
		{o.Toggle, true, pgpio.Low},
		{func() error { return o.Set(false) }, false, pgpio.High},
		{o.Toggle, true, pgpio.Low},
		{o.SetSafe, false, pgpio.High},
	}
	for i, s := range steps {
		// Someone else changing the pin must not confuse Toggle: Out keeps
		// what it wrote.
		p.Pin.Out(!s.levelL)
		if err := s.do(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if o.On() != s.on || p.Pin.Read() != s.levelL {
			t.Fatalf("step %d: On()=%v level=%v, want %v %v", i, o.On(), p.Pin.Read(), s.on, s.levelL)
		}
	}
	for _, c := range p.log() {
		if !strings.HasPrefix(c, "Out(") {
			t.Errorf("Out called %s on its pin; only Out is allowed (calls: %v)", c, p.log())
		}
	}
	want := `level=INFO msg="output at safe level" name=relay pin=GPIO22 level=high`
	if got := buf.lines("output at safe level"); len(got) != 1 || got[0] != want {
		t.Errorf("safe-level log = %q, want [%q]", got, want)
	}
}

func TestOutSetSafeLogsElectricalLevel(t *testing.T) {
	log, buf := newTestLog(slog.LevelInfo)
	p := &gpiotest.Pin{N: "GPIO17"}
	o, err := NewOut(p, OutConfig{Name: "led", Initial: true}, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.SetSafe(); err != nil {
		t.Fatal(err)
	}
	want := `level=INFO msg="output at safe level" name=led pin=GPIO17 level=low`
	if got := buf.lines("output at safe level"); len(got) != 1 || got[0] != want {
		t.Errorf("log = %q, want [%q]", got, want)
	}
	if p.Read() != pgpio.Low || o.On() {
		t.Errorf("after SetSafe: level %v On %v", p.Read(), o.On())
	}
}

func TestOutErrors(t *testing.T) {
	p := &recPin{Pin: gpiotest.Pin{N: "GPIO17"}, outErr: errors.New("device or resource busy")}
	_, err := NewOut(p, OutConfig{Name: "led", Initial: true}, nil)
	if err == nil || !strings.Contains(err.Error(), `output "led" on GPIO17`) || !strings.Contains(err.Error(), "busy") {
		t.Fatalf("NewOut error = %v; want it to name the output, the pin and the cause", err)
	}

	p.outErr = nil
	o, err := NewOut(p, OutConfig{Name: "led"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.outErr = errors.New("input/output error")
	if err := o.Set(true); err == nil || !strings.Contains(err.Error(), `output "led" on GPIO17: input/output error`) {
		t.Errorf("Set error = %v", err)
	}
	if o.On() {
		t.Error("On() = true after a failed Set; it must keep the level actually written")
	}
	if err := o.Toggle(); err == nil {
		t.Error("Toggle on a failing pin: no error")
	}
	if err := o.SetSafe(); err == nil || !strings.Contains(err.Error(), "safe level") {
		t.Errorf("SetSafe error = %v", err)
	}
	if _, err := NewOut(nil, OutConfig{Name: "x"}, nil); err == nil {
		t.Error("NewOut(nil pin): no error")
	}
}

func TestOutConcurrentToggles(t *testing.T) {
	p := &gpiotest.Pin{N: "GPIO17"}
	o, err := NewOut(p, OutConfig{Name: "led"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				if err := o.Toggle(); err != nil {
					t.Error(err)
					return
				}
				_ = o.On()
			}
		})
	}
	wg.Wait()
	// 8000 toggles from off: off again, and the pin agrees.
	if o.On() || p.Read() != pgpio.Low {
		t.Errorf("after an even number of toggles: On %v, level %v", o.On(), p.Read())
	}
}

func BenchmarkOutSetSim(b *testing.B) {
	s := NewSim(slog.New(slog.DiscardHandler))
	p, err := s.Pin("GPIO17")
	if err != nil {
		b.Fatal(err)
	}
	o, err := NewOut(p, OutConfig{Name: "led"}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	on := false
	for b.Loop() {
		on = !on
		if err := o.Set(on); err != nil {
			b.Fatal(err)
		}
	}
}
