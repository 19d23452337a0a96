package discovery_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/oscmap/codec"
)

// The discovery test runs real peers (dbus-daemon, avahi-daemon,
// avahi-browse and the oscgpio binary) in network, mount and PID namespaces
// of its own: the test binary runs itself again under unshare, and the copy
// inside (nsEnv set) does the work. Its loopback interface, with multicast
// on, is the only network until a step adds lan0 (addLAN); a tmpfs on /run
// holds the private system bus and Avahi's runtime directory; when the copy
// inside exits, the kernel kills whatever it left running in its PID
// namespace.
const (
	nsEnv  = "OSCGPIO_DISCOVERY_NETNS" // set inside the namespaces
	binEnv = "OSCGPIO_DISCOVERY_BIN"   // the oscgpio binary built outside
)

// wait bounds any one step; it is not a speed target.
const wait = 15 * time.Second

// need returns the path of a peer program, or stops the test: it fails under
// CI=true (scripts/test installs the peers) and is skipped elsewhere.
func need(t *testing.T, name, pkg string) string {
	t.Helper()
	if p, err := findProg(name); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed (Debian package %s); scripts/test installs it", name, pkg)
	}
	t.Skipf("%s is not installed (apt-get install -y %s, or run scripts/test)", name, pkg)
	return ""
}

// findProg looks for a program in PATH, then in /usr/sbin and /sbin (not in
// a user's PATH on Debian).
func findProg(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if p, err2 := exec.LookPath(filepath.Join(dir, name)); err2 == nil {
			return p, nil
		}
	}
	return "", err
}

// inNamespaces runs the calling test again inside new network, mount and PID
// namespaces and reports its output; it returns true when the caller is
// already the copy inside and should do the work.
//
// It needs root: avahi-daemon chowns its runtime directory to the avahi
// user, which an unprivileged user namespace (unshare -r) cannot map, so
// there avahi-daemon exits with "Failed to create runtime directory".
func inNamespaces(t *testing.T) bool {
	t.Helper()
	if os.Getenv(nsEnv) == "1" {
		return true
	}
	unshare := need(t, "unshare", "util-linux")
	need(t, "dbus-daemon", "dbus")
	need(t, "avahi-daemon", "avahi-daemon")
	need(t, "avahi-browse", "avahi-utils")
	if os.Geteuid() != 0 {
		msg := "the discovery test needs root: avahi-daemon chowns /run/avahi-daemon to the avahi user, which an unprivileged user namespace cannot map"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI runs scripts/test as root)")
		}
		t.Skip(msg)
	}
	bin := filepath.Join(t.TempDir(), "oscgpio")
	build := exec.Command("go", "build", "-o", bin, "github.com/oscgpio/oscgpio/cmd/oscgpio")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building oscgpio: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, unshare, "--net", "--mount", "--pid", "--fork", "--kill-child", "--propagation", "private",
		os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1", "-test.timeout=110s")
	cmd.Env = append(os.Environ(), nsEnv+"=1", binEnv+"="+bin)
	out, err := cmd.CombinedOutput()
	if err != nil || testing.Verbose() {
		t.Logf("inside the namespaces (unshare --net --mount --pid):\n%s", out)
	}
	if err != nil {
		t.Fatalf("the test inside the namespaces failed: %v", err)
	}
	return false
}

// setUpNamespace brings the loopback interface up with multicast on (mDNS
// needs it; lo has no MULTICAST flag by default), mounts a tmpfs on /run and
// points the system bus there.
func setUpNamespace(t *testing.T) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	var req struct {
		name  [16]byte
		flags uint16
		_     [22]byte
	}
	copy(req.name[:], "lo")
	ioctl := func(op uintptr) {
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), op, uintptr(unsafe.Pointer(&req))); e != 0 {
			t.Fatalf("ioctl %#x on lo: %v", op, e)
		}
	}
	ioctl(syscall.SIOCGIFFLAGS)
	req.flags |= syscall.IFF_UP | syscall.IFF_MULTICAST
	ioctl(syscall.SIOCSIFFLAGS)

	if err := syscall.Mount("tmpfs", "/run", "tmpfs", 0, "mode=0755"); err != nil {
		t.Fatalf("mount a tmpfs on /run: %v", err)
	}
	for _, d := range []string{"/run/dbus", "/run/avahi-daemon"} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/run/dbus/system_bus_socket")
}

