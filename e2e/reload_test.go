package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
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

const reloadV1 = `
destinations: {monitor: 127.0.0.1:%d}
outputs:
  - {name: led, pin: GPIO17, address: /led, safe: "off"}
  - {name: relay, pin: GPIO22, address: /relay, safe: "off"}
inputs:
  - {name: button, pin: GPIO27, pull: down, debounce: 0s, address: /button, to: [monitor]}
  - {name: fb, pin: GPIO24, pull: down, debounce: 0s, address: /fb, to: [monitor]}
sim: {jumpers: [[GPIO17, GPIO27], [GPIO22, GPIO24]]}
`

const reloadV2 = `
destinations: {monitor: 127.0.0.1:%d}
outputs:
  - {name: led, pin: GPIO17, address: [/led, /light], safe: "off"}
  - {name: lamp, pin: GPIO23, address: /lamp}
inputs:
  - {name: button, pin: GPIO27, pull: down, debounce: 0s, address: /button, to: [monitor]}
  - {name: fb, pin: GPIO24, pull: down, debounce: 0s, address: /fb, to: [monitor]}
sim: {jumpers: [[GPIO17, GPIO27], [GPIO23, GPIO24]]}
`

// SIGHUP reloads the mapping while traffic flows: the unchanged output never
// changes (its jumpered input, debounce 0, reports nothing), the removed
// relay goes to its safe level (its jumpered input reports /fb 0), the new
// lamp works, and a broken file is refused with its FILE:LINE:COL while the
// running mapping stays.
func TestReloadDuringTraffic(t *testing.T) {
	mon := newPeer(t)
	file := writeMapping(t, reloadV1, mon.port())
	bridge := runBridge(t, "--config", file)
	mon.expect("/button i 0") // the state at start (report_at_start)
	mon.expect("/fb i 0")
	src, query := newPeer(t), newPeer(t)
	src.send(bridge.port, osc.NewMessage("/led", int32(1)))
	mon.expect("/button i 1")
	src.send(bridge.port, osc.NewMessage("/relay", int32(1)))
	mon.expect("/fb i 1")

	// Traffic: /led 1 and /relay 1 again and again (no change while the
	// mapping stays), from another socket, until the test says stop.
	traffic := newPeer(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				traffic.send(bridge.port, osc.NewMessage("/led", int32(1)))
				traffic.send(bridge.port, osc.NewMessage("/relay", int32(1)))
			}
		}
	}()
	query.waitStats(bridge.port, "traffic", func(st map[string]int) bool { return st["messages"] > 50 })

	if err := os.WriteFile(file, []byte(fmtMapping(reloadV2, mon.port())), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := bridge.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	query.waitStats(bridge.port, "the reload", func(st map[string]int) bool { return st["reloads"] == 1 })
	mon.expect("/fb i 0") // the relay went to its safe level, and only that
	close(stop)
	wg.Wait()

	src.send(bridge.port, osc.NewMessage("/lamp", int32(1)))
	mon.expect("/fb i 1") // the new lamp, jumpered to the same input
	src.send(bridge.port, osc.NewMessage("/light", int32(0)))
	mon.expect("/button i 0") // the first change of the kept LED since before the reload
	mon.nothingPending()

	// A broken file is refused, the running mapping stays.
	if err := os.WriteFile(file, []byte("outputs:\n  - {name: led, pin: GPIO41, address: /led}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := bridge.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	bridge.waitFor(`level=ERROR msg="reload refused: the mapping has errors; the running mapping stays".*`+regexpQuote(file)+`:2:`, 0)
	src.send(bridge.port, osc.NewMessage("/light", int32(1)))
	mon.expect("/button i 1")
	if st := query.stats(bridge.port); st["reloads"] != 1 {
		t.Errorf("reloads = %d after a refused file, want 1", st["reloads"])
	}
	if code := bridge.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	bridge.waitFor(`msg="output at safe level" name=lamp`, 0)
}

// --watch reloads when the file is saved, as an editor does (a new file
// renamed over the old one).
func TestWatchReloads(t *testing.T) {
	mon := newPeer(t)
	file := writeMapping(t, reloadV1, mon.port())
	bridge := runBridge(t, "--config", file, "--watch")
	bridge.waitFor(`msg="watching the mapping file`, 0)
	mon.expect("/button i 0") // the state at start (report_at_start)
	mon.expect("/fb i 0")
	query := newPeer(t)
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(fmtMapping(reloadV2, mon.port())), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
	query.waitStats(bridge.port, "the reload", func(st map[string]int) bool { return st["reloads"] == 1 })
	query.send(bridge.port, osc.NewMessage("/lamp", int32(1)))
	mon.expect("/fb i 1")
}

// A log reader that stalls (a paused pager, Ctrl-S: stderr a pipe nobody
// reads) never freezes the bridge: it keeps applying messages and reporting
// inputs, and SIGTERM still stops it with every output safe.
func TestStalledLogReaderFreezesNothing(t *testing.T) {
	mon := newPeer(t)
	file := writeMapping(t, strings.Replace(jumperMapping, "debounce: 5ms", "debounce: 0s", 1), mon.port())
	// The bridge's stderr is a pipe whose reading end is never read.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(bin, "run", "--gpio", "sim", "--listen", "127.0.0.1:0", "--http", "off", "--no-advertise", "--log-level", "debug", "--config", file)
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })

	// The port cannot be read from the log here: find it by the process's
	// socket, as the stats peer would on the show computer.
	port := udpPortOf(t, cmd.Process.Pid)
	src := newPeer(t)
	mon.expect("/button i 0") // the state at start (report_at_start)
	// Far more than a pipe holds (64 KiB) of debug lines: every change is
	// logged at debug by the sim and the engine.
	for i := 0; i < 3000; i++ {
		src.send(port, osc.NewMessage("/led", int32((i+1)%2)))
		mon.expect(fmt.Sprintf("/button i %d", (i+1)%2))
	}
	// The pipe really is full: this is the case that froze the bridge.
	var queued int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, r.Fd(), syscall.TIOCINQ, uintptr(unsafe.Pointer(&queued))); errno != 0 {
		t.Fatalf("FIONREAD on the log pipe: %v", errno)
	}
	if queued < 60000 {
		t.Fatalf("only %d bytes of log waiting in the pipe: the test did not stall the log writer", queued)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("SIGTERM did not stop a bridge whose log nobody reads")
	}
}

