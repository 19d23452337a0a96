package oscmap

import (
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/gpio"
	"github.com/oscgpio/oscgpio/oscmap/codec"
	pgpio "periph.io/x/conn/v3/gpio"
)

// tapLog collects what a tap saw, as "in|out PEER OSC" lines.
type tapLog struct {
	mu    sync.Mutex
	lines []string
	more  chan struct{}
}

func (l *tapLog) add(t Traffic) {
	dir := "in"
	if t.Out {
		dir = "out"
	}
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf("%s %s %s", dir, t.Peer, codec.Format(t.Msg)))
	l.mu.Unlock()
	select {
	case l.more <- struct{}{}:
	default:
	}
}

// waitFor waits until the tap has seen n lines and returns them.
func (l *tapLog) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		l.mu.Lock()
		got := append([]string(nil), l.lines...)
		l.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-l.more:
		case <-deadline:
			t.Fatalf("the tap saw %d lines, want %d: %q", len(got), n, got)
		}
	}
}

// TestInjectAndTap drives an output and a sim input with Inject, and checks
// that the tap sees the messages in, the report out to its destination, and
// an answer going back to the injector only.
func TestInjectAndTap(t *testing.T) {
	b, sim, recv := testBridge(t, quiet())
	l := &tapLog{more: make(chan struct{}, 1)}
	cancel := b.Tap(l.add)
	from := netip.MustParseAddrPort("192.0.2.7:4000")

	b.Inject(osc.NewMessage("/led/1", int32(1)), from, nil)
	if level(t, sim, "GPIO17") != pgpio.High {
		t.Fatal("an injected /led/1 1 did not drive GPIO17")
	}
	// The jumper makes GPIO27 report /button 2 to "here".
	got := l.waitFor(t, 2)
	if got[0] != "in 192.0.2.7:4000 /led/1 i 1" || got[1] != "out here /button f 2.000000" {
		t.Errorf("tap saw %q", got)
	}
	// The destination gets the state at start (release: 0.5), then the press.
	buf := make([]byte, 1500)
	for _, want := range []string{"/button f 0.500000", "/button f 2.000000"} {
		recv.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := recv.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		if m, err := codec.Decode(buf[:n]); err != nil || codec.Format(m[0].Msg) != want {
			t.Fatalf("destination got %q (%v), want %s", buf[:n], err, want)
		}
	}

	var answers []string
	b.Inject(osc.NewMessage("/oscgpio/get", "/led/1"), from, func(m *osc.Message) error {
		answers = append(answers, codec.Format(m))
		return nil
	})
	if len(answers) != 1 || answers[0] != "/led/1 i 1" {
		t.Errorf("answers to the injector: %q, want [/led/1 i 1]", answers)
	}
	got = l.waitFor(t, 4)
	if got[2] != "in 192.0.2.7:4000 /oscgpio/get s \"/led/1\"" || got[3] != "out 192.0.2.7:4000 /led/1 i 1" {
		t.Errorf("tap saw %q", got[2:])
	}
	cancel()
	b.Inject(osc.NewMessage("/led/1", int32(0)), from, nil)
	if level(t, sim, "GPIO17") != pgpio.Low {
		t.Fatal("an injected /led/1 0 did not release GPIO17")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) != 4 {
		t.Errorf("a cancelled tap saw %q", l.lines[4:])
	}
	if c := b.Counters(); c.Handled != 3 {
		t.Errorf("Handled = %d, want the 3 injected messages", c.Handled)
	}
}

