package oscquery

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/hypebeast/go-osc/osc"
	pgpio "periph.io/x/conn/v3/gpio"
)

// dialAs opens a WebSocket to e as a browser would for a page at origin
// that reached the server by the name host (its Host header).
func (e *env) dialAs(t *testing.T, host, origin string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http")+"/",
		&websocket.DialOptions{Host: host, HTTPHeader: http.Header{"Origin": {origin}}})
	if err == nil {
		t.Cleanup(func() { conn.CloseNow() })
	}
	return conn, resp, err
}

// TestDNSRebindingRefused: a page of another site whose name was rebound to
// the bridge's address (DNS rebinding: Origin and Host then agree) cannot
// open the WebSocket, whose binary frames drive the pins. A browser that
// names the bridge by an address, localhost, a .local (.lan, .home.arpa)
// name, a name without a dot, or one of Options.Hosts gets it.
func TestDNSRebindingRefused(t *testing.T) {
	e := start(t, loadMapping(t, "testdata/mapping.yaml"), Options{Hosts: []string{"pi.theatre.example"}})
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(e.url, "http://"))
	for _, host := range []string{"evil.example", "rebind.attacker.example", "pi.theatre.example.evil.example", "local.evil.example", "pi.notlocal", "pi.evil-lan"} {
		h := host + ":" + port
		_, resp, err := e.dialAs(t, h, "http://"+h)
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("a page of http://%s (rebound to the bridge): %v %v, want 403", h, err, resp)
		}
	}
	for _, host := range []string{"127.0.0.1", "[::1]", "localhost", "stage-pi", "stage-pi.local", "stage-pi.local.", "stage-pi.lan", "stage-pi.home.arpa", "PI.theatre.example"} {
		h := host + ":" + port
		if _, _, err := e.dialAs(t, h, "http://"+h); err != nil {
			t.Errorf("a page of http://%s: %v, want the WebSocket", h, err)
		}
	}
	// A client that is not a browser (no Origin) may use any name.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http")+"/", &websocket.DialOptions{Host: "anything.example:" + port})
	if err != nil {
		t.Fatalf("a client without Origin: %v", err)
	}
	conn.CloseNow()
}

// TestAllowListAsUDP: the WebSocket admits whom the UDP socket admits: an
// allow entry written as an IPv4-mapped IPv6 network (::ffff:127.0.0.0/104)
// is the IPv4 network, as transport.Allow reads it.
func TestAllowListAsUDP(t *testing.T) {
	cfg := parseMapping(t, "allow: ['::ffff:127.0.0.0/104']\noutputs:\n  - {name: led, pin: GPIO17, address: /led}\n")
	e := start(t, cfg, Options{})
	e.udp(t, osc.NewMessage("/led", int32(1))) // the UDP socket admits 127.0.0.1
	e.waitLevel(t, "GPIO17", pgpio.High)
	w := e.dial(t)
	w.send(osc.NewMessage("/led", int32(0)))
	e.waitLevel(t, "GPIO17", pgpio.Low)
	if st := e.srv.Stats(); st.Denied != 0 {
		t.Errorf("stats %+v: a client the allow list admits was denied", st)
	}
}

// TestRateLimit: the mapping's rate_limit bounds a WebSocket client's OSC
// as it bounds a UDP sender's: a frame (a datagram) over it is dropped and
// counted, so one client cannot keep the engine busy.
func TestRateLimit(t *testing.T) {
	cfg := parseMapping(t, "rate_limit: {rate: 0.1, burst: 2}\noutputs:\n  - {name: led, pin: GPIO17, address: /led}\n")
	e := start(t, cfg, Options{})
	w := e.dial(t)
	for range 10 {
		w.send(osc.NewMessage("/led/toggle"))
	}
	deadline := time.Now().Add(5 * time.Second)
	for st := e.srv.Stats(); st.Injected+st.RateLimited < 10; st = e.srv.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("10 frames sent, stats %+v", st)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if st := e.srv.Stats(); st.Injected > 3 || st.RateLimited < 7 {
		t.Errorf("10 frames at once with rate_limit {rate: 0.1, burst: 2}: stats %+v, want at most 3 injected", st)
	}
}