// udpPortOf finds the UDP port the process pid listens on, from /proc.
func udpPortOf(t *testing.T, pid int) int {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		inodes := map[string]bool{}
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, fd := range fds {
			l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
			if err == nil && strings.HasPrefix(l, "socket:[") {
				inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
			}
		}
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/net/udp", pid))
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) > 9 && inodes[f[9]] && strings.HasPrefix(f[1], "0100007F:") {
				port, err := strconv.ParseInt(strings.TrimPrefix(f[1], "0100007F:"), 16, 32)
				if err == nil {
					return int(port)
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d has no UDP socket on 127.0.0.1", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Every counter is printed at exit, whatever the log level.
func TestCountersAtExitAtAnyLevel(t *testing.T) {
	p := start(t, bin, "run", "--gpio", "sim", "--listen", "127.0.0.1:0", "--http", "off", "--no-advertise", "--log-level", "error")
	port := udpPortOf(t, p.cmd.Process.Pid)
	newPeer(t).send(port, osc.NewMessage("/led", int32(1)))
	newPeer(t).waitStats(port, "the message", func(st map[string]int) bool { return st["applied"] == 1 })
	if code := p.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	p.waitFor(`msg="oscgpio stopped" packets=2 filtered=0 denied=0 rate_limited=0 loop_limited=0 messages=2 handled=2 applied=1 .*kernel_drops=0 .*send_dropped=0 dead_inputs=0 input_lost=0 reloads=0 log_lines_dropped=0`, 0)
	if n := len(p.snapshot()); n != 1 {
		t.Errorf("%d lines at --log-level error, want only the exit line:\n%s", n, strings.Join(p.snapshot(), "\n"))
	}
}

// `oscgpio bench` against the bridge through a jumper: round trips, a few
// rate steps, and the bridge's own counters read with /oscgpio/stats.
func TestBenchAgainstBridge(t *testing.T) {
	port := freePort(t) // where the bench listens, named in the mapping
	bridge := runBridge(t, "--config", writeMapping(t, strings.Replace(jumperMapping, "debounce: 5ms", "debounce: 0s", 1), port))
	out, code := oscgpio(t, "bench", "--to", fmt.Sprintf("127.0.0.1:%d", bridge.port), "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--count", "200", "--warmup", "20", "--max-rate", "1000", "--step", "200ms", "--json")
	if code != 0 {
		t.Fatalf("oscgpio bench exited %d:\n%s", code, out)
	}
	var res struct {
		BestRate       int            `json:"best_rate"`
		CountersBefore map[string]any `json:"counters_before"`
		RTT            struct {
			Summary struct {
				P50 float64 `json:"p50_us"`
			} `json:"summary"`
		} `json:"rtt"`
		Steps []struct {
			Rate          int  `json:"rate"`
			Missing       int  `json:"missing"`
			SenderLimited bool `json:"sender_limited"`
		} `json:"steps"`
	}
	start := strings.Index(out, "{")
	if start < 0 {
		t.Fatalf("no JSON in:\n%s", out)
	}
	if err := json.Unmarshal([]byte(out[start:strings.LastIndex(out, "}")+1]), &res); err != nil {
		t.Fatalf("bench JSON: %v\n%s", err, out)
	}
	if res.RTT.Summary.P50 <= 0 || res.CountersBefore == nil || len(res.Steps) == 0 {
		t.Fatalf("bench result: p50 %v µs, bridge counters %v, %d rate steps; want a round trip, the counters and a step", res.RTT.Summary.P50, res.CountersBefore, len(res.Steps))
	}
	// Every message the bench sent came back, at every step. A step the
	// bench could not send at its rate (a loaded machine: "not held by the
	// bench") ends the steps without being the bridge's failure.
	limited := false
	for _, st := range res.Steps {
		if st.Missing != 0 {
			t.Errorf("step %d msg/s: %d messages missing", st.Rate, st.Missing)
		}
		limited = limited || st.SenderLimited
	}
	if !limited && res.BestRate < 1000 {
		t.Errorf("best rate %d msg/s, want 1000 loss-free", res.BestRate)
	}
	t.Logf("best rate %d msg/s (steps up to 1000; sender limited: %v), p50 %v µs", res.BestRate, limited, res.RTT.Summary.P50)
}

// A log reader that goes away (`oscgpio run 2>&1 | head`) does not kill the
// bridge with SIGPIPE: it goes on, and SIGTERM still stops it safely.
func TestBrokenLogPipe(t *testing.T) {
	mon := newPeer(t)
	file := writeMapping(t, strings.Replace(jumperMapping, "debounce: 5ms", "debounce: 0s", 1), mon.port())
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--gpio", "sim", "--listen", "127.0.0.1:0", "--http", "off", "--no-advertise", "--config", file)
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	r.Close() // the reader went away
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	port := udpPortOf(t, cmd.Process.Pid)
	mon.expect("/button i 0") // its state at start
	src := newPeer(t)
	for i := 0; i < 50; i++ { // each logged at info: writes to the broken pipe
		src.send(port, osc.NewMessage("/led", int32((i+1)%2)))
		mon.expect(fmt.Sprintf("/button i %d", (i+1)%2))
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM with the log pipe broken: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("no exit after SIGTERM")
	}
}

// SIGQUIT stops the bridge like SIGTERM: outputs safe, exit 0 (Go's default
// would dump goroutines and exit 2 with the outputs as they were).
func TestSIGQUITIsSafe(t *testing.T) {
	bridge := runBridge(t)
	if code := bridge.stop(syscall.SIGQUIT); code != 0 {
		t.Fatalf("exit code %d after SIGQUIT, want 0", code)
	}
	bridge.waitFor(`msg="output at safe level" name=led`, 0)
}

// Under systemd (Type=notify) the bridge says READY=1 once it listens and
// feeds the watchdog at half WATCHDOG_USEC.
func TestSystemdNotify(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cmd := exec.Command(bin, "run", "--gpio", "sim", "--listen", "127.0.0.1:0", "--http", "off", "--no-advertise")
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=200000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	l.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 512)
	var got []string
	for len(got) < 3 {
		n, err := l.Read(buf)
		if err != nil {
			t.Fatalf("notify socket: %v (got %q)", err, got)
		}
		got = append(got, string(buf[:n]))
	}
	if !strings.HasPrefix(got[0], "READY=1") || got[1] != "WATCHDOG=1" || got[2] != "WATCHDOG=1" {
		t.Errorf("notify messages %q, want READY=1 then WATCHDOG=1 twice", got)
	}
}

// kill -USR1 prints every counter in the log, whatever --log-level says.
func TestSIGUSR1PrintsCounters(t *testing.T) {
	p := start(t, bin, "run", "--gpio", "sim", "--listen", "127.0.0.1:0", "--http", "off", "--no-advertise", "--log-level", "error")
	port := udpPortOf(t, p.cmd.Process.Pid)
	newPeer(t).waitStats(port, "a start", func(st map[string]int) bool { return st["messages"] >= 1 })
	if err := p.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	p.waitFor(`msg="oscgpio counters" packets=[0-9]+ .*reloads=0 log_lines_dropped=0`, 0)
}

// allow: a sender outside the list drives nothing (dropped in the kernel
// before it is read); rate_limit: a flooder is held to its rate while an
// allowed sender's messages all apply.
func TestAllowAndRateLimit(t *testing.T) {
	mon := newPeer(t)
	bridge := runBridge(t, "--config", writeMapping(t, `
allow: [127.0.0.1, 127.0.0.3]
rate_limit: {rate: 20, burst: 5}
destinations: {monitor: 127.0.0.1:%d}
outputs: [{name: led, pin: GPIO17, address: /led}]
inputs: [{name: button, pin: GPIO27, pull: down, debounce: 0s, address: /button, to: [monitor]}]
sim: {jumpers: [[GPIO17, GPIO27]]}
`, mon.port()))
	mon.expect("/button i 0")
	from := func(ip string) *net.UDPConn {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
		if err != nil {
			t.Fatalf("cannot bind %s (Linux loopback takes all of 127/8): %v", ip, err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: bridge.port}
	on, _ := codec.Encode(osc.NewMessage("/led", int32(1)))
	off, _ := codec.Encode(osc.NewMessage("/led", int32(0)))
	stranger, flooder := from("127.0.0.2"), from("127.0.0.3")
	for i := 0; i < 100; i++ {
		stranger.WriteToUDP(on, to)
	}
	for i := 0; i < 1000; i++ {
		flooder.WriteToUDP(off, to) // at most 5 at once, then 20 a second
	}
	// The allowed sender on 127.0.0.1 (its own bucket): every message applies.
	src := newPeer(t)
	src.send(bridge.port, osc.NewMessage("/led", int32(1)))
	mon.expect("/button i 1")
	st := newPeer(t).stats(bridge.port)
	if st["rate_limited"] < 900 || st["applied"] > 1+5+20 {
		t.Errorf("counters %v: want the flood rate-limited and nothing from 127.0.0.2 applied", st)
	}
}