// TestOnApplyAfterReload checks OnApply is called with each applied mapping,
// outside the lock (it calls the Bridge), and not after its cancel.
func TestOnApplyAfterReload(t *testing.T) {
	b, _, _ := testBridge(t, quiet())
	var got []*config.Config
	cancel := b.OnApply(func(cfg *config.Config) {
		if b.Config() != cfg {
			t.Error("Config() is not the mapping just applied")
		}
		got = append(got, cfg)
	})
	next := mustParse(t, "outputs:\n  - {name: one, pin: GPIO17, address: /one}\n")
	if err := b.Apply(next); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != next {
		t.Fatalf("OnApply saw %d mappings, want the one applied", len(got))
	}
	cancel()
	if err := b.Apply(mustParse(t, "outputs:\n  - {name: two, pin: GPIO17, address: /two}\n")); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Errorf("a cancelled OnApply was called")
	}
	if !b.Simulated() || b.Backend() != "sim" {
		t.Errorf("Simulated() = %v, Backend() = %q on the sim", b.Simulated(), b.Backend())
	}
}

// TestMethodsSetting checks oscgpio_methods: read_only answers get and
// stats and refuses heartbeat and sync; off answers nothing; a refusal is
// counted as unmatched.
func TestMethodsSetting(t *testing.T) {
	from := netip.MustParseAddrPort("192.0.2.7:4000")
	for _, c := range []struct {
		setting string
		answers []string // addresses answered, of get, stats, heartbeat, sync
		refused uint64
	}{
		{"all", []string{"/one", "/oscgpio/stats"}, 0},
		{"read_only", []string{"/one", "/oscgpio/stats"}, 2},
		{"off", nil, 4},
	} {
		t.Run(c.setting, func(t *testing.T) {
			cfg := mustParse(t, "oscgpio_methods: "+c.setting+"\noutputs:\n  - {name: one, pin: GPIO17, address: /one}\n")
			if cfg.Methods != c.setting {
				t.Fatalf("Methods = %q", cfg.Methods)
			}
			b := startConfig(t, gpio.NewSim(quiet()), cfg, Options{Listen: "127.0.0.1:0", Logger: quiet()})
			var got []string
			reply := func(m *osc.Message) error { got = append(got, m.Address); return nil }
			for _, a := range []string{"/oscgpio/get", "/oscgpio/stats", "/oscgpio/heartbeat", "/oscgpio/sync"} {
				b.Inject(osc.NewMessage(a), from, reply)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.answers) {
				t.Errorf("answered %v, want %v", got, c.answers)
			}
			if u := b.Counters().Unmatched; u != c.refused {
				t.Errorf("Unmatched = %d, want %d refused", u, c.refused)
			}
		})
	}
}

// TestStatsNameTopSenders checks that /oscgpio/stats ends with the senders
// by volume, and the log form of TopSenders.
func TestStatsNameTopSenders(t *testing.T) {
	b, _, _ := testBridge(t, quiet())
	sendAndWait(t, b, osc.NewMessage("/led/1", int32(1)), osc.NewMessage("/led/1", int32(0)), osc.NewMessage("/nothing"))
	var stats *osc.Message
	b.Inject(osc.NewMessage("/oscgpio/stats"), netip.MustParseAddrPort("192.0.2.7:4000"), func(m *osc.Message) error { stats = m; return nil })
	if stats == nil {
		t.Fatal("no answer to /oscgpio/stats")
	}
	args := stats.Arguments
	if n := len(args); n < 2 || args[n-2] != "received:127.0.0.1" || args[n-1] != int32(3) {
		t.Errorf("/oscgpio/stats ends with %v, want received:127.0.0.1 3", args[max(0, len(args)-4):])
	}
	top := b.TopSenders(3)
	if got := fmt.Sprint(top.LogValue()); got != "[received=127.0.0.1=3 denied= rate_limited=]" {
		t.Errorf("TopSenders log value %s", got)
	}
}

