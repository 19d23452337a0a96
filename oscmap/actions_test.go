package oscmap

import (
	"testing"
	"time"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/gpio"
)

const actionsMapping = `
outputs:
  - {name: led, pin: GPIO17, address: /led, duty: 0.25}
  - {name: bell, pin: GPIO22, address: /bell, pulse: 300ms, on_message: pulse}
  - {name: heat, pin: GPIO23, address: /heat, safe: "off"}
`

func ms(d int) time.Duration { return time.Duration(d) * time.Millisecond }

// startActions runs a bridge with actionsMapping on a fake clock and
// subscribes to its changes.
func startActions(t *testing.T) (*Bridge, *feed, *fakeClock) {
	clk := newFakeClock()
	b := startOn(t, gpio.NewSim(quiet()), actionsMapping, Options{Listen: "127.0.0.1:0", Logger: quiet(), clock: clk})
	return b, subscribe(t, b), clk
}

func TestPulse(t *testing.T) {
	b, f, clk := startActions(t)
	sendAndWait(t, b, osc.NewMessage("/led/pulse", float32(0.5)))
	f.expect("led", 1, CauseOSC)
	clk.Advance(ms(499))
	f.empty()
	clk.Advance(ms(1))
	f.expect("led", 0, CauseTimer)
	// The default length, and a new trigger while on restarts the time.
	sendAndWait(t, b, osc.NewMessage("/led/pulse"))
	f.expect("led", 1, CauseOSC)
	clk.Advance(ms(80))
	sendAndWait(t, b, osc.NewMessage("/led/pulse"))
	clk.Advance(ms(80))
	f.empty() // 160 ms since the first trigger, 80 since the second
	clk.Advance(ms(20))
	f.expect("led", 0, CauseTimer)
	// on_message: pulse: the plain address pulses (pulse: 300ms); off does nothing.
	sendAndWait(t, b, osc.NewMessage("/bell", int32(1)), osc.NewMessage("/bell", int32(0)))
	f.expect("bell", 1, CauseOSC)
	clk.Advance(ms(300))
	f.expect("bell", 0, CauseTimer)
	// A bad length is refused.
	sendAndWait(t, b, osc.NewMessage("/led/pulse", "long"))
	f.empty()
	if c := b.Counters(); c.Rejected != 1 {
		t.Errorf("rejected = %d, want 1", c.Rejected)
	}
}

func TestBlink(t *testing.T) {
	b, f, clk := startActions(t)
	// Period 1 s, 3 times, duty 0.25: on at 0, 1000, 2000; off at 250, 1250, 2250.
	sendAndWait(t, b, osc.NewMessage("/led/blink", int32(1), int32(3)))
	start := clk.Now()
	f.expect("led", 1, CauseOSC)
	for k := 0; k < 3; k++ {
		clk.Advance(start.Add(time.Duration(k)*time.Second + ms(250)).Sub(clk.Now()))
		f.expect("led", 0, CauseTimer)
		if k < 2 {
			clk.Advance(start.Add(time.Duration(k+1) * time.Second).Sub(clk.Now()))
			f.expect("led", 1, CauseTimer)
		}
	}
	clk.Advance(10 * time.Second)
	f.empty() // the count is done
	if clk.pending() != 0 {
		t.Errorf("%d timers pending after the blink", clk.pending())
	}
	// Until a new level: blinking, then /led 0 ends it.
	sendAndWait(t, b, osc.NewMessage("/led/blink", float32(0.1)))
	f.expect("led", 1, CauseOSC)
	clk.Advance(ms(25))
	f.expect("led", 0, CauseTimer)
	clk.Advance(ms(75))
	f.expect("led", 1, CauseTimer)
	sendAndWait(t, b, osc.NewMessage("/led", int32(0)))
	f.expect("led", 0, CauseOSC)
	clk.Advance(time.Second)
	f.empty()
	// A count below 1 is one blink, not "until a new level".
	sendAndWait(t, b, osc.NewMessage("/led/blink", float32(0.1), float32(0.4)))
	f.expect("led", 1, CauseOSC)
	clk.Advance(ms(25))
	f.expect("led", 0, CauseTimer)
	clk.Advance(time.Second)
	f.empty()
}

