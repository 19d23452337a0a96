package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/gpio"
	"github.com/oscgpio/oscgpio/oscmap"
	"github.com/oscgpio/oscgpio/oscmap/transport"
)

// wait bounds a step that should take milliseconds; it is not a speed target.
const wait = 10 * time.Second

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// mapping is the bridge of these tests: an LED, a PWM output and a button on
// the sim, reporting to a UDP socket of the test (%d: its port).
const mapping = `listen: 127.0.0.1:5005
destinations:
  monitor: 127.0.0.1:%d
outputs:
  - {name: led, pin: GPIO17, address: /led}
  - {name: dimmer, kind: pwm, pin: GPIO18, address: /dimmer, range: [0, 127]}
inputs:
  - {name: button, pin: GPIO27, pull: up, active_low: true, debounce: 0s, address: /button, to: [monitor]}
`

func newBridge(t *testing.T) *oscmap.Bridge {
	t.Helper()
	mon, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mon.Close() })
	cfg, err := config.Parse("mapping.yaml", fmt.Appendf(nil, mapping, mon.LocalAddr().(*net.UDPAddr).Port))
	if err != nil {
		t.Fatal(err)
	}
	b, err := oscmap.NewBridge(cfg, gpio.NewSim(quiet()), oscmap.Options{Listen: "127.0.0.1:0", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func newServer(t *testing.T, b *oscmap.Bridge, opt Options) (*Server, *httptest.Server) {
	t.Helper()
	if opt.Logger == nil {
		opt.Logger = quiet()
	}
	s := New(b, opt)
	ts := httptest.NewServer(s)
	t.Cleanup(func() { ts.CloseClientConnections(); ts.Close(); s.Close() })
	return s, ts
}

var local = netip.MustParseAddrPort("127.0.0.1:40000")

// The routing rules of the package documentation, in order.
func TestRouting(t *testing.T) {
	b := newBridge(t)
	oscq := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "oscquery "+r.URL.Path) })
	wiring := func(w io.Writer) error { _, err := io.WriteString(w, "<svg/>"); return err }
	s := New(b, Options{OSCQuery: oscq, Wiring: wiring, Logger: quiet()})
	defer s.Close()
	bare := New(b, Options{Logger: quiet()}) // no OSCQuery, no wiring
	defer bare.Close()
	const browser = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
	for _, tc := range []struct {
		name           string
		srv            *Server
		method, target string
		header         map[string]string
		code           int
		want           string // in the body, or the Content-Type for the page
	}{
		{"browser gets the page", s, "GET", "/", map[string]string{"Accept": browser}, 200, "text/html"},
		{"HEAD from a browser", s, "HEAD", "/", map[string]string{"Accept": browser}, 200, "text/html"},
		{"no Accept: JSON", s, "GET", "/", nil, 200, "oscquery /"},
		{"curl's */*: JSON", s, "GET", "/", map[string]string{"Accept": "*/*"}, 200, "oscquery /"},
		{"JSON preferred", s, "GET", "/", map[string]string{"Accept": "application/json, text/html;q=0.5"}, 200, "oscquery /"},
		{"a query is OSCQuery's", s, "GET", "/?HOST_INFO", map[string]string{"Accept": browser}, 200, "oscquery /"},
		{"another path is OSCQuery's", s, "GET", "/led", map[string]string{"Accept": browser}, 200, "oscquery /led"},
		{"POST / is OSCQuery's", s, "POST", "/", map[string]string{"Accept": browser}, 200, "oscquery /"},
		{"WebSocket on /", s, "GET", "/", map[string]string{"Accept": browser, "Connection": "keep-alive, Upgrade", "Upgrade": "websocket"}, 200, "oscquery /"},
		{"WebSocket under the prefix", s, "GET", "/oscgpio/ui/events", map[string]string{"Connection": "Upgrade", "Upgrade": "WebSocket"}, 200, "oscquery /oscgpio/ui/events"},
		{"the page under the prefix", s, "GET", "/oscgpio/ui/", nil, 200, "text/html"},
		{"state", s, "GET", "/oscgpio/ui/state", nil, 200, `"points":[{"name":"led"`},
		{"wiring", s, "GET", "/oscgpio/ui/wiring.svg", nil, 200, "<svg/>"},
		{"unknown API path", s, "GET", "/oscgpio/ui/nothing", nil, 404, "not found"},
		{"GET send", s, "GET", "/oscgpio/ui/send", nil, 405, "POST"},
		{"POST state", s, "POST", "/oscgpio/ui/state", nil, 405, "not allowed"},
		{"no OSCQuery: 404", bare, "GET", "/", nil, 404, "dashboard only"},
		{"no OSCQuery, WebSocket: 404", bare, "GET", "/x", map[string]string{"Connection": "upgrade", "Upgrade": "websocket"}, 404, ""},
		{"no OSCQuery, browser: page", bare, "GET", "/", map[string]string{"Accept": browser}, 200, "text/html"},
		{"no wiring: 404", bare, "GET", "/oscgpio/ui/wiring.svg", nil, 404, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.target, nil)
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			tc.srv.ServeHTTP(w, r)
			body := w.Body.String()
			if w.Code != tc.code {
				t.Fatalf("%s %s: %d, want %d: %s", tc.method, tc.target, w.Code, tc.code, body)
			}
			if ct := w.Header().Get("Content-Type"); strings.HasPrefix(tc.want, "text/html") {
				if !strings.HasPrefix(ct, "text/html") {
					t.Errorf("Content-Type %q, want the page", ct)
				}
				if tc.method == "GET" && !strings.Contains(body, "<title>oscgpio</title>") {
					t.Errorf("not the page: %.100s", body)
				}
				if tc.method == "HEAD" && body != "" {
					t.Errorf("HEAD has a body")
				}
			} else if !strings.Contains(body, tc.want) {
				t.Errorf("body %.200q does not have %q", body, tc.want)
			}
		})
	}
}

