package oscmap

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"

	"github.com/oscgpio/oscgpio/gpio"
	"github.com/oscgpio/oscgpio/oscmap/codec"
)

// fakeClock is a clock whose time moves only by Advance, which runs the
// timers that come due, in time order, on the caller's goroutine.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	f       func()
	stopped bool // by Stop
	fired   bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	live := !t.stopped && !t.fired
	t.stopped = true
	return live
}

// Advance moves the time on by d, running every timer due on the way.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for {
		var due *fakeTimer
		for _, t := range c.timers {
			if !t.stopped && !t.fired && !t.at.After(end) && (due == nil || t.at.Before(due.at)) {
				due = t
			}
		}
		if due == nil {
			break
		}
		due.fired, c.now = true, due.at
		c.mu.Unlock()
		due.f()
		c.mu.Lock()
	}
	c.now = end
	c.mu.Unlock()
}

// pending is the number of timers neither fired nor stopped.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.stopped && !t.fired {
			n++
		}
	}
	return n
}

// monitor is a destination that collects what the bridge sends, formatted
// like "/go i 1".
type monitor struct {
	t  *testing.T
	c  *net.UDPConn
	ch chan string
}

func newMonitor(t *testing.T) *monitor {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	m := &monitor{t: t, c: c, ch: make(chan string, 1024)}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, err := c.Read(buf)
			if err != nil {
				close(m.ch)
				return
			}
			els, err := codec.Decode(buf[:n])
			if err != nil || len(els) != 1 {
				m.ch <- fmt.Sprintf("undecodable %x", buf[:n])
				continue
			}
			m.ch <- codec.Format(els[0].Msg)
		}
	}()
	return m
}

// expect fails unless the next messages received are want, in order.
func (m *monitor) expect(want ...string) {
	m.t.Helper()
	for _, w := range want {
		select {
		case got := <-m.ch:
			if got != w {
				m.t.Fatalf("received %q, want %q", got, w)
			}
		case <-time.After(wait):
			m.t.Fatalf("nothing received within %v, want %q", wait, w)
		}
	}
}

// drive sets an input pin's level and waits for the change it makes.
func drive(t *testing.T, sim *gpio.Sim, f *feed, pin string, l pgpio.Level) Change {
	t.Helper()
	if err := sim.Drive(pin, l); err != nil {
		t.Fatal(err)
	}
	for {
		c := f.next()
		if c.Pin == pin && c.Cause == CauseEdge {
			return c
		}
	}
}

func buttonBridge(t *testing.T, mapping string) (*Bridge, *gpio.Sim, *fakeClock, *feed, *monitor) {
	t.Helper()
	mon := newMonitor(t)
	clk := newFakeClock()
	sim := gpio.NewSim(quiet())
	b := startOn(t, sim, fmt.Sprintf("destinations: {here: %s}\n%s", mon.c.LocalAddr(), mapping),
		Options{Listen: "127.0.0.1:0", Logger: quiet(), clock: clk})
	return b, sim, clk, subscribe(t, b), mon
}

// hold sends /hold 1 once the input has been active for its hold time, again
// every repeat while still held, and /hold 0 at the release after. A press
// shorter than hold sends no hold, and nothing wakes up while nothing is held.
func TestHoldAndRepeat(t *testing.T) {
	b, sim, clk, f, mon := buttonBridge(t, `
inputs: [{name: go, pin: GPIO27, pull: down, debounce: 0s, address: /go, hold: 800ms, repeat: 200ms, to: [here]}]
`)
	mon.expect("/go i 0") // report_at_start
	if n := clk.pending(); n != 0 {
		t.Fatalf("%d timers pending with nothing pressed", n)
	}

	// A short press: no hold.
	drive(t, sim, f, "GPIO27", pgpio.High)
	clk.Advance(799 * time.Millisecond)
	drive(t, sim, f, "GPIO27", pgpio.Low)
	clk.Advance(time.Second)
	f.empty()
	mon.expect("/go i 1", "/go i 0")
	if n := clk.pending(); n != 0 {
		t.Fatalf("%d timers pending after a release", n)
	}

	// A long press: hold at 800ms, repeats at 1000, 1200, 1400ms.
	drive(t, sim, f, "GPIO27", pgpio.High)
	clk.Advance(799 * time.Millisecond)
	f.empty()
	clk.Advance(time.Millisecond)
	if c := f.expect("go", 1, CauseHold); !c.Held || !c.Active {
		t.Fatalf("hold change %+v: want held and active", c)
	}
	clk.Advance(600 * time.Millisecond)
	for range 3 {
		f.expect("go", 1, CauseHold)
	}
	f.empty()
	if p := b.Points()[0]; !p.Held || !p.Active || p.Value != 1 {
		t.Errorf("point while held: %+v", p)
	}
	c := drive(t, sim, f, "GPIO27", pgpio.Low)
	if c.Held || c.Active || c.Value != 0 {
		t.Errorf("release %+v", c)
	}
	if c := f.expect("go", 0, CauseHold); c.Held {
		t.Errorf("hold end %+v: still held", c)
	}
	mon.expect("/go i 1", "/go/hold i 1", "/go/hold i 1", "/go/hold i 1", "/go/hold i 1", "/go i 0", "/go/hold i 0")
	if n := clk.pending(); n != 0 {
		t.Fatalf("%d timers pending after the release", n)
	}
	clk.Advance(time.Minute)
	f.empty()
}

