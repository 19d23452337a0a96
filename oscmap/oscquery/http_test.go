package oscquery

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hypebeast/go-osc/osc"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestNamespaceGolden compares GET / on the test mapping (one point of every
// kind) with testdata/namespace.json, indented; -update rewrites it.
func TestNamespaceGolden(t *testing.T) {
	e := start(t, loadMapping(t, "testdata/mapping.yaml"), Options{})
	code, body := e.get(t, "/")
	if code != http.StatusOK {
		t.Fatalf("GET /: %d %s", code, body)
	}
	var got bytes.Buffer
	if err := json.Indent(&got, body, "", "  "); err != nil {
		t.Fatal(err)
	}
	got.WriteByte('\n')
	golden := filepath.Join("testdata", "namespace.json")
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -run TestNamespaceGolden -update writes it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("GET / differs from %s (go test -update rewrites it if the change is right):\n%s", golden, got.Bytes())
	}
}

// TestNodeShapes walks the whole namespace: every container has CONTENTS,
// every node FULL_PATH (its own path), ACCESS and DESCRIPTION; a node with a
// readable value has VALUE, with one item per type tag.
func TestNodeShapes(t *testing.T) {
	e := start(t, loadMapping(t, "testdata/mapping.yaml"), Options{})
	code, body := e.get(t, "/")
	if code != http.StatusOK {
		t.Fatal(code)
	}
	var root map[string]any
	if err := json.Unmarshal(body, &root); err != nil {
		t.Fatal(err)
	}
	seen := 0
	var walk func(path string, n map[string]any)
	walk = func(path string, n map[string]any) {
		seen++
		if n["FULL_PATH"] != path {
			t.Errorf("%s: FULL_PATH %v", path, n["FULL_PATH"])
		}
		if _, ok := n["ACCESS"]; !ok {
			t.Errorf("%s: no ACCESS", path)
		}
		if d, _ := n["DESCRIPTION"].(string); d == "" {
			t.Errorf("%s: no DESCRIPTION", path)
		}
		typ, _ := n["TYPE"].(string)
		if typ == "" {
			if _, ok := n["CONTENTS"]; !ok {
				t.Errorf("%s: neither a method (TYPE) nor a container (CONTENTS)", path)
			}
			if n["ACCESS"] != 0.0 {
				t.Errorf("%s: a container with ACCESS %v, want 0", path, n["ACCESS"])
			}
		}
		if acc, _ := n["ACCESS"].(float64); int(acc)&accessRead != 0 {
			v, ok := n["VALUE"].([]any)
			if !ok || len(v) != len(typ) {
				t.Errorf("%s: readable %q with VALUE %v", path, typ, n["VALUE"])
			}
		} else if _, ok := n["VALUE"]; ok {
			t.Errorf("%s: not readable but has VALUE %v", path, n["VALUE"])
		}
		if c, ok := n["CONTENTS"].(map[string]any); ok {
			for k, child := range c {
				p := path + "/" + k
				if path == "/" {
					p = "/" + k
				}
				walk(p, child.(map[string]any))
			}
		}
	}
	walk("/", root)
	if seen < 20 {
		t.Errorf("walked %d nodes, want all of them", seen)
	}
}

// TestEmptyRoot: a mapping with nothing in it still has a root with
// CONTENTS (the bridge's own methods).
func TestEmptyContainerHasContents(t *testing.T) {
	tr := newTree()
	j := tr.root.render(nil)
	data, _ := json.Marshal(j)
	if string(data) != `{"FULL_PATH":"/","CONTENTS":{},"ACCESS":0,"DESCRIPTION":"root"}` {
		t.Errorf("empty root: %s", data)
	}
}

