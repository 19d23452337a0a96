// Command guest is the /init of the emulated Raspberry Pi 3 that
// test/qemu/run.sh boots. It is built for linux/arm64 by that script only and
// is not part of the oscgpio program.
//
// It prepares the smallest system the bridge needs (devtmpfs, proc, sysfs,
// loopback up, the watchdog module so that power-off ends QEMU), writes the
// mapping file, starts `oscgpio dump` and `oscgpio run --gpio host` the way a
// service manager would (plain exec, output to the console, each line
// prefixed with "NAME:out| " or "NAME:err| "), and then walks through the
// steps of the test.
//
// Handshake with the host (run.sh). The host sees the serial console (its
// output only) and the emulated GPIO registers (through QEMU's qtest). At each
// step this program prints a line "STEP NAME" and then waits until the "go"
// line, GPIO22, changes level: the host toggles it through qtest (GPSET0 or
// GPCLR0) when it is done with that step; this program reads the line through
// the GPIO character device (periph's gpioioctl, chip found by its label), as
// an input, every 2 ms. In between the host reads and writes the GPIO
// registers and looks at the console log. Nothing on either side waits for a
// fixed time. Every wait has a deadline; if one passes, or anything else goes
// wrong, this program prints "GUEST ABORT: why", stops its children and
// powers off, so QEMU always ends.
//
// The serial port cannot carry the host's side: with the stock Pi 3 device
// tree the PL011 (ttyAMA0) belongs to the Bluetooth node's serdev, so the
// kernel console writes to it but no tty reads from it.
//
// Steps: ready (the bridge and the dump are listening), led-on (sent /led 1),
// led-off (sent /led 0), button (the host drives GPIO27 high then low and
// watches the dump), pulse (about to send /led/pulse 0.4; the host samples
// GPIO17 from its go on), pulsed (the bridge's log said its timer turned
// GPIO17 off; then /led/blink 0.4 3 is sent), blinked (the log said so three
// times), led-on-again (sent /led 1 once more), reloaded (wrote
// reloadMapping over the mapping file, sent SIGHUP and saw the bridge's
// outcome in its log: "RELOAD reloaded" printed before), led-off-reloaded
// (sent /led 0 to the reloaded bridge), button-again (the host drives GPIO27
// again), refused (wrote brokenMapping, sent SIGHUP, saw the outcome: "RELOAD
// refused" printed before), light-on (sent /light 1, an address only the
// running mapping has, so that the safe level on exit has to be written),
// stopped (the bridge got SIGTERM and exited; "BRIDGE EXIT code=N" printed
// before), kill-armed (a second bridge started with killMapping, sent /led 1
// and /relay 1), killed (that bridge got SIGKILL, was reaped and the kernel
// says its lines are free: "KILLED ..." and "LINEINFO ..." printed before),
// restarted (a third bridge started with the same mapping, as systemd's
// Restart=on-failure would, and its log says it listens: "RESTARTED ..."
// printed before; it then gets SIGTERM).
package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/host/v3"
	"periph.io/x/host/v3/gpioioctl"
)

const (
	oscgpio     = "/bin/oscgpio"
	mappingPath = "/etc/oscgpio.yaml"
	bridgeAddr  = "127.0.0.1:5005"
	dumpAddr    = "127.0.0.1:9000"
	wdtModule   = "/lib/modules/bcm2835_wdt.ko"
	chipLabel   = "pinctrl-bcm2835" // the header's GPIO chip on a Pi 3
	goLineName  = "GPIO22"          // the host's "go" line

	// stepTimeout bounds every wait for the host; the host's own deadlines
	// are shorter, so this only matters when the host is gone.
	stepTimeout = 120 * time.Second
	// startTimeout bounds the wait for the bridge and the dump to listen.
	startTimeout = 60 * time.Second
	// exitTimeout bounds the wait for a child to exit after SIGTERM.
	exitTimeout = 20 * time.Second
	// reloadTimeout bounds the wait for the bridge's log to say how a
	// reload ended.
	reloadTimeout = 20 * time.Second
	// actionTimeout bounds the wait for each timer step of a pulse or a
	// blink (0.2-0.4 s each) to show in the bridge's log.
	actionTimeout = 20 * time.Second
)