func TestPrefersHTML(t *testing.T) {
	for accept, want := range map[string]bool{
		"":                                  false,
		"*/*":                               false,
		"text/html":                         true,
		"text/*":                            true,
		"text/html;q=0":                     false,
		"application/json":                  false,
		"text/html;q=0.9, application/json": false,
		"text/html, application/json;q=0.9": true,
		"application/*;q=0.2, text/html":    true,
		"text/html;q=0.5, */*":              false, // */* gives JSON 1
		"TEXT/HTML":                         true,
		"garbage;;, text/html":              true,
	} {
		if got := prefersHTML([]string{accept}); got != want {
			t.Errorf("prefersHTML(%q) = %v, want %v", accept, got, want)
		}
	}
}

// sse is one event of a stream.
type sse struct {
	name, data string
	at         time.Time
}

// stream opens the event stream and sends its events on the channel until
// the test ends.
func stream(t *testing.T, ts *httptest.Server) <-chan sse {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/oscgpio/ui/events", nil)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	ch := make(chan sse, 1<<16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var e sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				e.name = line[7:]
			case strings.HasPrefix(line, "data: "):
				e.data = line[6:]
			case line == "" && e.name != "":
				e.at = time.Now()
				ch <- e
				e = sse{}
			}
		}
	}()
	t.Cleanup(func() { cancel(); resp.Body.Close(); <-done })
	return ch
}

// firsts returns the first event of each name, skipping others.
func firsts(t *testing.T, ch <-chan sse, names ...string) map[string]sse {
	t.Helper()
	got := map[string]sse{}
	for len(got) < len(names) {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("the stream ended before events %v", names)
			}
			if _, seen := got[e.name]; !seen && slices.Contains(names, e.name) {
				got[e.name] = e
			}
		case <-time.After(wait):
			t.Fatalf("no events %v within %v (got %v)", names, wait, got)
		}
	}
	return got
}

