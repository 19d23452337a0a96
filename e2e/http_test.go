package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// One port, two audiences, on the running binary (whose start line gives the
// dashboard's URL): a browser asking for / gets
// the dashboard, every other request the OSCQuery JSON; ?HOST_INFO names the
// bridge's OSC port, also in the "GET ?HOST_INFO" form some clients send; a
// value sent over UDP is read back over HTTP; the wiring drawing is served.
func TestHTTPServesPageAndOSCQuery(t *testing.T) {
	bridge := runBridge(t, "--config", writeMapping(t, jumperMapping, freePort(t)), "--http", "127.0.0.1:0")
	m := dashboardURL.FindStringSubmatch(strings.Join(bridge.matching(`msg=dashboard url=`), "\n"))
	if m == nil {
		t.Fatalf("no dashboard url= in the log")
	}
	if n := len(bridge.matching(`msg="oscgpio listening" .* dashboard=` + regexp.QuoteMeta(m[1]) + `$`)); n != 1 {
		t.Errorf("the start line does not end with dashboard=%s", m[1])
	}
	base := strings.TrimSuffix(m[1], "/")
	get := func(path, accept string) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
	}

	// What Chromium and Firefox send for a page.
	code, typ, body := get("/", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	if code != 200 || !strings.HasPrefix(typ, "text/html") || !strings.Contains(body, "<html") {
		t.Errorf("a browser's GET /: %d %s %.80q", code, typ, body)
	}
	code, typ, body = get("/", "")
	var root struct {
		FullPath string                     `json:"FULL_PATH"`
		Contents map[string]json.RawMessage `json:"CONTENTS"`
	}
	if code != 200 || !strings.HasPrefix(typ, "application/json") || json.Unmarshal([]byte(body), &root) != nil ||
		root.FullPath != "/" || root.Contents["led"] == nil || root.Contents["relay"] == nil || root.Contents["button"] == nil {
		t.Errorf("GET / without Accept: %d %s %.200q", code, typ, body)
	}

	oscsend(t, bridge.port, "/led", "i", "1")
	deadline := time.Now().Add(wait)
	for {
		if _, _, body = get("/led?VALUE", ""); body == `{"VALUE":[true]}` {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /led?VALUE after /led 1 = %q", body)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if code, _, _ := get("/nothing/here", ""); code != 404 {
		t.Errorf("GET /nothing/here = %d, want 404", code)
	}
	if code, _, _ := get("/led?NOTANATTRIBUTE", ""); code != 400 {
		t.Errorf("GET /led?NOTANATTRIBUTE = %d, want 400", code)
	}

	// The request line "GET ?HOST_INFO", written by hand.
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	fmt.Fprintf(c, "GET ?HOST_INFO HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", strings.TrimPrefix(base, "http://"))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Port      int             `json:"OSC_PORT"`
		Transport string          `json:"OSC_TRANSPORT"`
		Ext       map[string]bool `json:"EXTENSIONS"`
	}
	err = json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if resp.StatusCode != 200 || err != nil || info.Port != bridge.port || info.Transport != "UDP" || !info.Ext["LISTEN"] {
		t.Errorf("GET ?HOST_INFO: %d %+v %v, want OSC_PORT %d", resp.StatusCode, info, err, bridge.port)
	}

	code, typ, body = get("/oscgpio/ui/wiring.svg", "")
	if code != 200 || typ != "image/svg+xml" || !strings.Contains(body, "GPIO17") {
		t.Errorf("wiring.svg: %d %s %.80q", code, typ, body)
	}
}

// Clients others wrote (e2e/oscquery/client.mjs: the npm oscquery and ws
// packages, osc.js) against the running binary's own HTTP server: the
// namespace and HOST_INFO, then a WebSocket that LISTENs to /led, gets the
// frame of a UDP /led 1, and drives /relay with binary OSC.
func TestOSCQueryNodeClientOnBridge(t *testing.T) {
	node := need(t, "node", "nodejs")
	if _, err := os.Stat("oscquery/node_modules/oscquery/package.json"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the npm oscquery package is not installed in e2e/oscquery: scripts/test runs npm ci there (%v)", err)
		}
		t.Skipf("the npm oscquery package is not installed: (cd e2e/oscquery && npm ci --omit=optional --ignore-scripts), or run scripts/test")
	}
	bridge := runBridge(t, "--config", writeMapping(t, jumperMapping, freePort(t)), "--http", "127.0.0.1:0")
	m := dashboardURL.FindStringSubmatch(strings.Join(bridge.matching(`msg=dashboard url=`), "\n"))
	if m == nil {
		t.Fatalf("no dashboard url= in the log")
	}
	u, err := url.Parse(m[1])
	if err != nil {
		t.Fatal(err)
	}
	client := start(t, node, "oscquery/client.mjs", u.Hostname(), u.Port(), "/led", "/relay")
	client.waitFor(fmt.Sprintf(`^host ".*" %d LISTEN=true$`, bridge.port), 0)
	client.waitFor(`^method /relay T 3 false$`, 0)
	client.waitFor(`^listening$`, 0)
	oscsend(t, bridge.port, "/led", "i", "1")
	client.waitFor(`^frame /led T true$`, 0)
	client.waitFor(`^sent /relay$`, 0)
	if code := client.exitCode(); code != 0 {
		t.Fatalf("the client exited %d", code)
	}
	deadline := time.Now().Add(wait)
	for {
		resp, err := http.Get(strings.TrimSuffix(m[1], "/") + "/relay?VALUE")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) == `{"VALUE":[true]}` {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /relay?VALUE after the WebSocket drove it: %q", body)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