// mapping is the bridge's first mapping file: one output, one input polled at
// 2 ms (QEMU's GPIO model raises no edge interrupts), one destination (the
// dump).
const mapping = `# written by test/qemu/guest
listen: ` + bridgeAddr + `
destinations:
  monitor: ` + dumpAddr + `
outputs:
  - name: led
    pin: GPIO17
    address: /led
    initial: off
    safe: off
inputs:
  - name: button
    pin: GPIO27
    pull: none
    poll: 2ms
    debounce: 10ms
    address: /button
    to: [monitor]
`

// reloadMapping replaces mapping on SIGHUP. The output led keeps its pin and
// active_low (so it must keep its level and never be written: its initial
// level, off, must not be applied again) and gains the address /light; the
// output fan on GPIO23 is new and starts on; the input is unchanged (it must
// keep its watcher and report no spurious change).
const reloadMapping = `# written by test/qemu/guest: the reload
listen: ` + bridgeAddr + `
destinations:
  monitor: ` + dumpAddr + `
outputs:
  - name: led
    pin: GPIO17
    address: [/led, /light]
    initial: off
    safe: off
  - name: fan
    pin: GPIO23
    address: /fan
    initial: on
    safe: off
inputs:
  - name: button
    pin: GPIO27
    pull: none
    poll: 2ms
    debounce: 10ms
    address: /button
    to: [monitor]
`

// killMapping is the mapping of the bridge that gets SIGKILL, and of the one
// started again after it: led as in mapping, and relay, an active-low output
// on GPIO23 (on is the pin low; initial and safe off, the pin high). No
// input, no destination: only what the kill does to outputs is looked at.
const killMapping = `# written by test/qemu/guest: the bridge killed with SIGKILL, then restarted
listen: ` + bridgeAddr + `
outputs:
  - name: led
    pin: GPIO17
    address: /led
    initial: off
    safe: off
  - name: relay
    pin: GPIO23
    address: /relay
    active_low: true
    initial: off
    safe: off
`

// killLines are the lines of killMapping, by offset on the pinctrl-bcm2835
// chip (the line offset is the BCM GPIO number).
var killLines = []int{17, 23}

// brokenMapping has an unknown pin: the reload must be refused as a whole.
// Were it applied, even in part, fan would go to its safe level and /light
// would no longer move the LED: the host would see both.
const brokenMapping = `# written by test/qemu/guest: a reload that must be refused
listen: ` + bridgeAddr + `
destinations:
  monitor: ` + dumpAddr + `
outputs:
  - name: led
    pin: GPIO17
    address: /led
    initial: off
    safe: off
  - name: relay
    pin: GPIO99
    address: /relay
inputs:
  - name: button
    pin: GPIO27
    pull: none
    poll: 2ms
    debounce: 10ms
    address: /button
    to: [monitor]
`

// console is the serial console: lines are written whole under a lock so
// that output of the children and of this program never interleaves.
type console struct {
	mu sync.Mutex
	f  *os.File
}

func (c *console) line(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, _ = io.WriteString(c.f, s+"\n")
}

func (c *console) printf(format string, a ...any) { c.line(fmt.Sprintf(format, a...)) }

// prefixWriter forwards a child's output to the console line by line, each
// line prefixed with the child's tag.
type prefixWriter struct {
	con    *console
	tag    string
	buf    []byte
	onLine func(string) // if set, also gets every line (without the tag)
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := strings.IndexByte(string(w.buf), '\n')
		if i < 0 {
			return len(p), nil
		}
		l := strings.TrimRight(string(w.buf[:i]), "\r")
		w.con.line(w.tag + l)
		if w.onLine != nil {
			w.onLine(l)
		}
		w.buf = w.buf[i+1:]
	}
}

// flush writes a last line that had no newline.
func (w *prefixWriter) flush() {
	if len(w.buf) > 0 {
		w.con.line(w.tag + string(w.buf))
		w.buf = nil
	}
}

// lineLog keeps the lines of a child's output so that a step can wait for
// one (the bridge's log says when a reload is done).
type lineLog struct {
	mu    sync.Mutex
	lines []string
	more  chan struct{} // closed, and replaced, when a line is added
}

func newLineLog() *lineLog { return &lineLog{more: make(chan struct{})} }

func (l *lineLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
	close(l.more)
	l.more = make(chan struct{})
}