// next returns the next event named name, skipping others.
func next(t *testing.T, ch <-chan sse, name string) sse {
	t.Helper()
	deadline := time.After(wait)
	var skipped []string
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("the stream ended before a %s event", name)
			}
			if e.name == name {
				return e
			}
			skipped = append(skipped, e.name+" "+e.data)
		case <-deadline:
			t.Fatalf("no %s event within %v; skipped:\n%s", name, wait, strings.Join(skipped, "\n"))
		}
	}
}

// The stream starts with the state; a change, the messages in and out and
// the counters follow; a reload sends the state again.
func TestEvents(t *testing.T) {
	b := newBridge(t)
	_, ts := newServer(t, b, Options{Control: true})
	ch := stream(t, ts)
	first := <-ch
	if first.name != "state" {
		t.Fatalf("first event %q, want state", first.name)
	}
	var st stateJSON
	if err := json.Unmarshal([]byte(first.data), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Header) != 40 || st.Header[0].Kind != "3v3" || st.Header[10].GPIO != 17 || st.Backend != "sim" || !st.Simulated || !st.Control {
		t.Errorf("state: %+v", st)
	}
	var names []string
	for _, p := range st.Points {
		names = append(names, fmt.Sprintf("%s:%s:%v", p.Name, p.Kind, p.GPIO))
	}
	if got := strings.Join(names, " "); got != "led:output:[17] dimmer:pwm:[18] button:input:[27]" {
		t.Errorf("points %s", got)
	}
	if p := st.Points[1]; p.Range == nil || *p.Range != [2]float64{0, 127} {
		t.Errorf("dimmer range %v", p.Range)
	}
	if p := st.Points[2]; p.PressLevel == nil || *p.PressLevel != 0 {
		t.Errorf("button press level %v, want 0 (active_low)", p.PressLevel)
	}

	b.Inject(osc.NewMessage("/led", int32(1)), local, nil)
	got := firsts(t, ch, "change", "log") // the log line is queued at once, the change by the hub: either may come first
	var c liveJSON
	if err := json.Unmarshal([]byte(got["change"].data), &c); err != nil {
		t.Fatal(err)
	}
	if c.Name != "led" || c.Value != 1 || c.Cause != "osc" || c.From != local.String() {
		t.Errorf("change %+v", c)
	}
	var l logLine
	if err := json.Unmarshal([]byte(got["log"].data), &l); err != nil {
		t.Fatal(err)
	}
	if l.Dir != "in" || l.Addr != "/led" || l.Types != "i" || strings.Join(l.Args, " ") != "1" || l.Peer != local.String() {
		t.Errorf("log %+v", l)
	}
	// A press: the input's report goes out.
	b.Inject(osc.NewMessage("/sim/GPIO27", int32(0)), local, nil)
	for {
		if err := json.Unmarshal([]byte(next(t, ch, "log").data), &l); err != nil {
			t.Fatal(err)
		}
		if l.Dir == "out" {
			break
		}
	}
	if l.Addr != "/button" || l.Peer != "monitor" || strings.Join(l.Args, " ") != "1" {
		t.Errorf("log out %+v", l)
	}
	var counts [][2]any
	if err := json.Unmarshal([]byte(next(t, ch, "stats").data), &counts); err != nil || len(counts) == 0 || counts[0][0] != "packets" {
		t.Errorf("stats %v %v", counts, err)
	}

	cfg, err := config.Parse("mapping.yaml", fmt.Appendf(nil, strings.Replace(mapping, "name: led,", "name: lamp,", 1), 9))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if s := next(t, ch, "state"); !strings.Contains(s.data, `"name":"lamp"`) {
		t.Errorf("the state after the reload has no lamp: %.300s", s.data)
	}
}

