package oscquery

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/hypebeast/go-osc/osc"
	pgpio "periph.io/x/conn/v3/gpio"

	"github.com/oscgpio/oscgpio/config"
)

// TestListenIgnore: a LISTENed output gets one binary frame, one message
// typed as its TYPE, for each change, whatever its source (UDP, a timer);
// a path not listened to gets nothing; IGNORE stops the frames.
func TestListenIgnore(t *testing.T) {
	e := start(t, loadMapping(t, "testdata/mapping.yaml"), Options{})
	w := e.dial(t)
	w.command("LISTEN", "/led")
	w.command("LISTEN", "/stage/dimmer")
	w.sync("/led")
	e.udp(t, osc.NewMessage("/led", int32(1)))
	if f := w.next(); f != "/led T #T" {
		t.Fatalf("after a UDP /led 1: %q, want /led T", f)
	}
	e.udp(t, osc.NewMessage("/test", float32(0))) // the same output: /led is its listened path
	if f := w.next(); f != "/led F #F" {
		t.Fatalf("after a UDP /test 0: %q, want /led F", f)
	}
	e.udp(t, osc.NewMessage("/stage/dimmer", float32(63.5)))
	if f := w.next(); f != "/stage/dimmer f 63.500000" {
		t.Fatalf("after /stage/dimmer 63.5: %q", f)
	}
	// A pulse: on now, off by its timer, each a frame (the off waits for
	// its slot, 1/30 s after the on).
	e.udp(t, osc.NewMessage("/led/pulse", float32(0.1)))
	if f, g := w.next(), w.next(); f != "/led T #T" || g != "/led F #F" {
		t.Fatalf("a pulse: %q then %q", f, g)
	}
	w.command("IGNORE", "/led")
	w.sync("/led")
	e.udp(t, osc.NewMessage("/led", int32(1)))
	e.waitPoint(t, "led", 1)
	e.udp(t, osc.NewMessage("/stage/dimmer", float32(1)))
	if f := w.next(); f != "/stage/dimmer f 1.000000" {
		t.Fatalf("after IGNORE /led, /led 1 then /stage/dimmer 1 gave %q first", f)
	}
}

// TestListenInputs: a button press (a sim drive) is a T frame, its hold a
// frame on /button/hold; a counter sends i.
func TestListenInputs(t *testing.T) {
	e := start(t, loadMapping(t, "testdata/mapping.yaml"), Options{})
	w := e.dial(t)
	for _, p := range []string{"/button", "/button/hold", "/visits", "/scene"} {
		w.command("LISTEN", p)
	}
	w.sync("/button")
	if err := e.sim.Drive("GPIO27", pgpio.Low); err != nil { // active low: pressed
		t.Fatal(err)
	}
	if f := w.next(); f != "/button T #T" {
		t.Fatalf("a press: %q", f)
	}
	if f := w.next(); f != "/button/hold T #T" { // after its 500ms
		t.Fatalf("held: %q", f)
	}
	if err := e.sim.Drive("GPIO27", pgpio.High); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{w.next(): true, w.next(): true}
	if !got["/button F #F"] || !got["/button/hold F #F"] {
		t.Fatalf("a release after a hold: %v", got)
	}
	for i := 1; i <= 2; i++ {
		if err := e.sim.Drive("GPIO24", pgpio.High); err != nil { // no pull, active high
			t.Fatal(err)
		}
		if f := w.next(); f != fmt.Sprintf("/visits i %d", i) {
			t.Fatalf("press %d of a counter: %q", i, f)
		}
		if err := e.sim.Drive("GPIO24", pgpio.Low); err != nil {
			t.Fatal(err)
		}
		e.waitPointActive(t, "visits", false) // past the debounce
	}
	if err := e.sim.Drive("GPIO23", pgpio.High); err != nil {
		t.Fatal(err)
	}
	if f := w.next(); f != "/scene T #T" {
		t.Fatalf("a latch's first press: %q", f)
	}
}