// len is the number of lines so far: a mark for waitFor.
func (l *lineLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

// waitFor returns the first line from index from on that contains one of
// subs, and which one. It gives up when c exits or after timeout.
func (l *lineLog) waitFor(c *child, from int, timeout time.Duration, subs ...string) (string, string, error) {
	deadline := time.After(timeout)
	for {
		l.mu.Lock()
		lines, more := l.lines[from:], l.more
		l.mu.Unlock()
		for _, line := range lines {
			for _, sub := range subs {
				if strings.Contains(line, sub) {
					return line, sub, nil
				}
			}
		}
		from += len(lines)
		select {
		case <-more:
		case <-c.done:
			return "", "", fmt.Errorf("%s exited (%s) before its log said any of %q", c.name, c.status(), subs)
		case <-deadline:
			return "", "", fmt.Errorf("%s's log said none of %q within %v", c.name, subs, timeout)
		}
	}
}

// waitIndex is waitFor for one substring: it returns the index of the
// first line from index from on that contains sub.
func (l *lineLog) waitIndex(c *child, from int, timeout time.Duration, sub string) (int, error) {
	deadline := time.After(timeout)
	for {
		l.mu.Lock()
		lines, more := l.lines[from:], l.more
		l.mu.Unlock()
		for i, line := range lines {
			if strings.Contains(line, sub) {
				return from + i, nil
			}
		}
		from += len(lines)
		select {
		case <-more:
		case <-c.done:
			return 0, fmt.Errorf("%s exited (%s) before its log said %q", c.name, c.status(), sub)
		case <-deadline:
			return 0, fmt.Errorf("%s's log did not say %q within %v", c.name, sub, timeout)
		}
	}
}

// child is a process started by this init.
type child struct {
	name     string
	cmd      *exec.Cmd
	out, err *prefixWriter
	done     chan struct{} // closed when the process has exited
	waitErr  error
}

func start(con *console, name string, args ...string) (*child, error) {
	return startLogged(con, nil, name, args...)
}

// startLogged starts a child whose stderr lines also go to log, if not nil.
func startLogged(con *console, log *lineLog, name string, args ...string) (*child, error) {
	c := &child{
		name: name,
		cmd:  exec.Command(args[0], args[1:]...),
		out:  &prefixWriter{con: con, tag: name + ":out| "},
		err:  &prefixWriter{con: con, tag: name + ":err| "},
		done: make(chan struct{}),
	}
	if log != nil {
		c.err.onLine = log.add
	}
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.err
	c.cmd.Env = []string{"PATH=/bin", "HOME=/"}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, strings.Join(args, " "), err)
	}
	con.printf("guest: started %s, pid %d: %s", name, c.cmd.Process.Pid, strings.Join(args, " "))
	go func() {
		c.waitErr = c.cmd.Wait()
		c.out.flush()
		c.err.flush()
		close(c.done)
	}()
	return c, nil
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// status describes how an exited child ended: "code=N" or "signal=NAME".
func (c *child) status() string {
	ps := c.cmd.ProcessState
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "signal=" + ws.Signal().String()
	}
	return fmt.Sprintf("code=%d", ps.ExitCode())
}

// stop sends SIGTERM and waits for the exit; SIGKILL after exitTimeout.
func (c *child) stop() (string, error) {
	if !c.exited() {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-c.done:
		return c.status(), nil
	case <-time.After(exitTimeout):
		_ = c.cmd.Process.Kill()
		<-c.done
		return c.status(), fmt.Errorf("%s did not exit within %v of SIGTERM; killed", c.name, exitTimeout)
	}
}

// guest holds what the steps share.
type guest struct {
	con      *console
	chipPath string              // the pinctrl-bcm2835 chip's character device
	goLine   *gpioioctl.GPIOLine // toggled by the host at the end of each step
	goLvl    gpio.Level          // its level before the current step ends
	bridge   *child
	bLog     *lineLog // the bridge's log (its stderr)
	dump     *child
}

// step prints "STEP name" and waits until the host toggles the go line.
func (g *guest) step(name string) error {
	g.con.line("STEP " + name)
	want := !g.goLvl
	deadline := time.Now().Add(stepTimeout)
	for g.goLine.Read() != want {
		if g.bridge != nil && g.bridge.exited() {
			return fmt.Errorf("step %s: the bridge exited (%s) while waiting for the host", name, g.bridge.status())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("step %s: %s did not go %v within %v", name, goLineName, want, stepTimeout)
		}
		time.Sleep(2 * time.Millisecond) // polling the go line, as the bridge polls its input
	}
	g.goLvl = want
	g.con.printf("guest: %s went %v: host done with step %s", goLineName, want, name)
	return nil
}