// Changes of one point go out at most 30 times a second, and the last one
// sent is the latest value.
func TestChangesCoalesced(t *testing.T) {
	b := newBridge(t)
	_, ts := newServer(t, b, Options{})
	ch := stream(t, ts)
	next(t, ch, "state")
	start := time.Now()
	const n = 2000
	for i := range n {
		b.Inject(osc.NewMessage("/dimmer", float32(i%127)), local, nil)
		if i%100 == 0 {
			time.Sleep(5 * time.Millisecond) // spread the changes over some time
		}
	}
	b.Inject(osc.NewMessage("/dimmer", float32(42.5)), local, nil)
	sent := time.Since(start)
	count, last := 0, 0.0
	var times []time.Time
	for last != 42.5 {
		e := next(t, ch, "change")
		var c liveJSON
		if err := json.Unmarshal([]byte(e.data), &c); err != nil {
			t.Fatal(err)
		}
		count++
		last = float64(c.Value)
		times = append(times, e.at)
	}
	span := times[len(times)-1].Sub(start)
	limit := int(span.Seconds()*30) + 2
	t.Logf("%d changes in %v: %d change events over %v (at most %d allowed)", n+1, sent, count, span, limit)
	if count > limit {
		t.Errorf("%d change events in %v: more than 30 a second", count, span)
	}
}

// blockedWriter is an event stream's client that never reads: every write
// blocks until release.
type blockedWriter struct {
	h       http.Header
	once    sync.Once
	started chan struct{} // closed at the first write
	release chan struct{}
	mu      sync.Mutex
	got     strings.Builder
}

func (w *blockedWriter) Header() http.Header { return w.h }
func (w *blockedWriter) WriteHeader(int)     {}
func (w *blockedWriter) Flush()              {}
func (w *blockedWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.started) })
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.got.Write(p)
}