// TestWebSocketInput: binary OSC from a client drives a pin, and an answer
// (/oscgpio/get) comes back over the WebSocket; a frame that is not OSC is
// counted, the connection stays.
func TestWebSocketInput(t *testing.T) {
	e := start(t, loadMapping(t, "testdata/mapping.yaml"), Options{})
	w := e.dial(t)
	w.send(osc.NewMessage("/stage/relay", true))
	e.waitLevel(t, "GPIO22", pgpio.Low)        // active low: on
	w.send(osc.NewMessage("/led/toggle", nil)) // a Nil argument: dropped, as for a TYPE N method
	e.waitPoint(t, "led", 1)
	if err := w.conn.Write(context.Background(), websocket.MessageBinary, []byte("not osc")); err != nil {
		t.Fatal(err)
	}
	w.send(osc.NewMessage("/oscgpio/get", "/led"))
	if f := w.next(); f != "/led i 1" {
		t.Fatalf("/oscgpio/get /led over the WebSocket: %q", f)
	}
	if st := e.srv.Stats(); st.Malformed != 1 || st.Injected != 3 {
		t.Errorf("stats %+v, want 1 malformed, 3 injected", st)
	}
}

// TestAllowList: with an allow list that does not admit the client, its OSC
// is dropped and counted; LISTEN still works.
func TestAllowList(t *testing.T) {
	cfg := parseMapping(t, "allow: [10.0.0.0/8]\noutputs:\n  - {name: led, pin: GPIO17, address: /led}\n")
	e := start(t, cfg, Options{})
	w := e.dial(t)
	w.command("LISTEN", "/led")
	w.send(osc.NewMessage("/led", int32(1)))
	w.send(osc.NewMessage("/oscgpio/get", "/led")) // no answer either
	if f, err := w.read(300 * time.Millisecond); err == nil {
		t.Fatalf("a client outside allow got %q", f)
	}
	if lvl, _ := e.sim.Level("GPIO17"); lvl != pgpio.Low {
		t.Fatal("a client outside allow drove GPIO17")
	}
	if st := e.srv.Stats(); st.Denied != 2 || st.Injected != 0 {
		t.Errorf("stats %+v, want 2 denied", st)
	}

	cfg = parseMapping(t, "allow: [127.0.0.1]\noutputs:\n  - {name: led, pin: GPIO17, address: /led}\n")
	e = start(t, cfg, Options{})
	w = e.dial(t)
	w.send(osc.NewMessage("/led", int32(1)))
	e.waitLevel(t, "GPIO17", pgpio.High)
}

// TestRateLatestWins: 300 values in a burst reach a listener as at most 30
// frames a second, the last one the last value; the bridge is never held up.
func TestRateLatestWins(t *testing.T) {
	e := start(t, loadMapping(t, "testdata/mapping.yaml"), Options{})
	w := e.dial(t)
	w.command("LISTEN", "/stage/dimmer")
	w.sync("/stage/dimmer")
	// A second client that never reads must not slow anything.
	idle := e.dial(t)
	idle.command("LISTEN", "/stage/dimmer")
	begin := time.Now()
	for i := 1; i <= 300; i++ {
		e.b.Inject(osc.NewMessage("/stage/dimmer", float32(i%100)), localPeer, nil)
	}
	e.b.Inject(osc.NewMessage("/stage/dimmer", float32(127)), localPeer, nil)
	injected := time.Since(begin)
	frames := 0
	for {
		f := w.next()
		frames++
		if f == "/stage/dimmer f 127.000000" {
			break
		}
	}
	elapsed := time.Since(begin)
	if max := int(elapsed.Seconds()*30) + 2; frames > max {
		t.Errorf("%d frames in %v: more than 30 a second", frames, elapsed)
	}
	if injected > time.Second {
		t.Errorf("301 messages took %v to handle with listeners", injected)
	}
	if st := e.srv.Stats(); st.Coalesced == 0 {
		t.Errorf("stats %+v: nothing coalesced", st)
	}
	t.Logf("301 values in %v: %d frames to the reader in %v", injected, frames, elapsed)
}