// send runs `oscgpio send` once, like a user would from a shell.
func (g *guest) send(address string, args ...string) error {
	argv := append([]string{oscgpio, "send", "--to", bridgeAddr, address}, args...)
	c, err := start(g.con, "send", argv...)
	if err != nil {
		return err
	}
	select {
	case <-c.done:
	case <-time.After(exitTimeout):
		_ = c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("%s did not finish within %v", strings.Join(argv, " "), exitTimeout)
	}
	if c.waitErr != nil {
		return fmt.Errorf("%s: %v", strings.Join(argv, " "), c.waitErr)
	}
	return nil
}

// timerLow is the bridge's log line for GPIO17 turned off by its own timer
// (the end of a pulse, or of one on-phase of a blink).
const timerLow = `msg="GPIO17 -> low" output=led cause=timer`

// action sends an output action with `oscgpio send` and waits until the
// bridge's log says that its timer turned GPIO17 off lows times: the pulse
// or the blink is over. It prints "ACTION address args: N timer lows".
func (g *guest) action(lows int, address string, args ...string) error {
	from := g.bLog.len()
	if err := g.send(address, args...); err != nil {
		return err
	}
	for n := 1; n <= lows; n++ {
		i, err := g.bLog.waitIndex(g.bridge, from, actionTimeout, timerLow)
		if err != nil {
			return fmt.Errorf("%s %s: timer low %d of %d: %w", address, strings.Join(args, " "), n, lows, err)
		}
		from = i + 1
	}
	g.con.printf("ACTION %s %s: %d timer lows in the bridge's log", address, strings.Join(args, " "), lows)
	return nil
}

// reload writes content over the mapping file (a new file renamed over the
// old one, as an editor or a deployment would), sends SIGHUP to the bridge
// and waits until its log says how the reload ended. It prints
// "RELOAD reloaded", "RELOAD refused" or "RELOAD errors"; the host judges.
func (g *guest) reload(what, content string) error {
	if err := writeMapping(g.con, what, content); err != nil {
		return err
	}
	mark := g.bLog.len()
	g.con.printf("guest: sending SIGHUP to the bridge (pid %d): %s", g.bridge.cmd.Process.Pid, what)
	if err := g.bridge.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		return fmt.Errorf("SIGHUP to the bridge: %w", err)
	}
	outcomes := map[string]string{
		`msg="mapping reloaded"`:          "reloaded",
		`msg="reload refused`:             "refused",
		`msg="reload applied with errors`: "errors",
	}
	var subs []string
	for sub := range outcomes {
		subs = append(subs, sub)
	}
	_, sub, err := g.bLog.waitFor(g.bridge, mark, reloadTimeout, subs...)
	if err != nil {
		return fmt.Errorf("reload (%s): %w", what, err)
	}
	g.con.line("RELOAD " + outcomes[sub])
	return nil
}

// writeMapping writes the mapping file through a temporary file and a
// rename, and copies it to the console, each line prefixed "mapping| ".
func writeMapping(con *console, what, content string) error {
	tmp := mappingPath + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, mappingPath); err != nil {
		return err
	}
	con.printf("guest: wrote %s (%s)", mappingPath, what)
	for _, l := range strings.Split(strings.TrimSpace(content), "\n") {
		con.line("mapping| " + l)
	}
	return nil
}