// A client that never reads does not slow the bridge: its queue keeps one
// change per point and at most LogQueue lines, and counts the rest.
func TestSlowClientNeverBlocks(t *testing.T) {
	b := newBridge(t)
	s := New(b, Options{Logger: quiet(), LogQueue: 50})
	defer s.Close()
	w := &blockedWriter{h: http.Header{}, started: make(chan struct{}), release: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan struct{})
	go func() {
		s.ServeHTTP(w, httptest.NewRequest("GET", "/oscgpio/ui/events", nil).WithContext(ctx))
		close(served)
	}()
	<-w.started // the stream's goroutine is stuck in its first write
	start := time.Now()
	const n = 20000
	for i := range n {
		b.Inject(osc.NewMessage("/led", int32(i%2)), local, nil)
	}
	took := time.Since(start)
	t.Logf("%d messages handled in %v with a client that does not read", n, took)
	if took > 5*time.Second {
		t.Errorf("%d messages took %v with a stuck client", n, took)
	}
	ctxA, cancelA := context.WithTimeout(context.Background(), time.Second)
	defer cancelA()
	if !b.Alive(ctxA) {
		t.Fatal("the bridge does not answer")
	}
	s.hub.mu.Lock()
	var c *client
	for k := range s.hub.clients {
		c = k
	}
	s.hub.mu.Unlock()
	c.mu.Lock()
	logs, dropped, changes := len(c.logs), c.dropped, len(c.changes)
	c.mu.Unlock()
	if logs > 50 || dropped < n-50 || changes > 1 {
		t.Errorf("queue: %d log lines (at most 50), %d dropped (at least %d), %d changes (at most 1)", logs, dropped, n-50, changes)
	}
	close(w.release)
	// The stream goes on: the dropped lines are reported.
	deadline := time.Now().Add(wait)
	for {
		w.mu.Lock()
		got := w.got.String()
		w.mu.Unlock()
		if strings.Contains(got, `"dropped":`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dropped count in the stream:\n%.500s", got)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-served
}

// At most MaxClients streams at once; one more is told to come back.
func TestMaxClients(t *testing.T) {
	b := newBridge(t)
	_, ts := newServer(t, b, Options{MaxClients: 1})
	next(t, stream(t, ts), "state")
	resp, err := ts.Client().Get(ts.URL + "/oscgpio/ui/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("second stream: %s, Retry-After %q; want 503 with Retry-After", resp.Status, resp.Header.Get("Retry-After"))
	}
}

func post(t *testing.T, ts *httptest.Server, body string, header map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", ts.URL+"/oscgpio/ui/send", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func point(b *oscmap.Bridge, name string) oscmap.Point {
	for _, p := range b.Points() {
		if p.Name == name {
			return p
		}
	}
	return oscmap.Point{}
}

// Without Control the POST is refused and nothing moves.
func TestSendForbiddenWithoutControl(t *testing.T) {
	b := newBridge(t)
	_, ts := newServer(t, b, Options{Control: false})
	code, body := post(t, ts, `{"address": "/led", "args": [1]}`, nil)
	if code != http.StatusForbidden || !strings.Contains(body, "control: true") {
		t.Errorf("POST without control: %d %s", code, body)
	}
	if p := point(b, "led"); p.Value != 0 {
		t.Errorf("led %v after a refused POST", p.Value)
	}
}

// With Control a POST is a message from the HTTP client: it drives an
// output, presses a sim input and gets the bridge's answers.
func TestSend(t *testing.T) {
	b := newBridge(t)
	_, ts := newServer(t, b, Options{Control: true})
	code, body := post(t, ts, `{"address": "/led", "args": [1]}`, nil)
	if code != 200 {
		t.Fatalf("POST /led 1: %d %s", code, body)
	}
	if p := point(b, "led"); p.Value != 1 || p.Cause != oscmap.CauseOSC || p.From.Addr().String() != "127.0.0.1" {
		t.Errorf("led after POST: %+v", p)
	}
	if code, body := post(t, ts, `{"address": "/dimmer", "args": ["f:63.5"]}`, nil); code != 200 || point(b, "dimmer").Value != 63.5 {
		t.Errorf("POST /dimmer f:63.5: %d %s, dimmer %v", code, body, point(b, "dimmer").Value)
	}

	// The sim button: pressed is low (active_low).
	pressed := make(chan oscmap.Change, 16)
	cancel := b.Subscribe(func(c oscmap.Change) {
		if c.Point == "button" {
			select {
			case pressed <- c:
			default:
			}
		}
	})
	defer cancel()
	if code, body := post(t, ts, `{"address": "/sim/GPIO27", "args": [0]}`, nil); code != 200 {
		t.Fatalf("POST /sim/GPIO27 0: %d %s", code, body)
	}
	select {
	case c := <-pressed:
		if !c.Active || c.Value != 1 {
			t.Errorf("button change %+v, want pressed", c)
		}
	case <-time.After(wait):
		t.Fatal("the POST did not press the sim button")
	}

	code, body = post(t, ts, `{"address": "/oscgpio/get", "args": ["/led"]}`, nil)
	var ans struct {
		Answers []struct{ Addr, Types string }
	}
	if err := json.Unmarshal([]byte(body), &ans); code != 200 || err != nil || len(ans.Answers) != 1 || ans.Answers[0].Addr != "/led" {
		t.Errorf("POST /oscgpio/get: %d %s", code, body)
	}

	for _, tc := range []struct {
		name, body string
		header     map[string]string
		code       int
		msg        string
	}{
		{"not JSON", `/led 1`, nil, 400, "JSON object"},
		{"no slash", `{"address": "led"}`, nil, 400, "starts with /"},
		{"bad argument", `{"address": "/led", "args": [{"x": 1}]}`, nil, 400, "argument 1"},
		{"bad typed argument", `{"address": "/led", "args": ["i:x"]}`, nil, 400, "argument 1"},
		{"unknown field", `{"address": "/led", "arg": [1]}`, nil, 400, "unknown field"},
		{"a form", `address=/led`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "application/json"},
		{"another site's page", `{"address": "/led", "args": [0]}`, map[string]string{"Origin": "http://evil.example"}, 403, "evil.example"},
		{"a rebound name", `{"address": "/led", "args": [0]}`, map[string]string{"Host": "evil.example:5080"}, 403, "not this machine's name"},
		{"cross-site fetch", `{"address": "/led", "args": [0]}`, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "another site"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", ts.URL+"/oscgpio/ui/send", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			for k, v := range tc.header {
				if k == "Host" {
					req.Host = v
				} else {
					req.Header.Set(k, v)
				}
			}
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.code || !strings.Contains(string(data), tc.msg) {
				t.Errorf("%d %s, want %d with %q", resp.StatusCode, data, tc.code, tc.msg)
			}
		})
	}
	if p := point(b, "led"); p.Value != 1 {
		t.Errorf("a refused POST changed the led: %v", p.Value)
	}
}

