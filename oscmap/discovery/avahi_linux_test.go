package discovery_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/oscgpio/oscgpio/oscmap/discovery"
)

// A mapping listening on 127.0.0.1:%d with one output, /led.
const mapping = `listen: 127.0.0.1:%d
outputs:
  - {name: led, pin: GPIO17, address: /led}
`

var listening = regexp.MustCompile(`msg="oscgpio listening" addr=127\.0\.0\.1:([0-9]+) `)

// notAdvertised is the one warning of a bridge that cannot be advertised.
const notAdvertised = `level=WARN msg="not advertised on the network`

// TestAvahi runs the real oscgpio binary, dbus-daemon, avahi-daemon and
// avahi-browse in namespaces of their own (see inNamespaces), in this order:
// with no system bus, then with a bus but no Avahi, the bridge warns once
// and works; Avahi starting late gets the bridge advertised; a reload that
// changes the port renews it; Avahi restarting (with a reload while it is
// away), or changing its host name, gets it back; SIGTERM withdraws it;
// --no-advertise advertises nothing; with the dashboard, _oscjson._tcp is
// advertised at its port, and on loopback only when the dashboard listens
// there while OSC listens on every interface (a veth pair, lan0, stands for
// the LAN). Then the package API: _oscjson._tcp with an HTTP port, Update
// and Close, a name collision, a name over 63 bytes (cut to fit), and a
// stopped (SIGSTOP) avahi-daemon that Close waits for about 2 s, once. Then
// a bridge that outlives avahi-daemon makes no call that would have the bus
// start it. Last, the system bus going away leaves no go-avahi goroutine
// running.
func TestAvahi(t *testing.T) {
	if !inNamespaces(t) {
		return
	}
	bin := os.Getenv(binEnv)
	setUpNamespace(t)
	host, _ := os.Hostname()
	name := "oscgpio on " + host

	t.Run("no system bus: one warning, OSC works", func(t *testing.T) {
		b := start(t, bin, "run", "--gpio", "sim", "--listen", "127.0.0.1:0", "--http", "off")
		_, m := b.waitFor(listening.String(), 0)
		port, _ := strconv.Atoi(m[1])
		b.waitFor(notAdvertised+`[^"]*there is no D-Bus system bus`, 0)
		oscWorks(t, port)
		if code := b.stop(syscall.SIGTERM); code != 0 {
			t.Fatalf("exit code %d after SIGTERM, want 0", code)
		}
		if n := b.count(`level=WARN`); n != 1 {
			t.Errorf("%d warnings, want 1", n)
		}
	})

	bus := startBus(t)
	file := filepath.Join(t.TempDir(), "mapping.yaml")
	writeFile(t, file, fmt.Sprintf(mapping, freePort(t)))
	b := start(t, bin, "run", "--gpio", "sim", "--config", file, "--http", "off")
	_, m := b.waitFor(listening.String(), 0)
	port, _ := strconv.Atoi(m[1])
	// The steps below share the bridge and the daemons, so they are steps of
	// this test, not subtests.
	t.Log("no avahi-daemon: one warning, OSC works; advertised once it starts")
	b.waitFor(notAdvertised+`[^"]*avahi-daemon is not running`, 0)
	oscWorks(t, port)
	avahiD := startAvahi(t)
	b.waitFor(`msg="advertised on the network" name="`+regexp.QuoteMeta(name)+`" _osc._udp=`+strconv.Itoa(port), 0)
	es := waitBrowse(t, "_osc._udp", func(es []entry) bool { return len(named(es, name)) > 0 })
	if e := named(es, name); len(e) != 1 || e[0].Port != port || e[0].TXT != `"txtvers=1"` || e[0].Iface != "lo" || e[0].Addr != "127.0.0.1" {
		t.Fatalf("avahi-browse _osc._udp found %v, want one %q on lo at 127.0.0.1:%d with TXT \"txtvers=1\"", es, name, port)
	}
	if es := browse(t, "_oscjson._tcp"); len(named(es, name)) != 0 {
		t.Errorf("_oscjson._tcp advertised with no HTTP server: %v", es)
	}

	t.Log("a reload that changes the port renews it")
	newPort := freePort(t)
	writeFile(t, file, fmt.Sprintf(mapping, newPort))
	from := len(b.snapshot())
	b.cmd.Process.Signal(syscall.SIGHUP)
	b.waitFor(`msg="advertised on the network" name="`+regexp.QuoteMeta(name)+`" _osc._udp=`+strconv.Itoa(newPort), from)
	waitBrowse(t, "_osc._udp", func(es []entry) bool {
		e := named(es, name)
		return len(e) == 1 && e[0].Port == newPort
	})
	oscWorks(t, newPort)
	port = newPort

	t.Log("avahi-daemon restarting, and a reload while it is away: advertised again, at the new port")
	from = len(b.snapshot())
	if code := avahiD.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("avahi-daemon exit code %d", code)
	}
	b.waitFor(`avahi-daemon stopped`, from)
	newPort = freePort(t)
	writeFile(t, file, fmt.Sprintf(mapping, newPort))
	b.cmd.Process.Signal(syscall.SIGHUP)
	b.waitFor(`msg="mapping reloaded"`, from)
	port = newPort
	noActivation(t)
	avahiD = startAvahi(t)
	b.waitFor(`msg="advertised on the network" name="`+regexp.QuoteMeta(name)+`" _osc._udp=`+strconv.Itoa(port), from)
	waitBrowse(t, "_osc._udp", func(es []entry) bool {
		e := named(es, name)
		return len(e) == 1 && e[0].Port == port
	})

	t.Log("Avahi's host name changes: advertised again, on the new host name")
	from = len(b.snapshot())
	setHostName(t, "stage-pi")
	b.waitFor(`msg="advertised on the network" name="`+regexp.QuoteMeta(name)+`" _osc._udp=`+strconv.Itoa(port), from)
	waitBrowse(t, "_osc._udp", func(es []entry) bool {
		e := named(es, name)
		return len(e) == 1 && e[0].Port == port && e[0].Host == "stage-pi.local"
	})

	t.Log("SIGTERM withdraws it")
	from = len(b.snapshot())
	if code := b.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	b.waitFor(`msg="no longer advertised on the network"`, from)
	waitBrowse(t, "_osc._udp", func(es []entry) bool { return len(named(es, name)) == 0 })
	if n := b.count(`level=WARN`); n != 1 {
		t.Errorf("%d warnings, want 1 (no avahi-daemon at the start)", n)
	}

	t.Log("--no-advertise: nothing advertised, nothing said above debug")
	quiet := start(t, bin, "run", "--gpio", "sim", "--listen", "127.0.0.1:0", "--no-advertise", "--log-level", "debug", "--http", "off")
	_, m = quiet.waitFor(listening.String(), 0)
	port, _ = strconv.Atoi(m[1])
	quiet.waitFor(`level=DEBUG msg="not advertised on the network \(--no-advertise\)"`, 0)
	oscWorks(t, port)
	if code := quiet.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	if n := quiet.count(`advertis`); n != 1 {
		t.Errorf("%d lines about advertising with --no-advertise, want 1 (the debug line)", n)
	}
	if es := browse(t, "_osc._udp"); len(named(es, name)) != 0 {
		t.Errorf("advertised with --no-advertise: %v", es)
	}

	t.Log("with the dashboard: _oscjson._tcp at its port, found by the npm oscquery client's own discovery")
	web := start(t, bin, "run", "--gpio", "sim", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0")
	_, m = web.waitFor(listening.String(), 0)
	port, _ = strconv.Atoi(m[1])
	_, u := web.waitFor(`msg=dashboard url=http://127\.0\.0\.1:([0-9]+)/`, 0)
	httpPort, _ := strconv.Atoi(u[1])
	web.waitFor(`msg="advertised on the network" name="`+regexp.QuoteMeta(name)+`" _osc._udp=`+strconv.Itoa(port)+` _oscjson._tcp=`+strconv.Itoa(httpPort), 0)
	js := named(waitBrowse(t, "_oscjson._tcp", func(es []entry) bool { return len(named(es, name)) == 1 }), name)
	if js[0].Port != httpPort || js[0].TXT != `"txtvers=1"` {
		t.Errorf("_oscjson._tcp: %v, want port %d, TXT \"txtvers=1\"", js, httpPort)
	}
	npmDiscovers(t, name, httpPort, port)
	if code := web.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}

	t.Log("OSC on 0.0.0.0 with the dashboard on 127.0.0.1: _osc._udp on the LAN too, _oscjson._tcp on loopback only")
	lan := addLAN(t)
	avahiD.waitFor(`New relevant interface `+lan+`\.IPv4`, 0)
	wide := start(t, bin, "run", "--gpio", "sim", "--listen", "0.0.0.0:0", "--http", "127.0.0.1:0")
	_, m = wide.waitFor(`msg="oscgpio listening" addr=(?:0\.0\.0\.0|\[::\]):([0-9]+) `, 0)
	port, _ = strconv.Atoi(m[1])
	wide.waitFor(`msg="advertised on the network" name="`+regexp.QuoteMeta(name)+`" _osc._udp=`+strconv.Itoa(port)+` _oscjson._tcp=`, 0)
	waitBrowse(t, "_osc._udp", func(es []entry) bool {
		e := named(es, name)
		return len(e) == 2 && e[0].Iface != e[1].Iface && e[0].Port == port
	})
	js = named(waitBrowse(t, "_oscjson._tcp", func(es []entry) bool { return len(named(es, name)) > 0 }), name)
	for _, e := range js {
		if e.Iface != "lo" {
			t.Errorf("_oscjson._tcp of a dashboard on 127.0.0.1 advertised on %s: %v", e.Iface, js)
		}
	}
	if code := wide.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	waitBrowse(t, "_osc._udp", func(es []entry) bool { return len(named(es, name)) == 0 })

	noActivation(t)

	t.Run("API: _oscjson._tcp on the HTTP port, Update, Close", func(t *testing.T) {
		log, lines := captureLog()
		const api = "oscgpio API test"
		a := discovery.Advertise(context.Background(), discovery.Service{Name: api, OSCPort: 5005, HTTPPort: 5006, Listen: netip.MustParseAddr("127.0.0.1")}, log)
		defer a.Close()
		lines.waitFor(t, `msg="advertised on the network" name="oscgpio API test" _osc._udp=5005 _oscjson._tcp=5006`)
		json := named(waitBrowse(t, "_oscjson._tcp", func(es []entry) bool { return len(named(es, api)) == 1 }), api)
		if json[0].Port != 5006 || json[0].TXT != `"txtvers=1"` {
			t.Errorf("_oscjson._tcp: %v, want port 5006, TXT \"txtvers=1\"", json)
		}
		if udp := named(browse(t, "_osc._udp"), api); len(udp) != 1 || udp[0].Port != 5005 {
			t.Errorf("_osc._udp: %v, want one at port 5005", udp)
		}

		a.Update(discovery.Service{Name: api, OSCPort: 5007, Listen: netip.MustParseAddr("127.0.0.1")})
		lines.waitFor(t, `msg="advertised on the network" name="oscgpio API test" _osc._udp=5007"?$`)
		waitBrowse(t, "_oscjson._tcp", func(es []entry) bool { return len(named(es, api)) == 0 })
		waitBrowse(t, "_osc._udp", func(es []entry) bool { e := named(es, api); return len(e) == 1 && e[0].Port == 5007 })

		a.Close()
		lines.waitFor(t, `msg="no longer advertised on the network"`)
		waitBrowse(t, "_osc._udp", func(es []entry) bool { return len(named(es, api)) == 0 })
		if n := lines.count(`level=WARN`); n != 0 {
			t.Errorf("%d warnings, want none:\n%s", n, strings.Join(lines.all(), "\n"))
		}
	})

	t.Run("API: a name in use is renamed the Avahi way", func(t *testing.T) {
		const dup = "oscgpio dup"
		s := discovery.Service{Name: dup, OSCPort: 5010, Listen: netip.MustParseAddr("127.0.0.1")}
		log1, lines1 := captureLog()
		a1 := discovery.Advertise(context.Background(), s, log1)
		defer a1.Close()
		lines1.waitFor(t, `msg="advertised on the network" name="oscgpio dup"`)
		s.OSCPort = 5011
		log2, lines2 := captureLog()
		a2 := discovery.Advertise(context.Background(), s, log2)
		defer a2.Close()
		lines2.waitFor(t, `level=WARN msg="the name \\"oscgpio dup\\" is in use on the network: the bridge is advertised as \\"oscgpio dup #2\\" instead`)
		lines2.waitFor(t, `msg="advertised on the network" name="oscgpio dup #2" _osc._udp=5011`)
		waitBrowse(t, "_osc._udp", func(es []entry) bool {
			a, b := named(es, dup), named(es, dup+" #2")
			return len(a) == 1 && a[0].Port == 5010 && len(b) == 1 && b[0].Port == 5011
		})
	})

	t.Run("API: a name longer than a DNS label is cut to 63 bytes", func(t *testing.T) {
		long := "oscgpio on " + strings.Repeat("h", 53) // a 53-character host name: 64 bytes
		log, lines := captureLog()
		a := discovery.Advertise(context.Background(), discovery.Service{Name: long, OSCPort: 5016, Listen: netip.MustParseAddr("127.0.0.1")}, log)
		defer a.Close()
		lines.waitFor(t, `msg="advertised on the network" name="`+long[:63]+`"`)
		waitBrowse(t, "_osc._udp", func(es []entry) bool { return len(named(es, long[:63])) == 1 })
	})

	t.Run("API: a hung avahi-daemon holds up neither Update nor Close", func(t *testing.T) {
		log, lines := captureLog()
		s := discovery.Service{Name: "oscgpio hung", OSCPort: 5013, Listen: netip.MustParseAddr("127.0.0.1")}
		a := discovery.Advertise(context.Background(), s, log)
		lines.waitFor(t, `msg="advertised on the network" name="oscgpio hung"`)
		if err := avahiD.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		defer avahiD.cmd.Process.Signal(syscall.SIGCONT)
		s.OSCPort = 5014
		a.Update(s) // its Reset call waits for the stopped daemon
		s.OSCPort = 5015
		a.Update(s)
		began := time.Now()
		a.Close()
		if d := time.Since(began); d > 3*time.Second {
			t.Errorf("Close took %v with avahi-daemon stopped, want about 2 s", d)
		}
		lines.waitFor(t, `level=WARN msg="Avahi did not answer within 2s`)
		began = time.Now()
		a.Close()
		if d := time.Since(began); d > 100*time.Millisecond || lines.count(`did not answer`) != 1 {
			t.Errorf("a second Close took %v and warned again:\n%s", d, strings.Join(lines.all(), "\n"))
		}
		avahiD.cmd.Process.Signal(syscall.SIGCONT)
		waitBrowse(t, "_osc._udp", func(es []entry) bool { return len(named(es, s.Name)) == 0 })
	})

	t.Log("avahi-daemon stops under an advertised bridge, which reloads and exits: no call starts Avahi again")
	b2 := start(t, bin, "run", "--gpio", "sim", "--listen", "127.0.0.1:0")
	b2.waitFor(`msg="advertised on the network"`, 0)
	if code := avahiD.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("avahi-daemon exit code %d", code)
	}
	b2.waitFor(`avahi-daemon stopped`, 0)
	b2.cmd.Process.Signal(syscall.SIGHUP)
	b2.waitFor(`reload asked \(SIGHUP\)`, 0)
	if code := b2.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	noActivation(t)

	t.Log("the system bus goes away under an Advertiser: go-avahi's goroutine ends (it would spin on the closed signal channel), Close returns at once")
	log, lines := captureLog()
	a := discovery.Advertise(context.Background(), discovery.Service{Name: "oscgpio bus test", OSCPort: 5012, Listen: netip.MustParseAddr("127.0.0.1")}, log)
	defer a.Close()
	lines.waitFor(t, `avahi-daemon is not running`)
	if !avahiGoroutine() {
		t.Fatal("no go-avahi goroutine while connected to the bus: this step tests nothing")
	}
	if code := bus.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("dbus-daemon exit code %d", code)
	}
	lines.waitFor(t, `the D-Bus system bus connection closed`)
	for deadline := time.Now().Add(wait); avahiGoroutine(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("go-avahi's signal goroutine still runs %v after the bus closed (spinning on its closed channel)", wait)
		}
	}
	closed := time.Now()
	a.Close()
	if d := time.Since(closed); d > time.Second || lines.count(`did not answer`) != 0 {
		t.Errorf("Close took %v after the bus went away; the log:\n%s", d, strings.Join(lines.all(), "\n"))
	}
}

