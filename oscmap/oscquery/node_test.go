package oscquery

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hypebeast/go-osc/osc"
	pgpio "periph.io/x/conn/v3/gpio"
)

// nodeDir is the node project of the clients (package.json, client.mjs).
const nodeDir = "../../e2e/oscquery"

// needNode returns node's path, failing under CI=true and skipping
// elsewhere when node or the npm packages are missing (scripts/test runs
// npm ci in e2e/oscquery).
func needNode(t *testing.T) string {
	t.Helper()
	missing := func(what string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s; scripts/test installs it", what)
		}
		t.Skipf("%s: (cd e2e/oscquery && npm ci --omit=optional --ignore-scripts), or run scripts/test", what)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed (Debian package nodejs)")
	}
	for _, pkg := range []string{"oscquery", "ws", "osc"} {
		if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", pkg, "package.json")); err != nil {
			missing(fmt.Sprintf("the npm package %s is not installed in e2e/oscquery (%v)", pkg, err))
		}
	}
	return node
}

// lines collects a program's output lines.
type lines struct {
	mu   sync.Mutex
	all  []string
	more chan struct{}
}

func (l *lines) add(s string) {
	l.mu.Lock()
	l.all = append(l.all, s)
	l.mu.Unlock()
	select {
	case l.more <- struct{}{}:
	default:
	}
}

// waitFor waits for a line matching re and returns it.
func (l *lines) waitFor(t *testing.T, re string) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(15 * time.Second)
	for {
		l.mu.Lock()
		for _, s := range l.all {
			if rx.MatchString(s) {
				l.mu.Unlock()
				return s
			}
		}
		got := append([]string(nil), l.all...)
		l.mu.Unlock()
		select {
		case <-l.more:
		case <-deadline:
			t.Fatalf("no line matching %q; the client printed:\n%s", re, strings.Join(got, "\n"))
		}
	}
}

// TestNodeClients runs clients others wrote (e2e/oscquery/client.mjs): the
// npm oscquery package reads HOST_INFO and the namespace; the npm ws package
// LISTENs to /led, gets the frame of a UDP /led 1 decoded by osc.js, and
// drives /stage/relay with binary OSC.
func TestNodeClients(t *testing.T) {
	node := needNode(t)
	e := start(t, loadMapping(t, "testdata/mapping.yaml"), Options{Name: "oscgpio on node-test"})
	host, port, _ := net.SplitHostPort(e.http.Listener.Addr().String())
	_, oscPort, _ := net.SplitHostPort(e.b.Addr().String())
	cmd := exec.Command(node, "client.mjs", host, port, "/led", "/stage/relay")
	cmd.Dir = nodeDir
	out := &lines{more: make(chan struct{}, 1)}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			out.add(sc.Text())
		}
		done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})

	out.waitFor(t, fmt.Sprintf(`^host "oscgpio on node-test" %s LISTEN=true$`, oscPort))
	for _, re := range []string{
		`^method /led T 3 false$`,
		`^method /test T 3 false$`,
		`^method /led/pulse N 2`,
		`^method /led/toggle N 2`,
		`^method /stage/dimmer f 3 0$`,
		`^method /stage/dimmer/fade ff 2`,
		`^method /arm f 3 90$`,
		`^method /button T 1 false$`,
		`^method /button/hold T 1 false$`,
		`^method /visits i 1 0$`,
		`^method /volume f 1 0$`,
		`^method /oscgpio/heartbeat N 2`,
	} {
		out.waitFor(t, re)
	}
	out.waitFor(t, `^listening$`)
	e.udp(t, osc.NewMessage("/led", int32(1)))
	out.waitFor(t, `^frame /led T true$`)
	out.waitFor(t, `^sent /stage/relay$`)
	e.waitLevel(t, "GPIO22", pgpio.Low) // active low: on
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Fatalf("the client exited: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the client did not exit")
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	if n := strings.Count(strings.Join(out.all, "\n"), "frame /led"); n != 1 {
		t.Errorf("%d frames for /led, want 1:\n%s", n, strings.Join(out.all, "\n"))
	}
}