// Start, Rebind and Close on real sockets; a taken address is an error
// that says what to do.
func TestStartRebindClose(t *testing.T) {
	b := newBridge(t)
	s := New(b, Options{Logger: quiet()})
	if s.URL() != "" {
		t.Errorf("URL before Start: %q", s.URL())
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	first := s.URL()
	other := New(b, Options{Logger: quiet()})
	defer other.Close()
	err := other.Start(strings.TrimSuffix(strings.TrimPrefix(first, "http://"), "/"))
	if err == nil || !strings.Contains(err.Error(), "--http") {
		t.Errorf("Start on a taken address: %v", err)
	}
	if err := s.Rebind("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if s.URL() == first {
		t.Errorf("Rebind kept %s", first)
	}
	resp, err := http.Get(s.URL() + "oscgpio/ui/state")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := http.Get(first + "oscgpio/ui/state"); err == nil {
		t.Errorf("the old address still answers after Rebind")
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if s.URL() != "" {
		t.Errorf("URL after Close: %q", s.URL())
	}
}

// A log line is bounded whatever the message: long arguments and addresses
// are cut, many arguments are counted.
func TestLogLineBounded(t *testing.T) {
	m := osc.NewMessage("/" + strings.Repeat("é", 300))
	m.Append(strings.Repeat("x", 10000))
	for i := range 100 {
		m.Append(int32(i))
	}
	addr, types, args := fields(m)
	if len(addr) > maxArgText+len("…") || !strings.HasSuffix(addr, "…") || !utf8.ValidString(addr) {
		t.Errorf("address not clipped: %d bytes", len(addr))
	}
	if len(args) != maxArgs+1 || args[maxArgs] != "… 69 more" || len(types) != maxArgs {
		t.Errorf("%d args (last %q), types %q", len(args), args[len(args)-1], types)
	}
	if len(args[0]) > maxArgText+len("…") || !strings.HasPrefix(args[0], `"xxx`) {
		t.Errorf("string argument not clipped: %d bytes", len(args[0]))
	}
	if args[1] != "0" || types[:2] != "si" {
		t.Errorf("args %q types %q", args[:2], types)
	}
}

// The counters end with the top senders, named as /oscgpio/stats names them.
func TestCountersHaveTopSenders(t *testing.T) {
	top := oscmap.Senders{
		Received: []transport.SenderCount{{Addr: netip.MustParseAddr("127.0.0.3"), Count: 900}, {Count: 4}},
		Denied:   []transport.SenderCount{{Addr: netip.MustParseAddr("10.0.0.9"), Count: 7}},
	}
	got := counters(oscmap.Counters{Packets: 911}, top)
	n := len(got)
	if n < 4 || got[0][0] != "packets" || fmt.Sprint(got[n-3:]) != "[[received:127.0.0.3 900] [received:others 4] [denied:10.0.0.9 7]]" {
		t.Errorf("counters = %v", got)
	}
}
