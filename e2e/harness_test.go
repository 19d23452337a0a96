package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bin is the oscgpio binary built once for the whole package.
var bin string

// wait is how long any step may take before the test gives up. It bounds a
// hang; it is not a speed target.
const wait = 20 * time.Second

func TestMain(m *testing.M) {
	if os.Getenv(envFloodFrom) != "" { // a flooder of the flood tests, in its own process
		os.Exit(floodMain())
	}
	dir, err := os.MkdirTemp("", "oscgpio-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "oscgpio")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "../cmd/oscgpio")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building oscgpio:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// need returns the path of a peer program, or stops the test: it fails under
// CI=true (the test command installs the peers) and is skipped elsewhere.
func need(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed (Debian package %s); scripts/test installs it", name, pkg)
	}
	t.Skipf("%s is not installed (apt-get install -y %s, or run scripts/test)", name, pkg)
	return ""
}

// proc is a running program whose stdout and stderr lines are collected.
type proc struct {
	t     *testing.T
	name  string
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	more  chan struct{} // closed and replaced when lines grow
	done  chan struct{} // closed when the program has exited
	err   error         // its exit error, valid after done
}

// start runs a program for the rest of the test; it is killed at the end and
// its output is shown when the test failed.
func start(t *testing.T, path string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: filepath.Base(path), cmd: exec.Command(path, args...), more: make(chan struct{}), done: make(chan struct{})}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	var readers sync.WaitGroup
	for _, r := range []io.Reader{stdout, stderr} {
		readers.Add(1)
		go func() {
			defer readers.Done()
			sc := bufio.NewScanner(r)
			sc.Buffer(make([]byte, 64*1024), 1024*1024)
			for sc.Scan() {
				p.add(sc.Text())
			}
		}()
	}
	go func() {
		readers.Wait()
		p.err = p.cmd.Wait()
		close(p.done)
		p.mu.Lock()
		close(p.more)
		p.more = nil
		p.mu.Unlock()
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("--- output of %s %s:\n%s", p.name, strings.Join(args, " "), strings.Join(p.snapshot(), "\n"))
		}
	})
	return p
}

func (p *proc) add(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines = append(p.lines, line)
	if p.more != nil {
		close(p.more)
		p.more = make(chan struct{})
	}
}

func (p *proc) snapshot() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// waitFor waits until a line from index `from` on matches re, and returns its
// index. It fails the test when the program exits or time runs out first.
func (p *proc) waitFor(re string, from int) int {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(wait)
	for {
		p.mu.Lock()
		for i := from; i < len(p.lines); i++ {
			if rx.MatchString(p.lines[i]) {
				p.mu.Unlock()
				return i
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

// count is the number of lines matching re so far.
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

// matching returns the lines matching re so far, in order.
func (p *proc) matching(re string) []string {
	rx := regexp.MustCompile(re)
	var out []string
	for _, l := range p.snapshot() {
		if rx.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

// stop sends sig and returns the exit code.
func (p *proc) stop(sig syscall.Signal) int {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %s: %v", p.name, err)
	}
	return p.exitCode()
}

// exitCode waits for the program to end and returns its exit code.
func (p *proc) exitCode() int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(wait):
		p.t.Fatalf("%s did not exit within %v", p.name, wait)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		p.t.Fatalf("%s: %v", p.name, p.err)
	}
	return 0
}

// freePort returns a UDP port on 127.0.0.1 that was free a moment ago, for
// peers that cannot bind port 0 and report the port (oscdump, Pd's
// [netreceive], the osc.js peer). The bridge itself always binds port 0.
func freePort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// writeMapping writes a mapping file for one test, with %d verbs filled from ports.
func writeMapping(t *testing.T, format string, ports ...any) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "mapping.yaml")
	if err := os.WriteFile(f, []byte(fmt.Sprintf(format, ports...)), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// bridge is a running `oscgpio run` and the port it listens on.
type bridge struct {
	*proc
	port int
}

var listeningLine = regexp.MustCompile(`msg="oscgpio listening" addr=127\.0\.0\.1:([0-9]+) `)

// runBridge starts `oscgpio run --gpio sim --listen 127.0.0.1:0 --http off`
// (the tests run many bridges at once: the dashboard's default port would
// be taken by the first; args may say --http again), waits until it listens
// and reads the port the kernel gave it from its start line.
func runBridge(t *testing.T, args ...string) *bridge {
	t.Helper()
	p := start(t, bin, append([]string{"run", "--gpio", "sim", "--listen", "127.0.0.1:0", "--http", "off", "--no-advertise"}, args...)...)
	at := p.waitFor(`msg="oscgpio listening"`, 0)
	m := listeningLine.FindStringSubmatch(p.snapshot()[at])
	if m == nil {
		t.Fatalf("no 127.0.0.1 address in the start line %q", p.snapshot()[at])
	}
	port, _ := strconv.Atoi(m[1])
	return &bridge{proc: p, port: port}
}

// oscdump starts liblo's oscdump on a free port and waits until it receives:
// it sends /ready probes with oscsend until one is printed. oscdump cannot
// bind port 0 and say which port it got, so a port that was free a moment
// ago is tried, and another one if oscdump could not bind it.
func oscdump(t *testing.T) (*proc, int) {
	t.Helper()
	tool := need(t, "oscdump", "liblo-tools")
	for try := 0; ; try++ {
		port := freePort(t)
		dump := start(t, tool, "-L", fmt.Sprint(port))
		if ready(t, dump, port) {
			return dump, port
		}
		if try == 4 {
			t.Fatalf("oscdump could not listen on a free port (5 tries)")
		}
	}
}

// ready probes oscdump on port until it prints a probe (true) or exits (false).
func ready(t *testing.T, dump *proc, port int) bool {
	t.Helper()
	deadline := time.Now().Add(wait)
	for dump.count(`/ready`) == 0 {
		select {
		case <-dump.done:
			return false
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("oscdump on %d printed no /ready probe within %v", port, wait)
		}
		oscsend(t, port, "/ready")
		select {
		case <-dump.done:
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
	return true
}

// oscsend runs liblo's oscsend to 127.0.0.1:port.
func oscsend(t *testing.T, port int, address string, typesAndValues ...string) {
	t.Helper()
	args := append([]string{"127.0.0.1", fmt.Sprint(port), address}, typesAndValues...)
	out, err := exec.Command(need(t, "oscsend", "liblo-tools"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("oscsend %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// oscgpio runs a short oscgpio command to its end and returns its output and exit code.
func oscgpio(t *testing.T, args ...string) (string, int) {
	t.Helper()
	p := start(t, bin, args...)
	code := p.exitCode()
	return strings.Join(p.snapshot(), "\n"), code
}

// waitCount waits until n lines match re and returns the index of the n-th.
func (p *proc) waitCount(re string, n int) int {
	p.t.Helper()
	at := -1
	for i := 0; i < n; i++ {
		at = p.waitFor(re, at+1)
	}
	return at
}

// fmtMapping fills a mapping's %d verbs.
func fmtMapping(format string, ports ...any) string { return fmt.Sprintf(format, ports...) }
