package oscmap

import (
	"math"
	"testing"
	"time"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/gpio"
)

const pwmMapping = `
outputs:
  - {name: dimmer, kind: pwm, pin: GPIO18, address: /dimmer, range: [0, 100], gamma: 2, safe: 0}
  - {name: arm, kind: servo, pin: GPIO19, address: /arm, initial: 90, safe: 0}
`

func duty(t *testing.T, sim *gpio.Sim, pin string) float64 {
	t.Helper()
	d, ok := sim.PWMDuty(pin)
	if !ok {
		t.Fatalf("%s is not a simulated PWM", pin)
	}
	return d
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestPWMAndServo(t *testing.T) {
	clk := newFakeClock()
	sim := gpio.NewSim(quiet())
	b := startOn(t, sim, pwmMapping, Options{Listen: "127.0.0.1:0", Logger: quiet(), clock: clk})
	f := subscribe(t, b)
	// A servo's initial 90 degrees of [0, 180]: 1500us of 20ms.
	if d := duty(t, sim, "GPIO19"); !near(d, 0.075) {
		t.Errorf("servo at start: duty %v, want 0.075", d)
	}
	// 50 of [0, 100] with gamma 2: duty 0.25. Ints, floats, booleans.
	sendAndWait(t, b, osc.NewMessage("/dimmer", float32(50)))
	f.expect("dimmer", 50, CauseOSC)
	if d := duty(t, sim, "GPIO18"); !near(d, 0.25) {
		t.Errorf("dimmer 50: duty %v, want 0.25", d)
	}
	sendAndWait(t, b, osc.NewMessage("/dimmer", true), osc.NewMessage("/dimmer", int32(500)))
	f.expect("dimmer", 100, CauseOSC) // true is the top; 500 is clamped to it: no change
	sendAndWait(t, b, osc.NewMessage("/arm", int32(180)))
	f.expect("arm", 180, CauseOSC)
	if d := duty(t, sim, "GPIO19"); !near(d, 0.1) {
		t.Errorf("servo at 180: duty %v, want 0.1 (2000us)", d)
	}
	// A fade from 100 to 0 over 1 s, computed from the clock; a new value
	// stops it.
	sendAndWait(t, b, osc.NewMessage("/dimmer/fade", int32(0), float32(1)))
	clk.Advance(500 * time.Millisecond)
	var last Change
	for len(f.ch) > 0 {
		last = f.next()
	}
	if last.Point != "dimmer" || math.Abs(last.Value-50) > 2.5 || last.Cause != CauseTimer {
		t.Errorf("half-way through the fade: %+v, want dimmer near 50", last)
	}
	sendAndWait(t, b, osc.NewMessage("/dimmer", int32(80)))
	f.expect("dimmer", 80, CauseOSC)
	clk.Advance(time.Second)
	f.empty()
	// Close: the safe values, then the PWMs are released.
	b.Close()
	f.expect("dimmer", 0, CauseSafe)
	f.expect("arm", 0, CauseSafe)
	if _, open := sim.PWMDuty("GPIO18"); open {
		t.Error("the dimmer's PWM is still open after Close")
	}
}

// /oscgpio/get reads a PWM output's value back.
func TestPWMGet(t *testing.T) {
	b := startOn(t, gpio.NewSim(quiet()), pwmMapping, Options{Listen: "127.0.0.1:0", Logger: quiet()})
	sendAndWait(t, b, osc.NewMessage("/dimmer", float32(12.5)))
	for _, p := range b.Points() {
		if p.Name == "dimmer" && p.Value != 12.5 {
			t.Errorf("dimmer's point value %v, want 12.5", p.Value)
		}
	}
}

// At exit a hardware (here simulated) PWM whose safe value is not a duty of
// 0 stays at that duty: a servo holds its safe angle.
func TestPWMStaysAtSafeDuty(t *testing.T) {
	sim := gpio.NewSim(quiet())
	b := startOn(t, sim, `
outputs:
  - {name: arm, kind: servo, pin: GPIO19, address: /arm, initial: 0, safe: 90}
`, Options{Listen: "127.0.0.1:0", Logger: quiet()})
	b.Close()
	if d := duty(t, sim, "GPIO19"); !near(d, 0.075) {
		t.Errorf("servo after Close: duty %v, want 0.075 (90 degrees)", d)
	}
}