// avahiGoroutine reports whether a goroutine of go-avahi runs.
func avahiGoroutine() bool {
	buf := make([]byte, 1<<20)
	return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "holoplot/go-avahi.ServerNew")
}

// setHostName renames the host in Avahi (org.freedesktop.Avahi.Server.SetHostName),
// as Avahi does itself when another host on the network has the same name.
func setHostName(t *testing.T, name string) {
	t.Helper()
	conn, err := dbus.ConnectSystemBus()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Object("org.freedesktop.Avahi", "/").Call("org.freedesktop.Avahi.Server.SetHostName", 0, name).Err; err != nil {
		t.Fatalf("SetHostName %q: %v", name, err)
	}
}

// captureLog is a logger whose text lines the test can wait for.
func captureLog() (*slog.Logger, *logLines) {
	l := &logLines{more: make(chan struct{})}
	return slog.New(slog.NewTextHandler(l, nil)), l
}

type logLines struct {
	mu    sync.Mutex
	lines []string
	more  chan struct{}
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, strings.TrimRight(string(p), "\n"))
	close(l.more)
	l.more = make(chan struct{})
	return len(p), nil
}

func (l *logLines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func (l *logLines) count(re string) int {
	rx := regexp.MustCompile(re)
	n := 0
	for _, s := range l.all() {
		if rx.MatchString(s) {
			n++
		}
	}
	return n
}

func (l *logLines) waitFor(t *testing.T, re string) {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(wait)
	for {
		l.mu.Lock()
		more := l.more
		for _, s := range l.lines {
			if rx.MatchString(s) {
				l.mu.Unlock()
				return
			}
		}
		l.mu.Unlock()
		select {
		case <-more:
		case <-deadline:
			t.Fatalf("no log line matching %q within %v; the log:\n%s", re, wait, strings.Join(l.all(), "\n"))
		}
	}
}

func writeFile(t *testing.T, name, s string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// freePort is a UDP port on 127.0.0.1 that was free a moment ago (a mapping
// names its listen port; the reload must change it).
func freePort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// npmDiscovers runs the npm oscquery package's own discovery
// (e2e/oscquery/discover.mjs: bonjour-service over multicast on this
// namespace's loopback) and checks it finds the service called name at
// httpPort, with HOST_INFO's OSC_PORT oscPort. Without node or the npm
// packages it fails under CI=true and skips elsewhere.
func npmDiscovers(t *testing.T, name string, httpPort, oscPort int) {
	t.Helper()
	script, _ := filepath.Abs(filepath.Join("..", "..", "e2e", "oscquery", "discover.mjs"))
	mod := filepath.Join(filepath.Dir(script), "node_modules", "oscquery", "package.json")
	if _, err := exec.LookPath("node"); err != nil || !fileExists(mod) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node or e2e/oscquery's npm packages are missing (scripts/test installs them): %v", err)
		}
		t.Log("node or e2e/oscquery/node_modules missing: the npm discovery is not tried")
		return
	}
	out, err := exec.Command("node", script, name).CombinedOutput()
	want := fmt.Sprintf("found 127.0.0.1 %d %d", httpPort, oscPort)
	if err != nil || !strings.Contains(string(out), want) {
		t.Errorf("node discover.mjs: %v, want a line %q:\n%s", err, want, out)
	}
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}
