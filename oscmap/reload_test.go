package oscmap

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/hypebeast/go-osc/osc"
	pgpio "periph.io/x/conn/v3/gpio"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/gpio"
	"github.com/oscgpio/oscgpio/oscmap/codec"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// countingSim is the sim backend whose output pins (those named in counted)
// count every level written to them, and which records the pins released.
type countingSim struct {
	*gpio.Sim
	counted map[string]bool

	mu       sync.Mutex
	writes   map[string]int
	released []string
}

func newCountingSim(counted ...string) *countingSim {
	c := &countingSim{Sim: gpio.NewSim(quiet()), counted: map[string]bool{}, writes: map[string]int{}}
	for _, p := range counted {
		c.counted[p] = true
	}
	return c
}

func (c *countingSim) Pin(name string) (pgpio.PinIO, error) {
	p, err := c.Sim.Pin(name)
	if err != nil || !c.counted[name] {
		return p, err
	}
	return &countingPin{PinIO: p, c: c}, nil
}

func (c *countingSim) Release(name string) error {
	c.mu.Lock()
	c.released = append(c.released, name)
	c.mu.Unlock()
	return c.Sim.Release(name)
}

func (c *countingSim) writesTo(pin string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes[pin]
}

type countingPin struct {
	pgpio.PinIO
	c *countingSim
}

func (p *countingPin) Out(l pgpio.Level) error {
	p.c.mu.Lock()
	p.c.writes[p.Name()]++
	p.c.mu.Unlock()
	return p.PinIO.Out(l)
}

// feed collects a bridge's changes for a test.
type feed struct {
	t  testing.TB
	ch chan Change
}

func subscribe(t testing.TB, b *Bridge) *feed {
	f := &feed{t: t, ch: make(chan Change, 1<<16)}
	cancel := b.Subscribe(func(c Change) { f.ch <- c })
	t.Cleanup(cancel)
	return f
}

// next returns the next change, failing the test after wait.
func (f *feed) next() Change {
	f.t.Helper()
	select {
	case c := <-f.ch:
		return c
	case <-time.After(wait):
		f.t.Fatalf("no change within %v", wait)
	}
	return Change{}
}

// expect fails unless the next change is point becoming value by cause.
func (f *feed) expect(point string, value float64, cause Cause) Change {
	f.t.Helper()
	c := f.next()
	if c.Point != point || c.Value != value || c.Cause != cause {
		f.t.Fatalf("change %s=%v (%s), want %s=%v (%s)", c.Point, c.Value, c.Cause, point, value, cause)
	}
	return c
}

func (f *feed) empty() {
	f.t.Helper()
	select {
	case c := <-f.ch:
		f.t.Fatalf("unexpected change %s=%v (%s)", c.Point, c.Value, c.Cause)
	default:
	}
}

const reloadBefore = `
outputs:
  - {name: led, pin: GPIO17, address: /led}
  - {name: relay, pin: GPIO22, address: /relay, initial: "on", safe: "off"}
inputs:
  - {name: button, pin: GPIO27, pull: down, debounce: 0s, address: /button, to: [here]}
destinations:
  here: 127.0.0.1:9
sim:
  jumpers: [[GPIO17, GPIO27]]
`

const reloadAfter = `
outputs:
  - {name: led, pin: GPIO17, address: [/led, /light], safe: "on"}
  - {name: lamp, pin: GPIO23, address: /lamp, initial: "on"}
inputs:
  - {name: button, pin: GPIO27, pull: down, debounce: 0s, address: /pressed, to: [here]}
destinations:
  here: 127.0.0.1:9
sim:
  jumpers: [[GPIO17, GPIO27]]
`