// waitListening waits until UDP sockets are bound to every address, or the
// bridge or the dump exited, or startTimeout passed.
func (g *guest) waitListening(addrs ...string) error {
	deadline := time.Now().Add(startTimeout)
	for {
		missing := ""
		for _, a := range addrs {
			ok, err := udpBound(a)
			if err != nil {
				return err
			}
			if !ok {
				missing = a
				break
			}
		}
		if missing == "" {
			return nil
		}
		for _, c := range []*child{g.bridge, g.dump} {
			if c.exited() {
				return fmt.Errorf("%s exited (%s) before listening on %s", c.name, c.status(), missing)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listening on UDP %s after %v", missing, startTimeout)
		}
		time.Sleep(10 * time.Millisecond) // a poll of /proc/net/udp, not a handshake
	}
}

// udpBound reports whether a UDP socket is bound to addr ("127.0.0.1:5005")
// or to the wildcard address with the same port, from /proc/net/udp{,6}.
func udpBound(addr string) (bool, error) {
	host, port, ok := strings.Cut(addr, ":")
	if !ok || host != "127.0.0.1" {
		return false, fmt.Errorf("udpBound: %q is not 127.0.0.1:PORT", addr)
	}
	var p int
	if _, err := fmt.Sscanf(port, "%d", &p); err != nil {
		return false, fmt.Errorf("udpBound: bad port in %q", addr)
	}
	want := map[string]bool{
		fmt.Sprintf("0100007F:%04X", p):                         true, // 127.0.0.1, little-endian
		fmt.Sprintf("00000000:%04X", p):                         true,
		fmt.Sprintf("00000000000000000000000000000000:%04X", p): true,
	}
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		b, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return false, err
		}
		for _, l := range strings.Split(string(b), "\n")[1:] {
			if fs := strings.Fields(l); len(fs) > 2 && want[fs[1]] {
				return true, nil
			}
		}
	}
	return false, nil
}

// openGoLine runs periph's host.Init, prints its view of this kernel (the
// drivers it loaded and those that failed, which the host compares with the
// bridge's log, and the GPIO chips) and opens the go line as an input.
func openGoLine(con *console) (*gpioioctl.GPIOLine, string, error) {
	st, err := host.Init()
	if err != nil {
		return nil, "", fmt.Errorf("host.Init: %w", err)
	}
	for _, d := range st.Loaded {
		con.printf("HOSTINIT loaded %s", d)
	}
	for _, f := range st.Failed {
		con.printf("HOSTINIT failed %s: %v", f.D, f.Err)
	}
	var chip *gpioioctl.GPIOChip
	for _, c := range gpioioctl.Chips {
		con.printf("HOSTINIT chip %s label=%q lines=%d", c.Name(), c.Label(), c.LineCount())
		if c.Label() == chipLabel {
			chip = c
		}
	}
	if chip == nil {
		return nil, "", fmt.Errorf("no GPIO chip labelled %q", chipLabel)
	}
	l := chip.ByName(goLineName)
	if l == nil {
		return nil, "", fmt.Errorf("chip %s has no line %s", chip.Name(), goLineName)
	}
	if err := l.In(gpio.Float, gpio.NoEdge); err != nil {
		return nil, "", fmt.Errorf("%s as input: %w", goLineName, err)
	}
	if lv := l.Read(); lv != gpio.Low {
		return nil, "", fmt.Errorf("%s reads %v before the first step, want low", goLineName, lv)
	}
	return l, chip.Path(), nil
}

func main() {
	mountAll()
	f, err := os.OpenFile("/dev/console", os.O_RDWR, 0)
	if err != nil {
		f = os.Stdout // the kernel opened it for us before devtmpfs hid it
	}
	con := &console{f: f}
	t0 := time.Now()
	defer func() {
		if r := recover(); r != nil {
			con.printf("GUEST ABORT: panic: %v", r)
		}
		con.printf("GUEST POWEROFF after %.2fs in userspace", time.Since(t0).Seconds())
		syscall.Sync()
		_ = syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
		select {}
	}()
	g := &guest{con: con}
	if err := g.run(); err != nil {
		con.printf("GUEST ABORT: %v", err)
		for _, c := range []*child{g.bridge, g.dump} {
			if c != nil {
				st, _ := c.stop()
				con.printf("guest: %s stopped (%s)", c.name, st)
			}
		}
	}
}