// TestPathChanged: a reload that adds an output under /stage sends
// PATH_CHANGED /stage; one that changes nothing in the namespace sends
// nothing; a listen on a path that went away is dropped.
func TestPathChanged(t *testing.T) {
	e := start(t, loadMapping(t, "testdata/mapping.yaml"), Options{})
	w := e.dial(t)
	w.command("LISTEN", "/test")
	w.sync("/led")
	next := loadMapping(t, "testdata/mapping.yaml")
	next.Outputs = append(next.Outputs, mustOutput(t, "fog", "GPIO25", "/stage/fog"))
	if err := e.b.Apply(next); err != nil {
		t.Fatal(err)
	}
	if f := w.next(); f != `{"COMMAND":"PATH_CHANGED","DATA":"/stage"}` {
		t.Fatalf("after adding /stage/fog: %q", f)
	}
	if c := e.getJSON(t, "/stage/fog"); c["TYPE"] != "T" {
		t.Errorf("GET /stage/fog after the reload: %v", c)
	}
	same := *next
	if err := e.b.Apply(&same); err != nil {
		t.Fatal(err)
	}
	gone := same
	gone.Outputs = append([]config.Output(nil), same.Outputs...)
	gone.Outputs[0].Addresses = []string{"/led"} // /test goes
	if err := e.b.Apply(&gone); err != nil {
		t.Fatal(err)
	}
	if f := w.next(); f != `{"COMMAND":"PATH_CHANGED","DATA":"/"}` {
		t.Fatalf("after removing /test: %q (a reload that changed nothing must send nothing)", f)
	}
	e.srv.mu.Lock()
	for c := range e.srv.clients {
		if len(c.listen) != 0 {
			t.Errorf("listens after /test went: %v", c.listen)
		}
	}
	e.srv.mu.Unlock()
	if code, _ := e.get(t, "/test"); code != http.StatusNotFound {
		t.Errorf("GET /test after it went: %d", code)
	}
}

var localPeer = netip.MustParseAddrPort("127.0.0.1:40000")

func mustOutput(t *testing.T, name, pin, addr string) config.Output {
	t.Helper()
	c := parseMapping(t, fmt.Sprintf("outputs:\n  - {name: %s, pin: %s, address: %s}\n", name, pin, addr))
	return c.Outputs[0]
}

// TestClientLimits: more clients than MaxClients get 503; a message over
// MaxMessage closes its connection; a closed client is forgotten.
func TestClientLimits(t *testing.T) {
	e := start(t, loadMapping(t, "testdata/mapping.yaml"), Options{MaxClients: 2, MaxMessage: 1024})
	a, b := e.dial(t), e.dial(t)
	a.command("LISTEN", "/led")
	a.sync("/led")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http")+"/led", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a third client: %v %v, want 503", err, resp)
	}
	if err := b.conn.Write(ctx, websocket.MessageBinary, make([]byte, 2000)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.read(5 * time.Second); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("after 2000 bytes: %v, want a close %v", err, websocket.StatusMessageTooBig)
	}
	a.conn.Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(5 * time.Second)
	for e.srv.Stats().Clients != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("clients still counted after they closed: %+v", e.srv.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := e.srv.Stats(); st.Refused != 1 {
		t.Errorf("stats %+v, want 1 refused", st)
	}
	e.dial(t).sync("/led") // a slot again
}

// TestCloseEndsClients: Close tells every client the server is going
// away, and later requests get 503.
func TestCloseEndsClients(t *testing.T) {
	e := start(t, loadMapping(t, "testdata/mapping.yaml"), Options{})
	w := e.dial(t)
	w.sync("/led")
	e.srv.Close()
	if _, err := w.read(6 * time.Second); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("after Close: %v, want a close %v", err, websocket.StatusGoingAway)
	}
	if code, _ := e.get(t, "/"); code != http.StatusServiceUnavailable {
		t.Errorf("GET / after Close: %d", code)
	}
}

