package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/gpio"
	"github.com/oscgpio/oscgpio/oscmap"
)

// postAs posts body to the send of ts as a page opened at host would, with
// the page's Origin.
func postAs(t *testing.T, ts interface{ Client() *http.Client }, url, host, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/oscgpio/ui/send", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Host = host
	req.Header.Set("Origin", "http://"+host)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// A name that only starts like the machine's (raspberrypi.evil.example) is
// another site's, which DNS rebinding can point at the bridge: the page
// served there must not drive the pins. The machine's name, and names no
// public DNS answers for (raspberrypi.local, stage), still may.
func TestSendRefusesLookalikeHost(t *testing.T) {
	b := newBridge(t)
	s, ts := newServer(t, b, Options{Control: true})
	s.host = "raspberrypi"
	for _, tc := range []struct {
		host string
		ok   bool
	}{
		{"raspberrypi:5080", true},
		{"raspberrypi.local:5080", true},
		{"raspberrypi.lan:5080", true},
		{"raspberrypi.home.arpa:5080", true},
		{"127.0.0.1:5080", true},
		{"raspberrypi.evil.example:5080", false},
		{"raspberrypi.attacker.com", false},
		// Names no public DNS answers for cannot be another site's: the
		// same rule as the OSCQuery WebSocket (oscquery.LocalName).
		{"raspberrypi-x.local:5080", true},
		{"stage:5080", true},
		{"evil.example", false},
	} {
		code, body := postAs(t, ts, ts.URL, tc.host, `{"address": "/led", "args": [1]}`)
		if (code == http.StatusOK) != tc.ok {
			t.Errorf("page at %s: %d %s; want allowed %v", tc.host, code, body, tc.ok)
		}
	}
}

// bridgeOf makes a sim bridge of the mapping src.
func bridgeOf(t *testing.T, src string) *oscmap.Bridge {
	t.Helper()
	cfg, err := config.Parse("mapping.yaml", []byte(src))
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

// The POST obeys the mapping's allow list, as OSC over UDP and the OSCQuery
// WebSocket do: a browser on a machine the mapping does not admit cannot
// drive what its OSC could not. A reload that admits it lets it in.
func TestSendObeysAllow(t *testing.T) {
	const outputs = "outputs:\n  - {name: led, pin: GPIO17, address: /led}\n"
	b := bridgeOf(t, "allow: [10.0.0.0/8]\n"+outputs)
	_, ts := newServer(t, b, Options{Control: true})
	code, body := post(t, ts, `{"address": "/led", "args": [1]}`, nil)
	if code != http.StatusForbidden || !strings.Contains(body, "allow") {
		t.Errorf("POST from 127.0.0.1 with allow: [10.0.0.0/8]: %d %s, want 403 naming allow", code, body)
	}
	if p := point(b, "led"); p.Value != 0 {
		t.Errorf("led %v after a POST the allow list refuses", p.Value)
	}

	cfg, err := config.Parse("mapping.yaml", []byte("allow: [127.0.0.1]\n"+outputs))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if code, body := post(t, ts, `{"address": "/led", "args": [1]}`, nil); code != 200 || point(b, "led").Value != 1 {
		t.Errorf("POST from 127.0.0.1 with allow: [127.0.0.1]: %d %s, led %v", code, body, point(b, "led").Value)
	}
}

// The POST obeys the mapping's rate_limit per client address, as UDP does:
// beyond the burst it answers 429 and the message is not handled.
func TestSendObeysRateLimit(t *testing.T) {
	b := bridgeOf(t, "rate_limit: {rate: 0.1, burst: 2}\noutputs:\n  - {name: led, pin: GPIO17, address: /led}\n")
	_, ts := newServer(t, b, Options{Control: true})
	var codes []int
	for i := range 5 {
		code, _ := post(t, ts, fmt.Sprintf(`{"address": "/led", "args": [%d]}`, i%2), nil)
		codes = append(codes, code)
	}
	if fmt.Sprint(codes) != "[200 200 429 429 429]" {
		t.Errorf("5 POSTs with rate_limit {rate: 0.1, burst: 2}: %v, want [200 200 429 429 429]", codes)
	}
	if p := point(b, "led"); p.Value != 1 {
		t.Errorf("led %v: want 1, from the second POST, the last one let through", p.Value)
	}
}

// A flood of messages beyond what the log formats costs the streams no
// work per message: the lines not formatted are only counted, and the count
// goes out with the stream's next event (a line, a change, at the latest the
// next second's counters). Before, every one woke each stream, and a stream
// busy writing went on writing one {"dropped":N} event after another for as
// long as the flood lasted (and the page drew a line for each).
func TestFloodDoesNotWakeStreamsPerMessage(t *testing.T) {
	b := newBridge(t)
	_, ts := newServer(t, b, Options{Control: true})
	ch := stream(t, ts)
	next(t, ch, "state")
	m := osc.NewMessage("/nothing/here")
	m.Append(int32(1))
	// 1.5 s: a second's 500 lines wake the stream while the flood goes on.
	const flood = 1500 * time.Millisecond
	n := 0
	for start := time.Now(); time.Since(start) < flood; n++ {
		b.Inject(m, local, nil)
		runtime.Gosched() // as a UDP reader waits on its socket: the streams get to run
	}
	lines, dropped, dropEvents := 0, 0, 0
	for lines+dropped < n {
		e := next(t, ch, "log")
		var l struct {
			Dropped int    `json:"dropped"`
			Addr    string `json:"addr"`
		}
		if err := json.Unmarshal([]byte(e.data), &l); err != nil {
			t.Fatalf("log event %q: %v", e.data, err)
		}
		if l.Dropped > 0 {
			dropped += l.Dropped
			dropEvents++
		} else if l.Addr == "/nothing/here" {
			lines++
		}
	}
	if lines > maxLogRate*3 || lines+dropped != n {
		t.Errorf("%d lines and %d dropped for %d messages", lines, dropped, n)
	}
	// A few a second: with the counters, and with the takes of the lines
	// a full queue held back.
	if dropEvents > 40 {
		t.Errorf("%d messages beyond the log's rate came as %d dropped events: the streams wrote per message", dropped, dropEvents)
	}
}

// A Rebind that comes after Close (a reload still running while the bridge
// stops) serves nothing: it would leave a listener and its goroutine behind
// a server that is closed, and a port taken.
func TestRebindAfterClose(t *testing.T) {
	b := newBridge(t)
	s := New(b, Options{Logger: quiet()})
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	err := s.Rebind("127.0.0.1:0")
	if a := s.Addr(); a != nil {
		t.Cleanup(func() { s.Close() })
		t.Errorf("Rebind after Close serves at %s (err %v)", a, err)
	}
	if err == nil {
		t.Errorf("Rebind after Close: no error")
	}
}

// A reload from 127.0.0.1:P to 0.0.0.0:P (the README's way to put the
// dashboard on the network) moves it, although the new address cannot be
// bound while the server holds the port on loopback: the server lets the
// port go and binds again, as the bridge does for its OSC socket. When the
// new address still cannot be bound, it goes back to the old one.
func TestRebindSamePortOtherInterface(t *testing.T) {
	b := newBridge(t)
	s := New(b, Options{Logger: quiet()})
	t.Cleanup(func() { s.Close() })
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(s.Addr().(*net.TCPAddr).Port)
	get := func(host string) error {
		resp, err := http.Get("http://" + net.JoinHostPort(host, port) + "/oscgpio/ui/state")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s", resp.Status)
		}
		return nil
	}

	// Another program has the port on 127.0.0.2: 0.0.0.0 cannot be had.
	other, err := net.Listen("tcp", net.JoinHostPort("127.0.0.2", port))
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	}
	err = s.Rebind(net.JoinHostPort("0.0.0.0", port))
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:"+port) {
		t.Errorf("Rebind to a port another program holds on 127.0.0.2: %v, want an error saying it stays at 127.0.0.1:%s", err, port)
	}
	if err := get("127.0.0.1"); err != nil {
		t.Errorf("after a failed move the old address does not answer: %v", err)
	}
	other.Close()

	if err := s.Rebind(net.JoinHostPort("0.0.0.0", port)); err != nil {
		t.Fatalf("Rebind 127.0.0.1:%s -> 0.0.0.0:%s: %v", port, port, err)
	}
	if a := s.Addr().(*net.TCPAddr); !a.IP.IsUnspecified() || strconv.Itoa(a.Port) != port {
		t.Errorf("after the move the server listens at %s", a)
	}
	for _, host := range []string{"127.0.0.1", "127.0.0.2"} {
		if err := get(host); err != nil {
			t.Errorf("after the move to 0.0.0.0, %s does not answer: %v", host, err)
		}
	}
}