func (g *guest) run() error {
	con := g.con
	if err := loadModule(wdtModule); err != nil {
		return err // without it power-off would not end QEMU
	}
	if err := loopbackUp(); err != nil {
		return err
	}
	chips, _ := filepath.Glob("/dev/gpiochip*")
	con.printf("guest: loopback up; GPIO character devices: %v", chips)
	var err error
	if g.goLine, g.chipPath, err = openGoLine(con); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(mappingPath), 0o755); err != nil {
		return err
	}
	if err := writeMapping(con, "the first mapping", mapping); err != nil {
		return err
	}

	if g.dump, err = start(con, "dump", oscgpio, "dump", "--listen", dumpAddr); err != nil {
		return err
	}
	g.bLog = newLineLog()
	if g.bridge, err = startLogged(con, g.bLog, "bridge", oscgpio, "run", "--gpio", "host", "--config", mappingPath); err != nil {
		return err
	}
	if err := g.waitListening(bridgeAddr, dumpAddr); err != nil {
		return err
	}
	con.printf("guest: bridge listening on %s, dump on %s", bridgeAddr, dumpAddr)
	if err := g.step("ready"); err != nil {
		return err
	}
	if err := g.send("/led", "i:1"); err != nil {
		return err
	}
	if err := g.step("led-on"); err != nil {
		return err
	}
	if err := g.send("/led", "i:0"); err != nil {
		return err
	}
	if err := g.step("led-off"); err != nil {
		return err
	}
	if err := g.step("button"); err != nil {
		return err
	}

	// Output actions, GPIO17 low before each: a pulse, then a blink. The
	// host samples GPLEV0 from the go of "pulse" (and of "pulsed") until
	// the next step line; the bridge's own timers end both.
	if err := g.step("pulse"); err != nil {
		return err
	}
	if err := g.action(1, "/led/pulse", "0.4"); err != nil {
		return err
	}
	if err := g.step("pulsed"); err != nil {
		return err
	}
	if err := g.action(3, "/led/blink", "0.4", "3"); err != nil {
		return err
	}
	if err := g.step("blinked"); err != nil {
		return err
	}

	if err := g.send("/led", "i:1"); err != nil {
		return err
	}
	if err := g.step("led-on-again"); err != nil {
		return err
	}

	// Reload: led kept (high, never written), fan new (on), button kept.
	if err := g.reload("led kept with /light added, fan on GPIO23 new", reloadMapping); err != nil {
		return err
	}
	if err := g.step("reloaded"); err != nil {
		return err
	}
	if err := g.send("/led", "i:0"); err != nil {
		return err
	}
	if err := g.step("led-off-reloaded"); err != nil {
		return err
	}
	if err := g.step("button-again"); err != nil {
		return err
	}
	// A broken file: refused, the running mapping stays.
	if err := g.reload("an unknown pin, GPIO99", brokenMapping); err != nil {
		return err
	}
	if err := g.step("refused"); err != nil {
		return err
	}
	if err := g.send("/light", "i:1"); err != nil {
		return err
	}
	if err := g.step("light-on"); err != nil {
		return err
	}

	b := g.bridge
	g.bridge = nil // its exit is expected from here on
	con.printf("guest: sending SIGTERM to the bridge (pid %d)", b.cmd.Process.Pid)
	st, err := b.stop()
	con.line("BRIDGE EXIT " + st)
	if err != nil {
		return err
	}
	if err := g.step("stopped"); err != nil {
		return err
	}
	if err := g.killAndRestart(); err != nil {
		return err
	}
	d := g.dump
	g.dump = nil
	st, err = d.stop()
	con.printf("guest: dump stopped (%s)", st)
	if err != nil {
		return err
	}
	con.line("GUEST DONE")
	return nil
}

// killAndRestart starts a bridge with killMapping, drives both its outputs
// on, kills it with SIGKILL, waits until it is reaped and the kernel says its
// lines are free (the host then reads the registers), starts it again with
// the same mapping, as systemd's Restart=on-failure would, waits for its log
// to say it listens (the host checks the initial levels) and stops it with
// SIGTERM. It prints how long each part took.
func (g *guest) killAndRestart() error {
	if err := writeMapping(g.con, "for kill -9", killMapping); err != nil {
		return err
	}
	b, _, err := g.startBridge("bridge2")
	if err != nil {
		return err
	}
	if err := g.send("/led", "i:1"); err != nil {
		return err
	}
	if err := g.send("/relay", "i:1"); err != nil {
		return err
	}
	if err := g.step("kill-armed"); err != nil {
		return err
	}

	g.bridge = nil // its death is the point from here on
	t0 := time.Now()
	g.con.printf("guest: sending SIGKILL to bridge2 (pid %d)", b.cmd.Process.Pid)
	if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("SIGKILL to bridge2: %w", err)
	}
	select {
	case <-b.done:
	case <-time.After(exitTimeout):
		return fmt.Errorf("bridge2 not reaped within %v of SIGKILL", exitTimeout)
	}
	reaped := time.Since(t0)
	// The process is gone; its line requests went with its last file
	// reference. Ask the kernel until it says so (it should at once).
	var infos []lineInfo
	deadline := time.Now().Add(exitTimeout)
	for {
		infos = infos[:0]
		busy := ""
		for _, off := range killLines {
			li, err := readLineInfo(g.chipPath, off)
			if err != nil {
				return err
			}
			infos = append(infos, li)
			if li.used() {
				busy = li.String()
			}
		}
		if busy == "" {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%v after SIGKILL the kernel still says %s", exitTimeout, busy)
		}
		time.Sleep(time.Millisecond) // a poll of the kernel's line info, not a handshake
	}
	released := time.Since(t0)
	g.con.printf("KILLED bridge2 %s: reaped %.1f ms after SIGKILL, lines free at %.1f ms",
		b.status(), ms(reaped), ms(released))
	for _, li := range infos {
		g.con.line("LINEINFO " + li.String())
	}
	if err := g.step("killed"); err != nil {
		return err
	}

	// Started again at once: systemd would wait RestartSec= first.
	r, took, err := g.startBridge("bridge3")
	if err != nil {
		return err
	}
	g.con.printf("RESTARTED bridge3 listening %.1f ms after its start; stale window here: %.1f ms (kill to lines free) + the restart delay + %.1f ms",
		ms(took), ms(released), ms(took))
	if err := g.step("restarted"); err != nil {
		return err
	}
	g.bridge = nil
	g.con.printf("guest: sending SIGTERM to bridge3 (pid %d)", r.cmd.Process.Pid)
	st, err := r.stop()
	g.con.line("BRIDGE3 EXIT " + st)
	return err
}

