package oscmap

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/gpio"
	"github.com/oscgpio/oscgpio/oscmap/codec"
)

// Feedback: every change of the output goes to its feedback destination,
// typed as asked, at most feedback_rate a second with the latest value
// winning; /oscgpio/sync sends the current value again.
func TestFeedback(t *testing.T) {
	recv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()
	read := func() string {
		t.Helper()
		recv.SetReadDeadline(time.Now().Add(wait))
		buf := make([]byte, 1500)
		n, err := recv.Read(buf)
		if err != nil {
			t.Fatalf("no feedback: %v", err)
		}
		els, err := codec.Decode(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		return codec.Format(els[0].Msg)
	}
	expect := func(want string) {
		t.Helper()
		if got := read(); got != want {
			t.Fatalf("feedback %q, want %q", got, want)
		}
	}
	clk := newFakeClock()
	b := startOn(t, gpio.NewSim(quiet()), fmt.Sprintf(`
destinations: {touchosc: %s}
outputs: [{name: led, pin: GPIO17, address: /led, type: f, feedback: [touchosc], feedback_rate: 10Hz}]
`, recv.LocalAddr()), Options{Listen: "127.0.0.1:0", Logger: quiet(), clock: clk})
	expect("/led f 0.000000") // its initial level, at start
	// Within 100 ms of the last feedback: held back; the latest wins.
	sendAndWait(t, b, osc.NewMessage("/led", int32(1)), osc.NewMessage("/led", int32(0)), osc.NewMessage("/led", int32(1)))
	clk.Advance(100 * time.Millisecond)
	expect("/led f 1.000000")
	// The end of a pulse is a change like any other (the led is on already:
	// the pulse's start is no change).
	clk.Advance(time.Second)
	sendAndWait(t, b, osc.NewMessage("/led/pulse", float32(0.5)))
	clk.Advance(time.Second)
	expect("/led f 0.000000")
	// /oscgpio/sync: the value again, to every feedback destination.
	sendAndWait(t, b, osc.NewMessage("/oscgpio/sync"))
	expect("/led f 0.000000")
}