// A flood of changes to one point does not wake the hub per change: only
// a point's first change since it was last sent does; the 30-a-second
// limit's timer sends the rest. Before, each change woke the hub's
// goroutine, which with the bridge on one processor (run's GOMAXPROCS=1)
// took turns with the OSC reader: an open page cut the bridge's rate of
// changes by about three.
func TestChangeFloodDoesNotWakeHubPerChange(t *testing.T) {
	b := newBridge(t)
	s, ts := newServer(t, b, Options{Control: true})
	ch := stream(t, ts)
	next(t, ch, "state")
	const n = 5000
	before := s.hub.flushes.Load()
	start := time.Now()
	for i := range n {
		m := osc.NewMessage("/dimmer")
		m.Append(float32(i % 128))
		b.Inject(m, local, nil)
		runtime.Gosched() // as a UDP reader waits on its socket: the hub gets to run
	}
	took := time.Since(start)
	woke := s.hub.flushes.Load() - before
	// 30 a second for as long as the flood lasted, and a few more.
	if limit := uint64(took.Seconds()*30) + 20; woke > limit {
		t.Errorf("%d changes in %v woke the hub %d times, want at most %d", n, took, woke, limit)
	}
	e := next(t, ch, "change")
	if !strings.Contains(e.data, `"name":"dimmer"`) {
		t.Errorf("change event %s, want the dimmer's", e.data)
	}
}

// Lines only counted (beyond the log's rate, or a full queue) neither wake
// a stream nor make it write: the count goes with its next event.
func TestDroppedAloneIsNotWritten(t *testing.T) {
	c := &client{wake: make(chan struct{}, 1), changes: map[string][]byte{}}
	for range 100 {
		c.addLog(nil, 256)
	}
	select {
	case <-c.wake:
		t.Error("lines only counted woke the stream")
	default:
	}
	var buf bytes.Buffer
	if c.take(&buf) {
		t.Errorf("the stream writes %q for lines only counted", buf.String())
	}
	c.addLog([]byte(`{"addr":"/x"}`), 256)
	buf.Reset()
	if !c.take(&buf) || !strings.Contains(buf.String(), `data: {"dropped":100}`) || !strings.Contains(buf.String(), `data: {"addr":"/x"}`) {
		t.Errorf("with a line to send: %q, want the line and the count", buf.String())
	}
}
