package oscquery

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/hypebeast/go-osc/osc"
	pgpio "periph.io/x/conn/v3/gpio"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/gpio"
	"github.com/oscgpio/oscgpio/oscmap"
	"github.com/oscgpio/oscgpio/oscmap/codec"
)

// env is a running sim bridge with an OSCQuery server behind an HTTP server.
type env struct {
	b    *oscmap.Bridge
	sim  *gpio.Sim
	srv  *Server
	http *httptest.Server
	url  string // http://127.0.0.1:port
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func loadMapping(t testing.TB, file string) *config.Config {
	t.Helper()
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func parseMapping(t testing.TB, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// start runs a bridge for cfg on the sim and an OSCQuery server for it
// (opt.Name "test" unless set) until the test ends. The HTTP server's
// listener is wrapped by Listener, as the real one is.
func start(t testing.TB, cfg *config.Config, opt Options) *env {
	t.Helper()
	log := quiet()
	sim := gpio.NewSim(log)
	b, err := oscmap.NewBridge(cfg, sim, oscmap.Options{Listen: "127.0.0.1:0", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	if opt.Name == "" {
		opt.Name = "test"
	}
	if opt.Logger == nil {
		opt.Logger = log
	}
	s := New(b, opt)
	hs := httptest.NewUnstartedServer(s)
	hs.Listener = Listener(hs.Listener)
	hs.Start()
	t.Cleanup(func() {
		hs.CloseClientConnections()
		s.Close()
		hs.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return &env{b: b, sim: sim, srv: s, http: hs, url: hs.URL}
}

// get does GET url+path and returns the status and the body.
func (e *env) get(t testing.TB, path string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(e.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusOK && resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("GET %s: Content-Type %q, want application/json", path, resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, body
}

// getJSON does GET path, wants 200 and decodes the body.
func (e *env) getJSON(t testing.TB, path string) map[string]any {
	t.Helper()
	code, body := e.get(t, path)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s, want 200", path, code, body)
	}
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
	return v
}

// udp sends m to the bridge's OSC socket.
func (e *env) udp(t testing.TB, m *osc.Message) {
	t.Helper()
	data, err := codec.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("udp", e.b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
}

// waitPoint waits until point name has value v.
func (e *env) waitPoint(t testing.TB, name string, v float64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, p := range e.b.Points() {
			if p.Name == name && p.Value == v {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("point %s never reached %v: %+v", name, v, e.b.Points())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitPointActive waits until input name is active or not.
func (e *env) waitPointActive(t testing.TB, name string, active bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, p := range e.b.Points() {
			if p.Name == name && p.Active == active && !p.Changed.IsZero() {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("input %s never became active=%v", name, active)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitLevel waits until the sim's pin reads l.
func (e *env) waitLevel(t testing.TB, pin string, l pgpio.Level) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := e.sim.Level(pin)
		if err != nil {
			t.Fatal(err)
		}
		if got == l {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s reads %v, want %v", pin, got, l)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// ws is a WebSocket client of the test.
type ws struct {
	t    testing.TB
	conn *websocket.Conn
}

func (e *env) dial(t testing.TB) *ws {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http")+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return &ws{t: t, conn: conn}
}

func (w *ws) command(cmd, path string) {
	w.t.Helper()
	data, _ := json.Marshal(map[string]string{"COMMAND": cmd, "DATA": path})
	if err := w.conn.Write(context.Background(), websocket.MessageText, data); err != nil {
		w.t.Fatal(err)
	}
}

func (w *ws) send(m *osc.Message) {
	w.t.Helper()
	data, err := codec.Encode(m)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.conn.Write(context.Background(), websocket.MessageBinary, data); err != nil {
		w.t.Fatal(err)
	}
}

// next reads the next frame: an OSC message as codec.Format writes it
// ("/led T"), or a text frame as it is.
func (w *ws) next() string {
	w.t.Helper()
	s, err := w.read(5 * time.Second)
	if err != nil {
		w.t.Fatalf("no frame: %v", err)
	}
	return s
}

func (w *ws) read(d time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	typ, data, err := w.conn.Read(ctx)
	if err != nil {
		return "", err
	}
	if typ == websocket.MessageText {
		return string(data), nil
	}
	els, err := codec.Decode(data)
	if err != nil {
		w.t.Fatalf("binary frame is not OSC: %v", err)
	}
	if len(els) != 1 || data[0] == '#' {
		w.t.Fatalf("binary frame holds %d messages (a bundle?), want one message", len(els))
	}
	return codec.Format(els[0].Msg), nil
}

// sync makes sure the server has read every command sent before: it asks
// /oscgpio/get for a path and waits for the answer, which comes after.
func (w *ws) sync(path string) {
	w.t.Helper()
	w.send(osc.NewMessage("/oscgpio/get", path))
	for {
		f := w.next()
		if strings.HasPrefix(f, path+" ") {
			return
		}
	}
}

func TestMain(m *testing.M) {
	os.Exit(m.Run())
}
