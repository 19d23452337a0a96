package oscmap

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/oscmap/codec"
	pgpio "periph.io/x/conn/v3/gpio"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/gpio"
)

const bridgeMapping = `
destinations:
  here: %s
outputs:
  - {name: one, pin: GPIO17, address: /led/1}
  - {name: two, pin: GPIO22, address: /led/2, no_arg: "on"}
  - {name: lamp, pin: GPIO23, address: /lamp, no_arg: ignore, active_low: true}
  - {name: fan, pin: GPIO24, address: /fan, initial: "on", no_arg: "off"}
inputs:
  - {name: button, pin: GPIO27, pull: down, debounce: 1ms, address: /button, type: f, values: {press: 2, release: 0.5}, to: [here]}
sim:
  jumpers: [[GPIO17, GPIO27]]
`

// testBridge runs a bridge on the sim backend until the test ends and returns
// it, its simulator, and a socket that receives what its inputs report.
func testBridge(t testing.TB, log *slog.Logger) (*Bridge, *gpio.Sim, *net.UDPConn) {
	t.Helper()
	recv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { recv.Close() })
	b, sim := startBridge(t, fmt.Sprintf(bridgeMapping, recv.LocalAddr()), log)
	return b, sim, recv
}

// startBridge runs a bridge for mapping on a new sim backend until the test
// ends, listening on a free port of 127.0.0.1.
func startBridge(t testing.TB, mapping string, log *slog.Logger) (*Bridge, *gpio.Sim) {
	t.Helper()
	sim := gpio.NewSim(log)
	b := startOn(t, sim, mapping, Options{Listen: "127.0.0.1:0", Logger: log})
	return b, sim
}

// startOn runs a bridge for mapping on backend until the test ends. Each
// message it finishes with is signalled on handledCh(b).
func startOn(t testing.TB, backend gpio.Backend, mapping string, opt Options) *Bridge {
	t.Helper()
	cfg, err := config.Parse("bridge.yaml", []byte(mapping))
	if err != nil {
		t.Fatal(err)
	}
	return startConfig(t, backend, cfg, opt)
}

// startConfig runs a bridge for cfg on backend until the test ends. Each
// message it finishes with is signalled on handledCh(b).
func startConfig(t testing.TB, backend gpio.Backend, cfg *config.Config, opt Options) *Bridge {
	t.Helper()
	b, err := NewBridge(cfg, backend, opt)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{}, 1<<16)
	b.onHandled = func() { ch <- struct{}{} }
	handled.Store(b, ch)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return b
}

// handled maps a test's bridge to the channel its onHandled signals.
var handled sync.Map

// level reads what the simulator's pin drives.
func level(t testing.TB, sim *gpio.Sim, name string) pgpio.Level {
	t.Helper()
	p, err := sim.Pin(name)
	if err != nil {
		t.Fatal(err)
	}
	return p.Read()
}