// startBridge starts `oscgpio run --gpio host` on the mapping file as the
// child name, makes it g.bridge and waits for its log to say it listens.
// It returns how long that took from the start.
func (g *guest) startBridge(name string) (*child, time.Duration, error) {
	log := newLineLog()
	t0 := time.Now()
	c, err := startLogged(g.con, log, name, oscgpio, "run", "--gpio", "host", "--config", mappingPath)
	if err != nil {
		return nil, 0, err
	}
	g.bridge = c
	if _, err := log.waitIndex(c, 0, startTimeout, `msg="oscgpio listening"`); err != nil {
		return nil, 0, err
	}
	return c, time.Since(t0), nil
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mountAll() {
	for _, m := range []struct{ fs, dir string }{{"devtmpfs", "/dev"}, {"proc", "/proc"}, {"sysfs", "/sys"}} {
		_ = os.MkdirAll(m.dir, 0o755)
		if err := syscall.Mount(m.fs, m.dir, m.fs, 0, ""); err != nil {
			fmt.Fprintf(os.Stderr, "guest: mount %s on %s: %v\n", m.fs, m.dir, err)
		}
	}
}

// loadModule loads a kernel module file with finit_module(2).
func loadModule(path string) error {
	if sysFinitModule == 0 {
		return fmt.Errorf("load module %s: the guest runs on linux/arm64 only", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("load module: %w", err)
	}
	defer f.Close()
	params, _ := syscall.BytePtrFromString("")
	_, _, errno := syscall.Syscall(sysFinitModule, f.Fd(), uintptr(unsafe.Pointer(params)), 0)
	if errno != 0 && errno != syscall.EEXIST {
		return fmt.Errorf("finit_module %s: %v", path, errno)
	}
	return nil
}

// loopbackUp sets IFF_UP on "lo" with the SIOCGIFFLAGS/SIOCSIFFLAGS ioctls;
// the kernel gives it 127.0.0.1/8 by itself.
func loopbackUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback: socket: %w", err)
	}
	defer syscall.Close(fd)
	var ifr [40]byte // struct ifreq: name[16], then the flags (short)
	copy(ifr[:], "lo")
	if err := ioctl(fd, syscall.SIOCGIFFLAGS, unsafe.Pointer(&ifr[0])); err != nil {
		return fmt.Errorf("loopback: SIOCGIFFLAGS: %w", err)
	}
	flags := binary.NativeEndian.Uint16(ifr[16:]) | syscall.IFF_UP | syscall.IFF_RUNNING
	binary.NativeEndian.PutUint16(ifr[16:], flags)
	if err := ioctl(fd, syscall.SIOCSIFFLAGS, unsafe.Pointer(&ifr[0])); err != nil {
		return fmt.Errorf("loopback: SIOCSIFFLAGS: %w", err)
	}
	return nil
}

func ioctl(fd int, req uint, arg unsafe.Pointer) error {
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg)); e != 0 {
		return e
	}
	return nil
}
