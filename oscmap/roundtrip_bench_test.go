package oscmap

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/hypebeast/go-osc/osc"
)

// benchMapping is scripts/bench's: /led drives GPIO17, jumpered to GPIO27,
// whose changes are reported as /button to one destination.
const benchMapping = `
destinations:
  bench: %s
outputs:
  - {name: led, pin: GPIO17, address: /led, initial: "off", safe: "off"}
inputs:
  - {name: button, pin: GPIO27, pull: down, debounce: 0, address: /button, values: {press: 1, release: 0}, type: i, to: [bench]}
sim:
  jumpers: [[GPIO17, GPIO27]]
`

// drainHandled empties the channel startConfig signals each handled message
// on (it holds 65536) until the test ends, for a test that waits on replies
// instead.
func drainHandled(t testing.TB, br *Bridge) {
	v, _ := handled.Load(br)
	ch := v.(chan struct{})
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		for {
			select {
			case <-ch:
			case <-stop:
				return
			}
		}
	}()
}

// BenchmarkRoundTrip is scripts/bench's path with one message in flight, at
// the info log level (to io.Discard, within the line budget): /led in,
// decode, route, drive the sim pin, the jumpered input's change, the
// report encoded and sent to a destination that reads it. One op is one
// round trip.
func BenchmarkRoundTrip(b *testing.B) {
	recv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer recv.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	br, _ := startBridge(b, fmt.Sprintf(benchMapping, recv.LocalAddr()), log)
	drainHandled(b, br)
	c, err := net.DialUDP("udp", nil, br.Addr().(*net.UDPAddr))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var msgs [2][]byte
	for i := range msgs {
		msgs[i], _ = osc.NewMessage("/led", int32(1-i)).MarshalBinary()
	}
	buf := make([]byte, 1500)
	// The mapping reports the input's state at start: read it first.
	if _, _, err := recv.ReadFromUDPAddrPort(buf); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(msgs[i%2]); err != nil {
			b.Fatal(err)
		}
		n, _, err := recv.ReadFromUDPAddrPort(buf)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			b.Fatal("empty report")
		}
	}
}

// Serving a message allocates nothing once warm: a /led message in, the
// pin driven, the jumpered input's report out. A bridge that allocates per
// message grows its heap to the collector's goal under load and keeps it
// resident; the target of under 10 MB after scripts/bench depends on this.
func TestRoundTripAllocatesNothing(t *testing.T) {
	recv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	br, _ := startBridge(t, fmt.Sprintf(benchMapping, recv.LocalAddr()), log)
	drainHandled(t, br)
	c, err := net.DialUDP("udp", nil, br.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var msgs [2][]byte
	for i := range msgs {
		msgs[i], _ = osc.NewMessage("/led", int32(1-i)).MarshalBinary()
	}
	buf := make([]byte, 1500)
	if err := recv.SetReadDeadline(time.Now().Add(wait)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := recv.ReadFromUDPAddrPort(buf); err != nil { // the state at start
		t.Fatal(err)
	}
	i := 0
	roundTrip := func() {
		if _, err := c.Write(msgs[i%2]); err != nil {
			t.Fatal(err)
		}
		i++
		if _, _, err := recv.ReadFromUDPAddrPort(buf); err != nil {
			t.Fatal(err)
		}
	}
	for range 100 { // warm: the decoder's messages, the sender's queue
		roundTrip()
	}
	// The log line budget (20 a second) formats a few lines; the average
	// over 2000 round trips stays under one allocation each.
	if n := testing.AllocsPerRun(2000, roundTrip); n != 0 {
		t.Errorf("%v allocations per round trip, want 0", n)
	}
}