// turn drives n detents of a full-quadrature encoder resting at 11 on the
// sim: clockwise (dir 1) A falls first, counter-clockwise B does.
func turn(t *testing.T, e *env, a, b string, dir, n int) {
	t.Helper()
	first, second := a, b
	if dir < 0 {
		first, second = b, a
	}
	for range n {
		for _, s := range []struct {
			pin string
			l   pgpio.Level
		}{{first, pgpio.Low}, {second, pgpio.Low}, {first, pgpio.High}, {second, pgpio.High}} {
			if err := e.sim.Drive(s.pin, s.l); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestListenEncodersAndSensors: a relative encoder's node is its running
// total (the UDP reports are +1/-1: a total survives latest-wins), an
// absolute one its value; a sensor its reading, typed as the mapping says.
func TestListenEncodersAndSensors(t *testing.T) {
	e := start(t, loadMapping(t, "testdata/mapping.yaml"), Options{})
	w := e.dial(t)
	for _, p := range []string{"/jog", "/volume", "/cutoff"} {
		w.command("LISTEN", p)
	}
	w.sync("/jog")
	turn(t, e, "GPIO5", "GPIO6", 1, 3)
	e.waitPoint(t, "jog", 3)
	turn(t, e, "GPIO5", "GPIO6", -1, 1)
	e.waitPoint(t, "jog", 2)
	w.until(t, "/jog i 2")
	if _, body := e.get(t, "/jog?VALUE"); string(body) != `{"VALUE":[2]}` {
		t.Errorf("/jog?VALUE after 3 turns and 1 back: %s", body)
	}
	turn(t, e, "GPIO20", "GPIO21", 1, 2)
	e.waitPoint(t, "volume", 0.1)
	w.until(t, "/volume f 0.100000")
	e.b.Inject(osc.NewMessage("/sim/cutoff", float32(0.5)), localPeer, nil) // half the reading: 63.5, sent as i
	w.until(t, "/cutoff i 64")
}

// TestCrossOriginRefused: a WebSocket opened by a web page of another
// origin is refused (it could drive the pins from a visitor's browser).
func TestCrossOriginRefused(t *testing.T) {
	e := start(t, loadMapping(t, "testdata/mapping.yaml"), Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http")+"/",
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://evil.example"}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a cross-origin WebSocket: %v %v, want 403", err, resp)
	}
	same := http.Header{"Origin": {e.url}}
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http")+"/", &websocket.DialOptions{HTTPHeader: same})
	if err != nil {
		t.Fatalf("a same-origin WebSocket (the dashboard's): %v", err)
	}
	conn.CloseNow()
}

// until reads frames until want; a frame of want's address with another
// type tag fails the test.
func (w *ws) until(t *testing.T, want string) {
	t.Helper()
	f := strings.Fields(want)
	prefix := f[0] + " " + f[1] + " "
	for {
		got := w.next()
		if got == want {
			return
		}
		if strings.HasPrefix(got, f[0]+" ") && !strings.HasPrefix(got, prefix) {
			t.Fatalf("waiting for %q: %q", want, got)
		}
	}
}

// TestFrameLatency measures how long a UDP /led takes to reach a listener
// as a frame: 20 changes, one after the other (no rate limit to wait for).
func TestFrameLatency(t *testing.T) {
	e := start(t, loadMapping(t, "testdata/mapping.yaml"), Options{Rate: 1e9})
	w := e.dial(t)
	w.command("LISTEN", "/led")
	w.sync("/led")
	var worst, total time.Duration
	for i := 1; i <= 20; i++ {
		begin := time.Now()
		e.udp(t, osc.NewMessage("/led", int32(i%2)))
		w.next()
		d := time.Since(begin)
		total += d
		worst = max(worst, d)
	}
	if worst > 200*time.Millisecond {
		t.Errorf("a frame took %v after its UDP message", worst)
	}
	t.Logf("UDP /led to its WebSocket frame: mean %v, worst %v (20 changes)", total/20, worst)
}

// TestSlowClientClosed: a client that sends requests but never reads their
// answers is closed once a frame has waited WriteTimeout; the bridge goes
// on meanwhile.
func TestSlowClientClosed(t *testing.T) {
	e := start(t, loadMapping(t, "testdata/mapping.yaml"), Options{WriteTimeout: 300 * time.Millisecond})
	w := e.dial(t)
	// One frame: a bundle of 100 /oscgpio/stats, each answered with ~600 bytes.
	b := osc.NewBundle(time.Time{})
	for range 100 {
		b.Append(osc.NewMessage("/oscgpio/stats"))
	}
	data, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for e.srv.Stats().Slow == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("a client that never reads was not closed: %+v", e.srv.Stats())
		}
		// Longer than the server's WriteTimeout: the server gives up first.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := w.conn.Write(ctx, websocket.MessageBinary, data)
		cancel()
		if err != nil {
			break // closed by the server
		}
	}
	for e.srv.Stats().Slow == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the client was closed, but not as slow: %+v", e.srv.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The bridge was never held up.
	e.udp(t, osc.NewMessage("/led", int32(1)))
	e.waitPoint(t, "led", 1)
	t.Logf("stats: %+v", e.srv.Stats())
}