func mustParse(t testing.TB, text string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("reload.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// A reload applies a diff: the unchanged output keeps its level and is never
// written, its jumpered input reports nothing; the removed output goes to its
// safe level and its pin is released; the new one starts at its initial
// level; the new routes work at once.
func TestReloadIsADiff(t *testing.T) {
	sim := newCountingSim("GPIO17", "GPIO22", "GPIO23")
	b := startOn(t, sim, reloadBefore, Options{Listen: "127.0.0.1:0", Logger: quiet()})
	f := subscribe(t, b)
	sendAndWait(t, b, osc.NewMessage("/led", int32(1)))
	f.expect("led", 1, CauseOSC)
	f.expect("button", 1, CauseEdge)
	ledWrites := sim.writesTo("GPIO17")

	if err := b.Apply(mustParse(t, reloadAfter)); err != nil {
		t.Fatal(err)
	}
	f.expect("relay", 0, CauseReload)
	f.expect("lamp", 1, CauseStart)
	f.empty() // nothing about led or button
	if n := sim.writesTo("GPIO17"); n != ledWrites {
		t.Errorf("the unchanged output was written %d times by the reload", n-ledWrites)
	}
	if l, _ := sim.Level("GPIO23"); l != pgpio.High {
		t.Errorf("the new lamp is %v, want high (initial on)", l)
	}
	sim.mu.Lock()
	released := fmt.Sprint(sim.released)
	sim.mu.Unlock()
	if released != "[GPIO22]" {
		t.Errorf("released %s, want [GPIO22]", released)
	}
	// New routes: /light reaches the kept output; /relay reaches nothing.
	sendAndWait(t, b, osc.NewMessage("/light", int32(0)), osc.NewMessage("/relay", int32(1)))
	f.expect("led", 0, CauseOSC)
	f.expect("button", 0, CauseEdge)
	f.empty()
	if c := b.Counters(); c.Unmatched != 1 || c.Reloads != 1 {
		t.Errorf("counters %+v: want /relay unmatched and 1 reload", c)
	}
	// The kept output took its new safe level: on at Close.
	b.Close()
	if l, _ := sim.Level("GPIO17"); l != pgpio.High {
		t.Errorf("led after Close: %v, want high (the reloaded safe: on)", l)
	}
}

// startListening is startOn without the listen override, on a Config whose
// listen address the test sets (a file cannot say port 0).
func startListening(t *testing.T, cfg *config.Config) *Bridge {
	t.Helper()
	return startConfig(t, gpio.NewSim(quiet()), cfg, Options{Logger: quiet()})
}

func TestReloadChangesListen(t *testing.T) {
	cfg := mustParse(t, "outputs: [{name: led, pin: GPIO17, address: /led}]\n")
	cfg.Listen = "127.0.0.1:0"
	b := startListening(t, cfg)
	f := subscribe(t, b)
	old := b.Addr().String()
	next := *cfg
	next.Listen = "127.0.0.2:0"
	if err := b.Apply(&next); err != nil {
		t.Fatal(err)
	}
	if b.Addr().String() == old {
		t.Fatalf("still listening on %s", old)
	}
	sendAndWait(t, b, osc.NewMessage("/led", int32(1)))
	f.expect("led", 1, CauseOSC)
	if _, err := net.Dial("udp", old); err != nil {
		t.Fatal(err)
	}
}

// Closing while a flood drives an output never leaves it away from its safe
// level: no message is handled once Close has put the outputs safe.
func TestCloseDuringFloodIsSafe(t *testing.T) {
	rounds := 200
	if testing.Short() {
		rounds = 20
	}
	heat, _ := osc.NewMessage("/heat", int32(1)).MarshalBinary()
	for r := 0; r < rounds; r++ {
		sim := gpio.NewSim(quiet())
		cfg := mustParse(t, `outputs: [{name: heater, pin: GPIO17, address: /heat, safe: "off"}]`)
		b, err := NewBridge(cfg, sim, Options{Listen: "127.0.0.1:0", Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		on := make(chan struct{})
		var once sync.Once
		b.Subscribe(func(c Change) {
			if c.Value == 1 {
				once.Do(func() { close(on) })
			}
		})
		done := make(chan error, 1)
		go func() { done <- b.Run(context.Background()) }()
		c, err := net.DialUDP("udp", nil, b.Addr().(*net.UDPAddr))
		if err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		flooded := make(chan struct{})
		go func() {
			defer close(flooded)
			for {
				select {
				case <-stop:
					return
				default:
					c.Write(heat)
				}
			}
		}()
		<-on
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		close(stop)
		<-flooded
		c.Close()
		if l, _ := sim.Level("GPIO17"); l != pgpio.Low {
			t.Fatalf("round %d: the heater is %v after Close, want low (safe off)", r, l)
		}
	}
}

// A destination whose name never resolves delays neither the reports to
// other destinations nor Close.
func TestUnresolvedDestinationDelaysNothing(t *testing.T) {
	stuck := make(chan struct{})
	defer close(stuck)
	resolve := func(ctx context.Context, host string) ([]netip.Addr, error) {
		<-stuck // a resolver that never answers, whatever the context says
		return nil, fmt.Errorf("no answer")
	}
	recv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()
	sim := gpio.NewSim(quiet())
	b := startOn(t, sim, fmt.Sprintf(`
destinations: {lost: nowhere.invalid:9000, here: %s}
outputs: [{name: led, pin: GPIO17, address: /led, safe: "off"}]
inputs: [{name: button, pin: GPIO27, pull: down, debounce: 0s, address: /button, to: [lost, here]}]
sim: {jumpers: [[GPIO17, GPIO27]]}
`, recv.LocalAddr()), Options{Listen: "127.0.0.1:0", Logger: quiet(), resolve: resolve})
	sendAndWait(t, b, osc.NewMessage("/led", int32(1)))
	recv.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 1500)
	if _, err := recv.Read(buf); err != nil {
		t.Fatalf("the resolved destination got no report: %v", err)
	}
	closed := make(chan error, 1)
	go func() { closed <- b.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(wait):
		t.Fatal("Close waited for a lookup that never answers")
	}
	if l, _ := sim.Level("GPIO17"); l != pgpio.Low {
		t.Errorf("led after Close: %v, want low", l)
	}
}

// Alternating /led at full speed through a jumper with debounce 0: every
// change is published, in order. At most 64 messages are in flight, counted
// by the changes that came back, so no socket buffer overflows.
func TestNoChangeLost(t *testing.T) {
	b, _ := startBridge(t, `
destinations: {here: 127.0.0.1:9}
outputs: [{name: led, pin: GPIO17, address: /led}]
inputs: [{name: button, pin: GPIO27, pull: down, debounce: 0s, address: /button, to: [here]}]
sim: {jumpers: [[GPIO17, GPIO27]]}
`, quiet())
	f := subscribe(t, b)
	c, err := net.DialUDP("udp", nil, b.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msgs := [2][]byte{}
	for i := range msgs {
		msgs[i], _ = osc.NewMessage("/led", int32(i)).MarshalBinary()
	}
	const n, window = 10000, 64
	got := 0
	next := func() {
		for {
			ch := f.next()
			if ch.Point != "button" {
				continue
			}
			if want := float64((got + 1) % 2); ch.Value != want {
				t.Fatalf("change %d of the input: %v, want %v", got, ch.Value, want)
			}
			got++
			return
		}
	}
	for i := 0; i < n; i++ {
		if _, err := c.Write(msgs[(i+1)%2]); err != nil {
			t.Fatal(err)
		}
		for i+1-got > window {
			next()
		}
	}
	for got < n {
		next()
	}
	if c := b.Counters(); c.Applied != n || c.KernelDrops != 0 {
		t.Errorf("counters %+v: want %d applied, no drops", c, n)
	}
}

// A reload from 127.0.0.1:P to 0.0.0.0:P (opening the bridge to the network)
// rebinds the same port on every interface; Run goes on serving, and the
// counters keep what the old socket counted.
func TestReloadSamePortOtherInterface(t *testing.T) {
	cfg := mustParse(t, "outputs: [{name: led, pin: GPIO17, address: /led}]\n")
	cfg.Listen = "127.0.0.1:0"
	b := startListening(t, cfg)
	f := subscribe(t, b)
	sendAndWait(t, b, osc.NewMessage("/led", int32(1)))
	f.expect("led", 1, CauseOSC)
	port := b.Addr().(*net.UDPAddr).Port
	next := *cfg
	next.Listen = fmt.Sprintf("0.0.0.0:%d", port)
	if err := b.Apply(&next); err != nil {
		t.Fatal(err)
	}
	if got := b.Addr().(*net.UDPAddr).Port; got != port {
		t.Fatalf("listening on port %d, want %d", got, port)
	}
	sendAndWait(t, b, osc.NewMessage("/led", int32(0)))
	f.expect("led", 0, CauseOSC)
	if c := b.Counters(); c.Packets != 2 || c.Reloads != 1 {
		t.Errorf("counters %+v: want 2 packets over both sockets, 1 reload", c)
	}
}

// An input whose settings change is re-created: with report_at_start: false
// it reports nothing at the reload (no false press to the old or the new
// address), then its next edge goes to the new address. (With the default,
// report_at_start: true, it sends its state once: TestReportAtStartOnReload.)
func TestReloadChangedInputReportsNothing(t *testing.T) {
	recv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()
	const mapping = `
destinations: {here: %s}
outputs: [{name: led, pin: GPIO17, address: /led}]
inputs: [{name: button, pin: GPIO27, pull: down, debounce: %s, address: %s, report_at_start: false, to: [here]}]
sim: {jumpers: [[GPIO17, GPIO27]]}
`
	b := startOn(t, gpio.NewSim(quiet()), fmt.Sprintf(mapping, recv.LocalAddr(), "0s", "/button"), Options{Listen: "127.0.0.1:0", Logger: quiet()})
	sendAndWait(t, b, osc.NewMessage("/led", int32(1)))
	buf := make([]byte, 1500)
	read := func() string {
		recv.SetReadDeadline(time.Now().Add(wait))
		n, err := recv.Read(buf)
		if err != nil {
			t.Fatalf("no report: %v", err)
		}
		els, err := codec.Decode(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		return codec.Format(els[0].Msg)
	}
	if got := read(); got != "/button i 1" {
		t.Fatalf("report %q, want /button i 1", got)
	}
	if err := b.Apply(mustParse(t, fmt.Sprintf(mapping, recv.LocalAddr(), "5ms", "/pressed"))); err != nil {
		t.Fatal(err)
	}
	sendAndWait(t, b, osc.NewMessage("/led", int32(0)))
	if got := read(); got != "/pressed i 0" {
		t.Fatalf("first report after the reload %q, want /pressed i 0 (nothing sent by the reload itself)", got)
	}
}

// panicSim is the sim backend whose Pin panics for one pin: a driver bug
// in the middle of a reload.
type panicSim struct {
	*gpio.Sim
	pin string
}

func (p panicSim) Pin(name string) (pgpio.PinIO, error) {
	if name == p.pin {
		panic("driver bug opening " + name)
	}
	return p.Sim.Pin(name)
}

// A reload that panics (and is recovered by its caller) leaves the bridge
// usable: the next Apply runs, and OnApply can be called.
func TestApplyAfterAPanickedReload(t *testing.T) {
	sim := panicSim{gpio.NewSim(quiet()), "GPIO22"}
	first := mustParse(t, "outputs:\n  - {name: led, pin: GPIO17, address: /led}\n")
	b := startConfig(t, sim, first, Options{Listen: "127.0.0.1:0", Logger: quiet()})
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the reload did not panic")
			}
		}()
		b.Apply(mustParse(t, "outputs:\n  - {name: led, pin: GPIO17, address: /led}\n  - {name: bad, pin: GPIO22, address: /bad}\n"))
	}()
	done := make(chan error, 1)
	go func() {
		cancel := b.OnApply(func(*config.Config) {})
		defer cancel()
		done <- b.Apply(first)
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Apply after the panicked reload: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Apply after a panicked reload did not return in 5 s: the panic left applyMu locked")
	}
}