func TestToggleAndPatterns(t *testing.T) {
	b, f, _ := startActions(t)
	sendAndWait(t, b, osc.NewMessage("/heat/toggle"))
	f.expect("heat", 1, CauseOSC)
	sendAndWait(t, b, osc.NewMessage("/heat/toggle"))
	f.expect("heat", 0, CauseOSC)
	// A pattern never reaches an action.
	sendAndWait(t, b, osc.NewMessage("/heat/*"), osc.NewMessage("/*/toggle"))
	f.empty()
}

// A pulse or a blink running when the output is removed by a reload, or at
// Close, ends at the safe level, and its timer does nothing after.
func TestTimersEndSafe(t *testing.T) {
	b, f, clk := startActions(t)
	sendAndWait(t, b, osc.NewMessage("/heat/blink", float32(0.2)))
	f.expect("heat", 1, CauseOSC)
	if err := b.Apply(mustParse(t, "outputs: [{name: led, pin: GPIO17, address: /led}]")); err != nil {
		t.Fatal(err)
	}
	f.expect("heat", 0, CauseReload)
	clk.Advance(time.Second)
	sendAndWait(t, b, osc.NewMessage("/led/pulse", int32(5)))
	f.expect("led", 1, CauseOSC)
	b.Close()
	f.expect("led", 0, CauseSafe)
	clk.Advance(10 * time.Second)
	f.empty()
}

// The watchdog: no message for its time puts the output at its safe level;
// /oscgpio/heartbeat keeps it alive; the next message brings it back.
func TestWatchdog(t *testing.T) {
	clk := newFakeClock()
	b := startOn(t, gpio.NewSim(quiet()), `
watchdog: 2s
outputs:
  - {name: heat, pin: GPIO17, address: /heat, safe: "off"}
  - {name: fog, kind: pwm, pin: GPIO18, address: /fog, safe: 0, watchdog: 0}
`, Options{Listen: "127.0.0.1:0", Logger: quiet(), clock: clk})
	f := subscribe(t, b)
	sendAndWait(t, b, osc.NewMessage("/heat", int32(1)), osc.NewMessage("/fog", float32(0.5)))
	f.expect("heat", 1, CauseOSC)
	f.expect("fog", 0.5, CauseOSC)
	clk.Advance(1900 * time.Millisecond)
	sendAndWait(t, b, osc.NewMessage("/oscgpio/heartbeat"))
	clk.Advance(1900 * time.Millisecond)
	f.empty()
	clk.Advance(200 * time.Millisecond)
	f.expect("heat", 0, CauseWatchdog)
	f.empty() // fog has watchdog: 0 (off), overriding the file's
	sendAndWait(t, b, osc.NewMessage("/heat", int32(1)))
	f.expect("heat", 1, CauseOSC)
}

// max_switch_rate: changes faster than the rate are coalesced to the latest
// level, written when the time allows, never queued; the safe level goes
// at once.
func TestMaxSwitchRate(t *testing.T) {
	clk := newFakeClock()
	b := startOn(t, gpio.NewSim(quiet()), `
outputs: [{name: relay, pin: GPIO17, address: /relay, max_switch_rate: 10Hz, safe: "off"}]
`, Options{Listen: "127.0.0.1:0", Logger: quiet(), clock: clk})
	f := subscribe(t, b)
	sendAndWait(t, b, osc.NewMessage("/relay", int32(1)))
	f.expect("relay", 1, CauseOSC)
	// 7 changes within 100 ms (0, 1, 0, ... 0): none written now; the latest,
	// 0, when the slot comes.
	for i := 0; i < 7; i++ {
		sendAndWait(t, b, osc.NewMessage("/relay", int32(i%2)))
	}
	f.empty()
	clk.Advance(100 * time.Millisecond)
	f.expect("relay", 0, CauseTimer)
	// Back to the level it has before the slot: nothing waits, nothing is written.
	sendAndWait(t, b, osc.NewMessage("/relay", int32(1)), osc.NewMessage("/relay", int32(0)))
	clk.Advance(time.Second)
	f.empty()
	if c := b.Counters(); c.Coalesced != 5 {
		t.Errorf("coalesced = %d, want 5 (held back: four 0s while on, then one 1)", c.Coalesced)
	}
	// The safe level goes at once.
	sendAndWait(t, b, osc.NewMessage("/relay", int32(1)))
	f.expect("relay", 1, CauseOSC)
	b.Close()
	f.expect("relay", 0, CauseSafe)
}
