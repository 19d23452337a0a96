package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/oscmap/codec"
)

// exampleMapping reads a config/examples file and points its destination
// 127.0.0.1:5006 at port.
func exampleMapping(t *testing.T, name string, port int) string {
	t.Helper()
	b, err := os.ReadFile("../config/examples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(b), " 127.0.0.1:5006", fmt.Sprintf(" 127.0.0.1:%d", port), 1)
	if text == string(b) {
		t.Fatalf("%s has no 127.0.0.1:5006 destination; update this test", name)
	}
	return writeMapping(t, "%s", text)
}

// The encoder example on the sim: a show computer turns the encoders from
// OSC (/sim/GPIO5, /sim/GPIO6: one level change a message, as the contacts
// would), and receives /jog 1 and -1 per click, and /volume as a value.
func TestEncoderExample(t *testing.T) {
	mon := newPeer(t)
	bridge := runBridge(t, "--config", exampleMapping(t, "encoder.yaml", mon.port()))
	mon.expect("/jog/push i 0") // report_at_start: the push switch's state
	src := newPeer(t)
	detent := func(first, second string) {
		for _, step := range []struct {
			pin string
			l   int32
		}{{first, 0}, {second, 0}, {first, 1}, {second, 1}} {
			src.send(bridge.port, osc.NewMessage("/sim/"+step.pin, step.l))
		}
	}
	detent("GPIO5", "GPIO6")
	mon.expect("/jog i 1")
	detent("GPIO6", "GPIO5")
	mon.expect("/jog i -1")
	detent("GPIO20", "GPIO21")
	mon.expect("/volume f 0.050000")
	// The push switch on the shaft is an ordinary input.
	src.send(bridge.port, osc.NewMessage("/sim/GPIO13", int32(0)))
	mon.expect("/jog/push i 1")
}

// An analog input on a simulated ADS1115: /sim/<input name> <0..1> sets the
// chip's reading; the bridge samples, scales and sends it.
func TestAnalogExample(t *testing.T) {
	mon := newPeer(t)
	bridge := runBridge(t, "--config", exampleMapping(t, "analog-ads1115.yaml", mon.port()))
	out, code := oscgpio(t, "check", "../config/examples/analog-ads1115.yaml")
	if code != 0 {
		t.Fatalf("check: %s", out)
	}
	src := newPeer(t)
	src.send(bridge.port, osc.NewMessage("/sim/cutoff", float32(0.5)))
	for {
		// The first readings (0) come first; then 0.5 of [0, 127], rounded.
		if got := codec.Format(mon.next()); got == "/cutoff i 64" {
			break
		}
	}
	// Smoothing 0.5 and a deadband of 0.005: the reports climb towards 1
	// and stop within 0.005 of it.
	src.send(bridge.port, osc.NewMessage("/sim/resonance", int32(1)))
	for {
		m := mon.next()
		if v, ok := m.Arguments[0].(float32); ok && m.Address == "/resonance" && v > 0.99 {
			break
		}
	}
}
