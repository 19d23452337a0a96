package e2e

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/oscmap/codec"
)

const buttonsV1 = `
destinations: {monitor: 127.0.0.1:%d}
inputs:
  - {name: go, pin: GPIO27, pull: down, debounce: 0s, address: /go, hold: 300ms, repeat: 100ms, to: [monitor]}
  - {name: scene, pin: GPIO22, pull: down, debounce: 0s, address: /scene, mode: latch, to: [monitor]}
  - {name: visits, pin: GPIO23, pull: down, debounce: 0s, address: /visits, mode: counter, to: [monitor]}
`

// The reload keeps go and visits (a new address), adds lamp.
const buttonsV2 = `
destinations: {monitor: 127.0.0.1:%d}
inputs:
  - {name: go, pin: GPIO27, pull: down, debounce: 0s, address: /go, hold: 300ms, repeat: 100ms, to: [monitor]}
  - {name: scene, pin: GPIO22, pull: down, debounce: 0s, address: /scene, mode: latch, to: [monitor]}
  - {name: visits, pin: GPIO23, pull: down, debounce: 0s, address: /people, mode: counter, to: [monitor]}
  - {name: pir, pin: GPIO24, pull: down, debounce: 50ms, address: /motion, to: [monitor]}
`

// Buttons through the sim pins (/sim/GPIO27 1 presses): hold and repeat on
// the real clock, a latch, a counter fed short pulses, the states at start,
// and a reload that keeps the count and reports the input it adds.
func TestButtons(t *testing.T) {
	mon := newPeer(t)
	file := writeMapping(t, buttonsV1, mon.port())
	bridge := runBridge(t, "--config", file)
	src, query := newPeer(t), newPeer(t)
	press := func(pin string, level int32) { src.send(bridge.port, osc.NewMessage("/sim/"+pin, level)) }
	for _, w := range []string{"/go i 0", "/scene i 0", "/visits i 0"} {
		mon.expect(w) // report_at_start
	}

	// Held: /go/hold 1 after 300ms, then every 100ms until the release.
	t0 := time.Now()
	press("GPIO27", 1)
	mon.expect("/go i 1")
	mon.expect("/go/hold i 1")
	held := time.Since(t0)
	if held < 300*time.Millisecond {
		t.Errorf("held after %v, before the hold time of 300ms", held)
	}
	mon.expect("/go/hold i 1") // a repeat
	t.Logf("hold: 300ms, repeat: 100ms: /go/hold 1 received %v after the press was sent, the first repeat %v after", held, time.Since(t0))
	press("GPIO27", 0)
	for {
		m := codec.Format(mon.next())
		if m == "/go i 0" {
			break
		}
		if m != "/go/hold i 1" {
			t.Fatalf("received %q while held, want /go/hold i 1 repeats until /go i 0", m)
		}
	}
	mon.expect("/go/hold i 0")
	// A short press: no hold.
	press("GPIO27", 1)
	press("GPIO27", 0)
	mon.expect("/go i 1")
	mon.expect("/go i 0")

	// Latch: presses flip it, releases send nothing.
	for range 3 {
		press("GPIO22", 1)
		press("GPIO22", 0)
	}
	for _, w := range []string{"/scene i 1", "/scene i 0", "/scene i 1"} {
		mon.expect(w)
	}
	// Counter: short pulses, none missed.
	for range 5 {
		press("GPIO23", 1)
		press("GPIO23", 0)
	}
	for _, w := range []string{"/visits i 1", "/visits i 2", "/visits i 3", "/visits i 4", "/visits i 5"} {
		mon.expect(w)
	}
	time.Sleep(400 * time.Millisecond) // longer than hold: no late /go/hold
	mon.nothingPending()

	// Reload: the kept counter counts on under its new address; only the
	// added input reports its state.
	if err := os.WriteFile(file, []byte(fmtMapping(buttonsV2, mon.port())), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := bridge.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	query.waitStats(bridge.port, "the reload", func(st map[string]int) bool { return st["reloads"] == 1 })
	mon.expect("/motion i 0")
	press("GPIO23", 1)
	mon.expect("/people i 6")
	mon.nothingPending()
	if code := bridge.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
}