const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=/run/dbus/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <servicedir>%s</servicedir>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
`

const avahiConfig = `[server]
use-ipv6=no
allow-interfaces=lo,lan0
enable-dbus=yes
[wide-area]
enable-wide-area=no
[publish]
publish-workstation=no
publish-hinfo=no
`

// activationMark is the file the bus's stand-in for D-Bus activation of
// Avahi creates: a call to org.freedesktop.Avahi while no avahi-daemon runs
// would start the real daemon on a real system.
const activationMark = "/run/avahi-activated"

// startBus starts a private system bus and waits until it listens. Its only
// activatable service is org.freedesktop.Avahi, whose "daemon" only creates
// activationMark (see noActivation).
func startBus(t *testing.T) *proc {
	t.Helper()
	dir := t.TempDir()
	services := filepath.Join(dir, "services")
	if err := os.Mkdir(services, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(services, "org.freedesktop.Avahi.service"),
		"[D-BUS Service]\nName=org.freedesktop.Avahi\nExec=/usr/bin/touch "+activationMark+"\n")
	conf := filepath.Join(dir, "bus.conf")
	writeFile(t, conf, fmt.Sprintf(busConfig, services))
	p := start(t, need(t, "dbus-daemon", "dbus"), "--config-file="+conf, "--nofork", "--nopidfile", "--print-address")
	p.waitFor(`^unix:path=/run/dbus/system_bus_socket`, 0)
	return p
}

// noActivation fails the test if anything asked the bus to start Avahi.
func noActivation(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(activationMark); err == nil {
		t.Errorf("a D-Bus call to org.freedesktop.Avahi was made while no avahi-daemon ran: on a real system the bus would have started it")
	}
}

// startAvahi starts avahi-daemon in the foreground (so that it is the
// test's child, stopped by PID) and waits until it serves.
func startAvahi(t *testing.T) *proc {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "avahi-daemon.conf")
	if err := os.WriteFile(conf, []byte(avahiConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, need(t, "avahi-daemon", "avahi-daemon"), "--no-drop-root", "--no-chroot", "--no-rlimits", "-f", conf)
	p.waitFor(`Server startup complete`, 0)
	return p
}

// proc is a running program whose output lines are collected.
type proc struct {
	t     *testing.T
	name  string
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	more  chan struct{} // closed and replaced when lines grow; nil after exit
	done  chan struct{}
	err   error
}

// start runs a program until it exits or the test ends (then SIGTERM, and
// SIGKILL after 5 s); its output is logged when the test failed.
func start(t *testing.T, path string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: filepath.Base(path), cmd: exec.Command(path, args...), more: make(chan struct{}), done: make(chan struct{})}
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			close(p.more)
			p.more = make(chan struct{})
			p.mu.Unlock()
		}
	}()
	go func() {
		p.err = p.cmd.Wait()
		pw.Close()
		<-scanned // every line is in before waitFor hears of the exit
		p.mu.Lock()
		close(p.more)
		p.more = nil
		p.mu.Unlock()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("--- output of %s:\n%s", p.name, strings.Join(p.snapshot(), "\n"))
		}
	})
	return p
}

func (p *proc) snapshot() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// waitFor waits for a line from index from on that matches re, and returns
// its index and submatches.
func (p *proc) waitFor(re string, from int) (int, []string) {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(wait)
	for {
		p.mu.Lock()
		for i := from; i < len(p.lines); i++ {
			if m := rx.FindStringSubmatch(p.lines[i]); m != nil {
				p.mu.Unlock()
				return i, m
			}
		}
		more := p.more
		p.mu.Unlock()
		if more == nil {
			p.t.Fatalf("%s exited (%v) before printing a line matching %q", p.name, p.err, re)
		}
		select {
		case <-more:
		case <-deadline:
			p.t.Fatalf("%s printed no line matching %q within %v", p.name, re, wait)
		}
	}
}

// count is the number of lines so far that match re.
func (p *proc) count(re string) int {
	rx := regexp.MustCompile(re)
	n := 0
	for _, l := range p.snapshot() {
		if rx.MatchString(l) {
			n++
		}
	}
	return n
}

// stop sends sig, waits for the exit and returns the exit code.
func (p *proc) stop(sig syscall.Signal) int {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %s: %v", p.name, err)
	}
	select {
	case <-p.done:
	case <-time.After(wait):
		p.t.Fatalf("%s did not exit within %v of %v", p.name, wait, sig)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	return 0
}

// entry is one resolved service from avahi-browse -p.
type entry struct {
	Iface, Proto, Name, Type, Host, Addr string
	Port                                 int
	TXT                                  string
}

func (e entry) String() string {
	return fmt.Sprintf("%s %q %s:%d %s (%s %s)", e.Type, e.Name, e.Addr, e.Port, e.TXT, e.Iface, e.Proto)
}

// browse runs avahi-browse -rpt typ and returns the services present at the
// end of its output: a later "-" line (a goodbye seen while it ran) removes
// one listed before.
func browse(t *testing.T, typ string) []entry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	out, err := exec.CommandContext(ctx, "avahi-browse", "-rpt", typ).Output()
	if err != nil {
		t.Fatalf("avahi-browse -rpt %s: %v\n%s", typ, err, out)
	}
	found := map[string]entry{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, ";")
		if len(f) < 6 {
			continue
		}
		key := strings.Join(f[1:6], ";")
		switch f[0] {
		case "=":
			if len(f) < 10 {
				continue
			}
			port, _ := strconv.Atoi(f[8])
			found[key] = entry{Iface: f[1], Proto: f[2], Name: unescape(f[3]), Type: f[4], Host: f[6], Addr: f[7], Port: port, TXT: f[9]}
		case "-":
			delete(found, key)
		}
	}
	var es []entry
	for _, e := range found {
		es = append(es, e)
	}
	sort.Slice(es, func(i, j int) bool { return es[i].String() < es[j].String() })
	return es
}

// unescape undoes avahi-browse's \DDD (decimal) escapes.
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.Atoi(s[i+1 : i+4]); err == nil && n < 256 {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// waitBrowse runs avahi-browse until ok accepts what it finds (the services
// appear after Avahi's probes, and go a second after a goodbye), and returns
// that.
func waitBrowse(t *testing.T, typ string, ok func([]entry) bool) []entry {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		es := browse(t, typ)
		if ok(es) {
			return es
		}
		if time.Now().After(deadline) {
			t.Fatalf("avahi-browse %s: within %v, still %v", typ, wait, es)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// named returns the entries of that instance name.
func named(es []entry, name string) []entry {
	var out []entry
	for _, e := range es {
		if e.Name == name {
			out = append(out, e)
		}
	}
	return out
}

// oscWorks sends /led 1 to the bridge at port, then /oscgpio/get /led, and
// checks that the answer says /led i 1: the bridge receives and sends OSC.
func oscWorks(t *testing.T, port int) {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	for _, m := range []*osc.Message{osc.NewMessage("/led", int32(1)), osc.NewMessage("/oscgpio/get", "/led")} {
		b, err := codec.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.WriteTo(b, to); err != nil {
			t.Fatal(err)
		}
	}
	c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no answer to /oscgpio/get /led from the bridge: %v", err)
	}
	els, err := codec.Decode(buf[:n])
	if err != nil || len(els) != 1 || els[0].Msg == nil {
		t.Fatalf("answer to /oscgpio/get /led: %v %v", els, err)
	}
	if got := codec.Format(els[0].Msg); got != "/led i 1" {
		t.Fatalf("answer to /oscgpio/get /led: %q, want \"/led i 1\"", got)
	}
}
