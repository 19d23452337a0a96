package oscmap

import (
	"fmt"
	"testing"
	"time"

	"github.com/oscgpio/oscgpio/gpio"
)

// TestLoopIsCutByTheLoopLimit makes the mapping feed itself: an input
// reports to the bridge's own address, on the address of the output that is
// jumpered to it, inverted, so every report flips the output and makes the
// next report. The loop limit (200 a second, a burst of 50, without
// rate_limit) must hold it: the messages the bridge took from itself never
// exceed what the token bucket allows over the time measured, and the excess
// is counted.
func TestLoopIsCutByTheLoopLimit(t *testing.T) {
	sim := gpio.NewSim(quiet())
	b := startConfig(t, sim, mustParse(t, "outputs:\n  - {name: o, pin: GPIO17, address: /loop}\n"), Options{Listen: "127.0.0.1:0", Logger: quiet()})
	start := time.Now()
	loop := mustParse(t, fmt.Sprintf(`
destinations:
  self: %s
outputs:
  - {name: o, pin: GPIO17, address: /loop}
inputs:
  - {name: i, pin: GPIO27, pull: down, active_low: true, debounce: 0, address: /loop, to: [self]}
sim:
  jumpers: [[GPIO17, GPIO27]]
`, b.Addr()))
	if err := b.Apply(loop); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for b.Counters().LoopLimited == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the loop was never limited: %+v", b.Counters())
		}
		time.Sleep(time.Millisecond)
	}
	// The bucket has run dry: from now on, a little over 200 a second.
	time.Sleep(200 * time.Millisecond)
	c := b.Counters()
	elapsed := time.Since(start)
	taken := c.Packets - c.LoopLimited // every packet came from the bridge itself
	if max := uint64(50 + 200*elapsed.Seconds() + 1); taken > max {
		t.Errorf("the bridge took %d of its own messages in %v, more than the loop limit allows (%d)", taken, elapsed, max)
	}
	if c.Denied+c.RateLimited != 0 {
		t.Errorf("counted as denied or rate limited: %+v", c)
	}
	top := b.TopSenders(1)
	if len(top.Received) != 1 || top.Received[0].Addr.String() != "127.0.0.1" {
		t.Errorf("TopSenders = %+v, want the bridge's own address", top)
	}
	t.Logf("in %v: %d of its own messages taken, %d dropped by the loop limit", elapsed, taken, c.LoopLimited)
}