// latch flips on each press and sends it; counter sends the running count;
// releases send nothing in either; the feed's value is what was sent.
func TestLatchAndCounter(t *testing.T) {
	b, sim, _, f, mon := buttonBridge(t, `
inputs:
  - {name: scene, pin: GPIO27, pull: down, debounce: 0s, address: /scene, mode: latch, to: [here]}
  - {name: visits, pin: GPIO22, pull: down, debounce: 0s, address: /visits, mode: counter, type: f, to: [here]}
`)
	mon.expect("/scene i 0", "/visits f 0.000000")
	for _, want := range []float64{1, 0, 1} {
		if c := drive(t, sim, f, "GPIO27", pgpio.High); c.Value != want || !c.Active {
			t.Fatalf("latch press: %+v, want value %v", c, want)
		}
		if c := drive(t, sim, f, "GPIO27", pgpio.Low); c.Value != want || c.Active {
			t.Fatalf("latch release: %+v, want value %v", c, want)
		}
	}
	mon.expect("/scene i 1", "/scene i 0", "/scene i 1")
	for n := 1.0; n <= 3; n++ {
		if c := drive(t, sim, f, "GPIO22", pgpio.High); c.Value != n {
			t.Fatalf("counter press: %+v, want %v", c, n)
		}
		drive(t, sim, f, "GPIO22", pgpio.Low)
	}
	mon.expect("/visits f 1.000000", "/visits f 2.000000", "/visits f 3.000000")
	ps := b.Points()
	if ps[0].Value != 1 || ps[1].Value != 3 {
		t.Errorf("points %+v: want the latch at 1 and the count at 3", ps)
	}
}

const reloadButtonsBefore = `
inputs:
  - {name: kept, pin: GPIO27, pull: down, debounce: 0s, address: /kept, mode: counter, to: [here]}
  - {name: remade, pin: GPIO22, pull: down, debounce: 0s, address: /remade, to: [here]}
  - {name: gone, pin: GPIO23, pull: down, debounce: 0s, address: /gone, hold: 100ms, to: [here]}
`

const reloadButtonsAfter = `
inputs:
  - {name: kept, pin: GPIO27, pull: down, debounce: 0s, address: /kept2, mode: counter, to: [here]}
  - {name: remade, pin: GPIO22, pull: down, debounce: 0s, address: /remade, mode: latch, to: [here]}
  - {name: added, pin: GPIO24, pull: down, debounce: 0s, address: /added, to: [here]}
  - {name: quiet, pin: GPIO25, pull: down, debounce: 0s, address: /quiet, report_at_start: false, to: [here]}
`