// TestAttributes checks each attribute query, and the 400, 204 and 404
// answers.
func TestAttributes(t *testing.T) {
	e := start(t, loadMapping(t, "testdata/mapping.yaml"), Options{})
	for _, c := range []struct {
		path string
		code int
		want string // the body, for 200
	}{
		{"/led?VALUE", 200, `{"VALUE":[false]}`},
		{"/led?TYPE", 200, `{"TYPE":"T"}`},
		{"/led?ACCESS", 200, `{"ACCESS":3}`},
		{"/led?DESCRIPTION", 200, `{"DESCRIPTION":"led"}`},
		{"/led?FULL_PATH", 200, `{"FULL_PATH":"/led"}`},
		{"/led/?FULL_PATH", 200, `{"FULL_PATH":"/led"}`}, // a trailing slash
		{"/led?RANGE", 204, ""},                          // a T has no range
		{"/led?CLIPMODE", 204, ""},
		{"/led/pulse?VALUE", 204, ""}, // write-only
		{"/led/pulse?ACCESS", 200, `{"ACCESS":2}`},
		{"/led/pulse?TYPE", 200, `{"TYPE":"N"}`},
		{"/led/pulse?OVERLOADS", 200, `{"OVERLOADS":[{"TYPE":"f","RANGE":[{"MIN":0.001,"MAX":3600}]}]}`},
		{"/led/pulse?CONTENTS", 204, ""},
		{"/stage?VALUE", 204, ""}, // a container
		{"/stage?TYPE", 204, ""},
		{"/stage?ACCESS", 200, `{"ACCESS":0}`},
		{"/stage/dimmer?RANGE", 200, `{"RANGE":[{"MIN":0,"MAX":127}]}`},
		{"/stage/dimmer?CLIPMODE", 200, `{"CLIPMODE":["both"]}`},
		{"/stage/dimmer?VALUE", 200, `{"VALUE":[0]}`},
		{"/arm?RANGE", 200, `{"RANGE":[{"MIN":0,"MAX":180}]}`}, // range: [180, 0]
		{"/arm?VALUE", 200, `{"VALUE":[90]}`},
		{"/visits?TYPE", 200, `{"TYPE":"i"}`},
		{"/visits?VALUE", 200, `{"VALUE":[0]}`},
		{"/button?ACCESS", 200, `{"ACCESS":1}`},
		{"/button/hold?VALUE", 200, `{"VALUE":[false]}`},
		{"/cutoff?RANGE", 200, `{"RANGE":[{"MIN":0,"MAX":127}]}`},
		{"/led?value", 200, `{"VALUE":[false]}`}, // any case
		{"/led?FOO", 400, ""},
		{"/led?TAGS", 400, ""}, // known to the spec, not supported here
		{"/led?LISTEN=TRUE", 400, ""},
		{"/nope", 404, ""},
		{"/nope?VALUE", 404, ""},
		{"/led/pulse/x", 404, ""},
		{"/ledx", 404, ""},
	} {
		code, body := e.get(t, c.path)
		if code != c.code {
			t.Errorf("GET %s: %d %s, want %d", c.path, code, body, c.code)
			continue
		}
		if c.code == 204 && len(body) != 0 {
			t.Errorf("GET %s: 204 with a body %q", c.path, body)
		}
		if c.want != "" && string(body) != c.want {
			t.Errorf("GET %s: %s, want %s", c.path, body, c.want)
		}
	}
	e.udp(t, osc.NewMessage("/led", int32(1)))
	e.waitPoint(t, "led", 1)
	if _, body := e.get(t, "/test?VALUE"); string(body) != `{"VALUE":[true]}` {
		t.Errorf("after /led 1, /test?VALUE (the same output) = %s", body)
	}
	// The actions are described below the first address only: /test is a
	// plain control (Chataigne shows a node with CONTENTS as a group).
	if code, body := e.get(t, "/test?CONTENTS"); code != http.StatusNoContent {
		t.Errorf("/test?CONTENTS: %d %s, want 204", code, body)
	}
	resp, err := http.Post(e.url+"/led", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /led: %d, want 405", resp.StatusCode)
	}
}