// A cancelled tap's place is taken by the next one, and cancelling twice
// does not end the tap that took it.
func TestTapPlacesAreReused(t *testing.T) {
	b, _, _ := testBridge(t, quiet())
	for range 100 {
		b.Tap(func(Traffic) {})()
	}
	var seen int
	cancel := b.Tap(func(Traffic) { seen++ })
	old := b.Tap(func(Traffic) {})
	old()
	keep := b.Tap(func(Traffic) { seen++ })
	old() // again: must not end keep
	b.Inject(osc.NewMessage("/led/1", int32(1)), netip.MustParseAddrPort("192.0.2.7:4000"), nil)
	b.mu.Lock() // taps run under b.mu (the jumpered input's report too, from its watcher)
	n, tapping, called := len(b.taps), b.tapping, seen
	b.mu.Unlock()
	if n != 2 || tapping != 2 || called < 2 {
		t.Errorf("%d places, %d taps, called %d times: want 2 places, 2 taps, both called", n, tapping, called)
	}
	cancel()
	keep()
}

// Guard reads allow and rate_limit as the OSC socket does: nil without them.
func TestGuard(t *testing.T) {
	a, l, err := Guard(mustParse(t, "outputs:\n  - {name: one, pin: GPIO17, address: /one}\n"))
	if a != nil || l != nil || err != nil {
		t.Errorf("no allow, no rate_limit: %v %v %v", a, l, err)
	}
	a, l, err = Guard(mustParse(t, "allow: [192.0.2.0/24, {net: 10.0.0.5, rate_limit: {rate: 1, burst: 1}}]\noutputs:\n  - {name: one, pin: GPIO17, address: /one}\n"))
	if err != nil || a == nil || l == nil {
		t.Fatalf("allow with a rate_limit entry: %v %v %v", a, l, err)
	}
	if !a.Allows(netip.MustParseAddr("192.0.2.9")) || a.Allows(netip.MustParseAddr("198.51.100.1")) {
		t.Error("allow list read wrong")
	}
	ten := netip.MustParseAddr("10.0.0.5")
	if !l.Allow(ten) || l.Allow(ten) || !l.Allow(netip.MustParseAddr("192.0.2.9")) {
		t.Error("the entry's rate limit (1, burst 1) is not applied to it alone")
	}
}

// panicOnPin is the sim backend whose pin panics when driven high: a driver
// bug met while handling a message.
type panicOnPin struct {
	*gpio.Sim
	pin string
}

type panicHigh struct{ pgpio.PinIO }

func (p panicHigh) Out(l pgpio.Level) error {
	if l == pgpio.High {
		panic("driver bug driving high")
	}
	return p.PinIO.Out(l)
}

func (p panicOnPin) Pin(name string) (pgpio.PinIO, error) {
	pin, err := p.Sim.Pin(name)
	if err != nil || name != p.pin {
		return pin, err
	}
	return panicHigh{pin}, nil
}

// A handler that panics under Inject (the dashboard's and the WebSocket's
// way in) is recovered, logged and counted, and the bridge goes on.
func TestInjectRecoversAPanic(t *testing.T) {
	var lb syncBuffer
	log := slog.New(slog.NewTextHandler(&lb, nil))
	b := startConfig(t, panicOnPin{gpio.NewSim(quiet()), "GPIO17"},
		mustParse(t, "outputs:\n  - {name: led, pin: GPIO17, address: /led}\n"), Options{Listen: "127.0.0.1:0", Logger: log})
	from := netip.MustParseAddrPort("192.0.2.7:4000")
	b.Inject(osc.NewMessage("/led", int32(1)), from, nil)
	if c := b.Counters(); c.Panics != 1 {
		t.Errorf("Panics = %d, want 1", c.Panics)
	}
	if !strings.Contains(lb.String(), `msg="OSC handler panicked; the message is dropped and the bridge goes on" address=/led from=192.0.2.7:4000 panic="driver bug driving high"`) {
		t.Errorf("log:\n%s", lb.String())
	}
	var answers []string
	b.Inject(osc.NewMessage("/oscgpio/get", "/led"), from, func(m *osc.Message) error { answers = append(answers, codec.Format(m)); return nil })
	if len(answers) != 1 {
		t.Errorf("after the panic, /oscgpio/get answered %v", answers)
	}
}