// A reload reports the state of the inputs it adds or re-creates (a changed
// mode), not of the unchanged ones, which keep their count; a held input it
// removes sends /hold 0 and its timer stops.
func TestReportAtStartOnReload(t *testing.T) {
	b, sim, clk, f, mon := buttonBridge(t, reloadButtonsBefore)
	mon.expect("/kept i 0", "/remade i 0", "/gone i 0")
	drive(t, sim, f, "GPIO27", pgpio.High)
	drive(t, sim, f, "GPIO27", pgpio.Low)
	drive(t, sim, f, "GPIO22", pgpio.High)
	drive(t, sim, f, "GPIO23", pgpio.High)
	clk.Advance(100 * time.Millisecond)
	f.expect("gone", 1, CauseHold)
	mon.expect("/kept i 1", "/remade i 1", "/gone i 1", "/gone/hold i 1")

	cfg := mustParse(t, fmt.Sprintf("destinations: {here: %s}\n%s", mon.c.LocalAddr(), reloadButtonsAfter))
	if err := b.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if c := f.expect("gone", 1, CauseHold); c.Held {
		t.Errorf("removed input still held: %+v", c)
	}
	f.expect("remade", 0, CauseStart) // latch: 0 at start, whatever the pin
	f.expect("added", 0, CauseStart)
	f.expect("quiet", 0, CauseStart)
	f.empty()
	mon.expect("/gone/hold i 0", "/remade i 0", "/added i 0")
	if n := clk.pending(); n != 0 {
		t.Fatalf("%d timers pending after the held input was removed", n)
	}
	// The kept counter counts on, under its new address; the re-created
	// one is a latch now; the quiet one reports its changes.
	drive(t, sim, f, "GPIO27", pgpio.High)
	drive(t, sim, f, "GPIO22", pgpio.High) // re-opened, the sim pin reads its pull (low)
	drive(t, sim, f, "GPIO25", pgpio.High)
	mon.expect("/kept2 i 2", "/remade i 1", "/quiet i 1")
}

// Close while an input is held stops its timer: nothing fires after.
func TestCloseWhileHeld(t *testing.T) {
	b, sim, clk, f, mon := buttonBridge(t, `
inputs: [{name: go, pin: GPIO27, pull: down, debounce: 0s, address: /go, hold: 50ms, repeat: 50ms, to: [here]}]
`)
	drive(t, sim, f, "GPIO27", pgpio.High)
	clk.Advance(50 * time.Millisecond)
	f.expect("go", 1, CauseHold)
	mon.expect("/go i 0", "/go i 1", "/go/hold i 1")
	if n := clk.pending(); n != 1 {
		t.Fatalf("%d timers pending while held, want the repeat", n)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if n := clk.pending(); n != 0 {
		t.Fatalf("%d timers pending after Close", n)
	}
	clk.Advance(time.Second)
	f.empty()
}

// The hold timers of the real clock: a press held past hold sends it.
func TestHoldRealClock(t *testing.T) {
	mon := newMonitor(t)
	sim := gpio.NewSim(quiet())
	b := startOn(t, sim, fmt.Sprintf(`destinations: {here: %s}
inputs: [{name: go, pin: GPIO27, pull: down, debounce: 0s, address: /go, hold: 20ms, type: T, to: [here]}]
`, mon.c.LocalAddr()), Options{Listen: "127.0.0.1:0", Logger: quiet()})
	f := subscribe(t, b)
	start := time.Now()
	drive(t, sim, f, "GPIO27", pgpio.High)
	f.expect("go", 1, CauseHold)
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("held after %v, before the hold time", d)
	}
	drive(t, sim, f, "GPIO27", pgpio.Low)
	f.expect("go", 0, CauseHold)
	mon.expect("/go F #F", "/go T #T", "/go/hold T #T", "/go F #F", "/go/hold F #F")
}

// A counter's report, completed from its encoded head, is the message the
// codec makes, for every type and for counts beyond int32.
func TestCountEncoding(t *testing.T) {
	for _, typ := range []string{"i", "f", "d", "h"} {
		cfg := mustParse(t, `destinations: {here: 127.0.0.1:9}
inputs: [{name: c, pin: GPIO27, address: /a/count, mode: counter, type: `+typ+`, to: [here]}]`)
		in := &input{}
		if err := in.setReport(cfg.Inputs[0]); err != nil {
			t.Fatal(err)
		}
		for _, n := range []int64{0, 1, 7, 1 << 20, 1<<31 + 5} {
			in.count = n
			want, err := codec.Encode(countMessage(in.cfg, n))
			if err != nil {
				t.Fatal(err)
			}
			if got := in.encodeCount(); string(got) != string(want) {
				t.Errorf("type %s, count %d: %x, want %x", typ, n, got, want)
			}
		}
	}
}