// TestHostInfo asks HOST_INFO on the root, on a node, on an unknown path,
// and with no slash before the '?' on the raw connection.
func TestHostInfo(t *testing.T) {
	e := start(t, loadMapping(t, "testdata/mapping.yaml"), Options{Name: "oscgpio on stage-pi"})
	_, port, _ := net.SplitHostPort(e.b.Addr().String())
	for _, path := range []string{"/?HOST_INFO", "?HOST_INFO", "/led?HOST_INFO", "/nope/x?HOST_INFO", "/stage/?HOST_INFO"} {
		h := e.getJSON(t, path)
		if h["NAME"] != "oscgpio on stage-pi" || fmt.Sprint(h["OSC_PORT"]) != port || h["OSC_TRANSPORT"] != "UDP" || h["OSC_IP"] != "127.0.0.1" {
			t.Errorf("GET %s: %v", path, h)
		}
		ext, _ := h["EXTENSIONS"].(map[string]any)
		for _, k := range []string{"LISTEN", "PATH_CHANGED", "VALUE", "ACCESS", "RANGE", "DESCRIPTION", "CLIPMODE"} {
			if ext[k] != true {
				t.Errorf("GET %s: EXTENSIONS %s = %v, want true", path, k, ext[k])
			}
		}
		for _, k := range []string{"WS_PORT", "WS_IP", "CONTENTS", "FULL_PATH"} {
			if _, ok := h[k]; ok {
				t.Errorf("GET %s: HOST_INFO has %s", path, k)
			}
		}
	}
	// "GET ?HOST_INFO HTTP/1.1", the request line a client may make of
	// http://host:port?HOST_INFO: Listener makes it "/?HOST_INFO".
	for _, target := range []string{"?HOST_INFO", "/?HOST_INFO"} {
		c, err := net.Dial("tcp", e.http.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", target)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		var h map[string]any
		err = json.NewDecoder(resp.Body).Decode(&h)
		c.Close()
		if resp.StatusCode != 200 || err != nil || h["NAME"] != "oscgpio on stage-pi" {
			t.Errorf("raw GET %s: %d %v %v", target, resp.StatusCode, h, err)
		}
	}
}

// TestSubtree: GET of a path is that node and all below it.
func TestSubtree(t *testing.T) {
	e := start(t, loadMapping(t, "testdata/mapping.yaml"), Options{})
	stage := e.getJSON(t, "/stage")
	c, _ := stage["CONTENTS"].(map[string]any)
	var keys []string
	for k := range c {
		keys = append(keys, k)
	}
	if len(keys) != 2 || c["dimmer"] == nil || c["relay"] == nil {
		t.Errorf("GET /stage CONTENTS %v", keys)
	}
	relay := c["relay"].(map[string]any)
	if relay["TYPE"] != "T" || !reflect.DeepEqual(relay["VALUE"], []any{false}) {
		t.Errorf("/stage/relay: %v", relay)
	}
	led := e.getJSON(t, "/led")
	lc, _ := led["CONTENTS"].(map[string]any)
	if led["TYPE"] != "T" || led["ACCESS"] != 3.0 || lc["pulse"] == nil || lc["blink"] == nil || lc["toggle"] == nil {
		t.Errorf("GET /led: %v", led)
	}
	dimmer := e.getJSON(t, "/stage/dimmer/")
	if dc, _ := dimmer["CONTENTS"].(map[string]any); dc["fade"] == nil || dimmer["TYPE"] != "f" {
		t.Errorf("GET /stage/dimmer/: %v", dimmer)
	}
}

// BenchmarkGetRoot is GET / of the test mapping, handler only.
func BenchmarkGetRoot(b *testing.B) {
	e := start(b, loadMapping(b, "testdata/mapping.yaml"), Options{})
	req := httptest.NewRequest("GET", "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// TestPointNotRunning: a point of the mapping that the bridge does not run
// (a reload could not open its pin) is not in the namespace.
func TestPointNotRunning(t *testing.T) {
	cfg := loadMapping(t, "testdata/mapping.yaml")
	live := map[string]bool{}
	for _, o := range cfg.Outputs {
		live[o.Name] = o.Name != "relay"
	}
	for _, in := range cfg.Inputs {
		live[in.Name] = in.Name != "jog"
	}
	tr := buildTree(cfg, live)
	for path, want := range map[string]bool{"/stage/relay": false, "/jog": false, "/stage/dimmer": true, "/led/pulse": true, "/button/hold": true} {
		if got := tr.byPath[path] != nil; got != want {
			t.Errorf("%s in the namespace: %v, want %v", path, got, want)
		}
	}
	if len(tr.byPoint["relay"]) != 0 {
		t.Errorf("relay still has paths: %v", tr.byPoint["relay"])
	}
}