// sendAndWait sends messages to the bridge from one socket and waits until it
// has handled them all.
func sendAndWait(t testing.TB, b *Bridge, msgs ...*osc.Message) {
	t.Helper()
	c, err := net.DialUDP("udp", nil, b.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, m := range msgs {
		data, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	v, _ := handled.Load(b)
	ch := v.(chan struct{})
	for range msgs {
		select {
		case <-ch:
		case <-time.After(wait):
			t.Fatalf("the bridge did not handle %d messages within %v", len(msgs), wait)
		}
	}
}

func TestBridgeRoutes(t *testing.T) {
	b, sim, _ := testBridge(t, slog.New(slog.NewTextHandler(io.Discard, nil)))
	steps := []struct {
		msg  *osc.Message
		want map[string]pgpio.Level // electrical levels after the message
	}{
		{osc.NewMessage("/led/*", int32(1)), map[string]pgpio.Level{"GPIO17": pgpio.High, "GPIO22": pgpio.High, "GPIO23": pgpio.High}},
		{osc.NewMessage("/led/2", float32(0)), map[string]pgpio.Level{"GPIO17": pgpio.High, "GPIO22": pgpio.Low}},
		{osc.NewMessage("/led/{1,2}", "off"), map[string]pgpio.Level{"GPIO17": pgpio.Low, "GPIO22": pgpio.Low}},
		{osc.NewMessage("/led/1"), map[string]pgpio.Level{"GPIO17": pgpio.High}}, // no_arg: toggle (default)
		{osc.NewMessage("/led/1"), map[string]pgpio.Level{"GPIO17": pgpio.Low}},
		{osc.NewMessage("/led/2"), map[string]pgpio.Level{"GPIO22": pgpio.High}}, // no_arg: on
		{osc.NewMessage("/led/2"), map[string]pgpio.Level{"GPIO22": pgpio.High}},
		{osc.NewMessage("/lamp", true), map[string]pgpio.Level{"GPIO23": pgpio.Low}}, // active low
		{osc.NewMessage("/lamp"), map[string]pgpio.Level{"GPIO23": pgpio.Low}},       // no_arg: ignore
		{osc.NewMessage("/fan"), map[string]pgpio.Level{"GPIO24": pgpio.Low}},        // initial on, no_arg: off
		{osc.NewMessage("/led/1", []byte{1}), map[string]pgpio.Level{"GPIO17": pgpio.Low}},
		{osc.NewMessage("/ledger", int32(1)), map[string]pgpio.Level{"GPIO17": pgpio.Low}},
		{osc.NewMessage("/led[", int32(1)), map[string]pgpio.Level{"GPIO17": pgpio.Low}},
	}
	for i, s := range steps {
		sendAndWait(t, b, s.msg)
		for pin, want := range s.want {
			if got := level(t, sim, pin); got != want {
				t.Fatalf("step %d (%s): %s is %v, want %v", i, codec.Format(s.msg), pin, got, want)
			}
		}
	}
	c := b.Counters()
	if c.Rejected != 1 || c.Unmatched != 2 {
		t.Errorf("counters %+v: want 1 rejected (the blob), 2 unmatched (/ledger, /led[)", c)
	}
}

func TestBridgeReportsInputs(t *testing.T) {
	b, _, recv := testBridge(t, slog.New(slog.NewTextHandler(io.Discard, nil)))
	// /led/1 drives GPIO17, jumpered to the input GPIO27. The first report
	// is the state at start (report_at_start): released.
	want := []string{"/button f 0.500000", "/button f 2.000000", "/button f 0.500000"}
	buf := make([]byte, 1500)
	for i, w := range want {
		if i > 0 {
			sendAndWait(t, b, osc.NewMessage("/led/1", int32(i%2)))
		}
		recv.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := recv.Read(buf)
		if err != nil {
			t.Fatalf("waiting for %s: %v", w, err)
		}
		els, err := codec.Decode(buf[:n])
		if err != nil || len(els) != 1 {
			t.Fatalf("report %d: %v %v", i, els, err)
		}
		if got := codec.Format(els[0].Msg); got != w {
			t.Errorf("report %d = %s, want %s", i, got, w)
		}
	}
}

func TestSimDriveOnlyOnSim(t *testing.T) {
	var log strings.Builder
	var mu sync.Mutex
	b, sim, _ := testBridge(t, slog.New(slog.NewTextHandler(&lockedWriter{w: &log, mu: &mu}, nil)))
	sendAndWait(t, b, osc.NewMessage("/sim/GPIO27", int32(1)))
	if got := level(t, sim, "GPIO27"); got != pgpio.High {
		t.Fatalf("/sim/GPIO27 1 left GPIO27 %v", got)
	}
	sendAndWait(t, b, osc.NewMessage("/sim/GPIO41", int32(1)), osc.NewMessage("/sim/GPIO27"))
	if c := b.Counters(); c.Rejected != 2 {
		t.Errorf("rejected = %d, want 2 (unknown pin, no level)", c.Rejected)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(log.String(), `not on the 40-pin header`) {
		t.Errorf("log does not say why /sim/GPIO41 was refused:\n%s", log.String())
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// A bridge that cannot start leaves the outputs it opened at their safe level.
func TestNewBridgeFailureIsSafe(t *testing.T) {
	busy, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg, err := config.Parse("busy.yaml", []byte(fmt.Sprintf(`
listen: %s
outputs:
  - {name: heater, pin: GPIO17, address: /heat, initial: "on", safe: "off"}
`, busy.LocalAddr())))
	if err != nil {
		t.Fatal(err)
	}
	sim := gpio.NewSim(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, err := NewBridge(cfg, sim, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}); err == nil {
		t.Fatal("NewBridge on a busy port: no error")
	}
	if got := level(t, sim, "GPIO17"); got != pgpio.Low {
		t.Fatalf("heater left %v after a failed start, want low (safe off)", got)
	}
}

func TestInputMessage(t *testing.T) {
	in := config.Input{Address: "/b", Press: 3, Release: 1}
	for _, c := range []struct {
		typ    byte
		active bool
		want   string
	}{
		{'i', true, "/b i 3"}, {'i', false, "/b i 1"}, {0, true, "/b i 3"},
		{'f', true, "/b f 3.000000"}, {'d', false, "/b d 1.000000"},
		{'h', true, "/b h 3"}, {'T', true, "/b T"}, {'T', false, "/b F"},
	} {
		in.Type = c.typ
		got := codec.Format(InputMessage(in, c.active))
		// Format prints T and F as oscdump does (#T, #F) after the type tags.
		if c.typ == 'T' {
			got = strings.Fields(got)[0] + " " + strings.Fields(got)[1]
		}
		if got != c.want {
			t.Errorf("type %q active %v: %q, want %q", c.typ, c.active, got, c.want)
		}
	}
}

// BenchmarkBridgeUDP is the whole inbound path on loopback: encode, send,
// receive, decode, route, coerce, drive a sim output, publish the change, at
// the info log level (to io.Discard, within the line budget). One op is one
// message; at most 256 are in flight.
func BenchmarkBridgeUDP(b *testing.B) {
	br, _, _ := testBridge(b, slog.New(slog.NewTextHandler(io.Discard, nil)))
	v, _ := handled.Load(br)
	done := v.(chan struct{})
	c, err := net.DialUDP("udp", nil, br.Addr().(*net.UDPAddr))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msgs := [2][]byte{}
	for i := range msgs {
		msgs[i], _ = osc.NewMessage("/led/1", int32(i)).MarshalBinary()
	}
	b.ReportAllocs()
	b.ResetTimer()
	got := 0
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(msgs[i%2]); err != nil {
			b.Fatal(err)
		}
		for i+1-got > 256 {
			<-done
			got++
		}
	}
	for ; got < b.N; got++ {
		<-done
	}
	b.StopTimer()
	if d := br.Counters().KernelDrops; d != 0 {
		b.Fatalf("%d packets dropped", d)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// An output with two addresses matched twice by one pattern acts once.
func TestBridgeOneActionPerOutput(t *testing.T) {
	b, sim := startBridge(t, `
outputs:
  - {name: led, pin: GPIO17, address: [/a, /b]}
`, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for i, want := range []pgpio.Level{pgpio.High, pgpio.Low, pgpio.High} {
		sendAndWait(t, b, osc.NewMessage([]string{"/{a,b}", "/?", "/*"}[i])) // toggles
		if got := level(t, sim, "GPIO17"); got != want {
			t.Fatalf("toggle %d: GPIO17 %v, want %v", i, got, want)
		}
	}
	if c := b.Counters(); c.Applied != 3 {
		t.Errorf("applied = %d, want 3", c.Applied)
	}
}