// TestMethodsOffNotDescribed: with oscgpio_methods read_only or off the
// bridge refuses /oscgpio/sync and /oscgpio/heartbeat, so the namespace
// does not offer them (a client would show controls that do nothing).
func TestMethodsOffNotDescribed(t *testing.T) {
	for _, methods := range []string{"read_only", "off"} {
		cfg := parseMapping(t, "oscgpio_methods: "+methods+"\noutputs:\n  - {name: led, pin: GPIO17, address: /led}\n")
		e := start(t, cfg, Options{})
		for _, path := range []string{"/oscgpio/sync", "/oscgpio/heartbeat"} {
			if code, body := e.get(t, path); code != http.StatusNotFound {
				t.Errorf("oscgpio_methods: %s: GET %s: %d %s, want 404", methods, path, code, body)
			}
		}
	}
	e := start(t, parseMapping(t, "outputs:\n  - {name: led, pin: GPIO17, address: /led}\n"), Options{})
	if c := e.getJSON(t, "/oscgpio/sync"); c["TYPE"] != "N" {
		t.Errorf("GET /oscgpio/sync by default: %v", c)
	}
}

// TestCloseSilentClient: a client that went silent (a phone that left the
// network: it never answers the closing handshake) does not hold up Close,
// which the bridge's shutdown waits for before the outputs go safe.
func TestCloseSilentClient(t *testing.T) {
	e := start(t, loadMapping(t, "testdata/mapping.yaml"), Options{})
	c, err := net.Dial("tcp", e.http.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	begin := time.Now()
	e.srv.Close()
	if d := time.Since(begin); d > 2*time.Second {
		t.Errorf("Close took %v with one silent client", d)
	}
}

// TestReloadForgetsLastValue: a reload that puts another point at a path
// (an output renamed) does not keep the old point's last value there, which
// would swallow the new point's first change when it happens to be equal.
func TestReloadForgetsLastValue(t *testing.T) {
	// led's safe level is on: its removal leaves /led's last value on.
	e := start(t, parseMapping(t, "outputs:\n  - {name: led, pin: GPIO17, address: /led, safe: on}\n"), Options{})
	w := e.dial(t)
	w.command("LISTEN", "/led")
	w.sync("/led")
	e.udp(t, osc.NewMessage("/led", int32(1)))
	if f := w.next(); f != "/led T #T" {
		t.Fatalf("/led 1: %q", f)
	}
	if err := e.b.Apply(parseMapping(t, "outputs:\n  - {name: lamp, pin: GPIO17, address: /led}\n")); err != nil {
		t.Fatal(err)
	}
	if f := w.next(); f != `{"COMMAND":"PATH_CHANGED","DATA":"/led"}` {
		t.Fatalf("after the rename: %q", f)
	}
	e.waitPoint(t, "lamp", 0)
	e.udp(t, osc.NewMessage("/led", int32(1)))
	e.waitPoint(t, "lamp", 1)
	if f := w.next(); f != "/led T #T" {
		t.Fatalf("the new point's first change, on: %q", f)
	}
}

// countHandler counts the records logged at Info and above.
type countHandler struct{ n *atomic.Int64 }

func (h countHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (h countHandler) Handle(context.Context, slog.Record) error    { h.n.Add(1); return nil }
func (h countHandler) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h countHandler) WithGroup(string) slog.Handler                { return h }

// TestConnectionLinesBudgeted: a web page of another origin that retries
// its WebSocket in a loop (or a client that reconnects in one) does not
// write a log line per attempt: the lines about single clients are
// bounded, as the bridge's lines about single messages are.
func TestConnectionLinesBudgeted(t *testing.T) {
	var n atomic.Int64
	e := start(t, loadMapping(t, "testdata/mapping.yaml"), Options{Logger: slog.New(countHandler{&n})})
	begin := time.Now()
	for range 200 {
		if _, resp, err := e.dialAs(t, "127.0.0.1", "http://evil.example"); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("a cross-origin WebSocket: %v %v, want 403", err, resp)
		}
	}
	for range 50 {
		e.dial(t).conn.CloseNow()
	}
	if max := 11*int64(time.Since(begin).Seconds()+1) + 5; n.Load() > max { // 10 a second, and the line a second saying how many were not shown
		t.Errorf("%d log lines for 250 connection attempts in %v, want at most %d", n.Load(), time.Since(begin), max)
	}
}
