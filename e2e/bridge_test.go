package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/hypebeast/go-osc/osc"
)

// jumperMapping is an LED on GPIO17 wired (in the simulator) to an input on
// GPIO27 that reports /button to a destination, so /led 1 comes back as
// /button 1; and an active-low relay on header pin 15 (GPIO22).
const jumperMapping = `
destinations:
  monitor: 127.0.0.1:%d
outputs:
  - name: led
    pin: GPIO17
    address: /led
    safe: off
  - name: relay
    pin: pin 15
    address: /relay
    active_low: true
    safe: off
inputs:
  - name: button
    pin: GPIO27
    pull: down
    debounce: 5ms
    address: /button
    to: [monitor]
sim:
  jumpers:
    - [GPIO17, GPIO27]
`

// oscdumpLine is how oscdump prints a message: time tag, address, types, values.
func oscdumpLine(msg string) string { return `^[0-9a-f]+\.[0-9a-f]+ ` + msg + `$` }

func TestLEDThroughJumperToButton(t *testing.T) {
	dump, monitor := oscdump(t)
	bridge := runBridge(t, "--config", writeMapping(t, jumperMapping, monitor))
	listen := bridge.port

	oscsend(t, listen, "/led", "i", "1")
	high := bridge.waitFor(`GPIO17 -> high`, 0)
	press := dump.waitFor(oscdumpLine(`/button i 1`), 0)

	oscsend(t, listen, "/led", "i", "0")
	bridge.waitFor(`GPIO17 -> low`, high)
	dump.waitFor(oscdumpLine(`/button i 0`), press)

	if got := dump.matching(`/button`); len(got) != 3 {
		t.Errorf("oscdump received %d /button messages, want exactly 3 (the state at start, press, release): %q", len(got), got)
	}
}

// Max and QLab send int32, Pd and TouchOSC float32, others int64, double,
// T/F and words: all of them drive the LED (read back through the jumpered
// input's reports); what cannot be read is refused.
func TestSenderTypes(t *testing.T) {
	mon := newPeer(t)
	bridge := runBridge(t, "--config", writeMapping(t, jumperMapping, mon.port()))
	listen := bridge.port
	mon.expect("/button i 0") // the state at start (report_at_start)
	steps := []struct {
		types, value, report string
	}{
		{"f", "1.0", "1"}, {"f", "0.0", "0"},
		{"h", "1", "1"}, {"h", "0", "0"},
		{"d", "0.5", "1"}, {"d", "0", "0"},
		{"T", "", "1"}, {"F", "", "0"},
		{"s", "on", "1"}, {"s", "off", "0"},
		{"s", "HIGH", "1"}, {"s", "low", "0"},
		{"s", "true", "1"}, {"s", "false", "0"},
	}
	// The active-low relay: on is electrical low (logged before the steps
	// below fill the second's budget of lines about single messages).
	oscsend(t, listen, "/relay", "i", "1")
	bridge.waitFor(`GPIO22 -> low`, 0)
	for _, s := range steps {
		args := []string{s.types}
		if s.value != "" {
			args = append(args, s.value)
		}
		oscsend(t, listen, "/led", args...)
		mon.expect("/button i " + s.report)
	}
	// A word it does not know is logged with the address and the sender, not guessed.
	oscsend(t, listen, "/led", "s", "maybe")
	bridge.waitFor(`level=WARN msg="message not applied".*address=/led from=127\.0\.0\.1:[0-9]+.*maybe`, 0)
	// No argument: the configured action, toggle by default.
	oscsend(t, listen, "/led")
	mon.expect("/button i 1")
}

func TestTutorialClientAgainstRun(t *testing.T) {
	bridge := runBridge(t) // the embedded tutorial mapping
	listen := bridge.port
	out, code := oscgpio(t, "send", "--to", fmt.Sprintf("127.0.0.1:%d", listen), "--count", "5", "--interval", "100ms", "/test", "{i}")
	if code != 0 {
		t.Fatalf("oscgpio send exited %d:\n%s", code, out)
	}
	at := 0
	for i := 0; i < 5; i++ {
		at = bridge.waitFor(fmt.Sprintf(`msg=recv osc="/test i %d" from=127\.0\.0\.1:`, i), at) + 1
	}
	// /test 0 leaves the LED off, 1 switches it on, 2..4 keep it on: the last
	// change logged is to high.
	bridge.waitFor(`GPIO17 -> high`, 0)
	levels := bridge.matching(`GPIO17 -> `)
	if len(levels) == 0 || !strings.Contains(levels[len(levels)-1], "GPIO17 -> high") {
		t.Errorf("GPIO17 levels after /test 0..4: %q, want the last one high", levels)
	}
}

func TestSendAgainstOscdump(t *testing.T) {
	dump, port := oscdump(t)
	out, code := oscgpio(t, "send", "--to", fmt.Sprintf("127.0.0.1:%d", port), "/types", "1", "1.5", "true", "false", "hello", "i:7", "f:2", "s:3", "d:1.25", "h:9")
	if code != 0 {
		t.Fatalf("oscgpio send exited %d:\n%s", code, out)
	}
	dump.waitFor(oscdumpLine(`/types ifTFsifsdh 1 1\.500000 #T #F "hello" 7 2\.000000 "3" 1\.250000 9`), 0)
}

func TestMalformedPacketBetweenValidOnes(t *testing.T) {
	bridge := runBridge(t, "--config", writeMapping(t, jumperMapping, newPeer(t).port()))
	listen := bridge.port
	oscsend(t, listen, "/led", "i", "1")
	at := bridge.waitFor(`GPIO17 -> high`, 0)

	c, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", listen))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// An unknown type tag 'x' after a valid address.
	if _, err := c.Write([]byte("/led\x00\x00\x00\x00,x\x00\x00\x00\x00\x00\x01")); err != nil {
		t.Fatal(err)
	}
	bridge.waitFor(`level=WARN.*malformed`, at)

	oscsend(t, listen, "/led", "i", "0")
	bridge.waitFor(`GPIO17 -> low`, at)
	if code := bridge.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	bridge.waitFor(`msg="oscgpio stopped".* applied=2 .*malformed=1 `, 0)
}

func TestBadPatternsNeitherCrashNorMatch(t *testing.T) {
	bridge := runBridge(t, "--config", writeMapping(t, jumperMapping, newPeer(t).port()))
	listen := bridge.port
	for _, pattern := range []string{"/led[", "/{", "/led[!", "/{led", "/l?d]"} {
		oscsend(t, listen, pattern, "i", "1")
		bridge.waitFor(`msg="no output is mapped to this address" address=`+regexpQuote(pattern)+` `, 0)
	}
	if n := bridge.count(`GPIO17 -> high`); n != 0 {
		t.Fatalf("a malformed pattern drove the LED (%d times)", n)
	}
	// The same server still serves, and real patterns match.
	oscsend(t, listen, "/l?d", "i", "1")
	bridge.waitFor(`GPIO17 -> high`, 0)
	oscsend(t, listen, "/{relay,led}", "i", "0")
	bridge.waitFor(`GPIO17 -> low`, 0)
}

func regexpQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Alternating /led 1, /led 0 at full speed through the jumper (debounce 0):
// every change is reported, in order, and the LED ends at the last value.
// The sender keeps at most 64 messages in flight (counted by the reports it
// got back), so no socket buffer overflows whatever the kernel grants a
// normal user.
func TestNoChangeLostAtFullSpeed(t *testing.T) {
	mon := newPeer(t)
	bridge := runBridge(t, "--config", writeMapping(t, strings.Replace(jumperMapping, "debounce: 5ms", "debounce: 0s", 1), mon.port()))
	src := newPeer(t)
	mon.expect("/button i 0") // the state at start (report_at_start)
	const n, window = 4000, 64
	got := 0
	for i := 0; i < n; i++ {
		src.send(bridge.port, osc.NewMessage("/led", int32((i+1)%2))) // 1, 0, 1, ... ends with 0
		for i+1-got > window {
			mon.expect(fmt.Sprintf("/button i %d", (got+1)%2))
			got++
		}
	}
	for ; got < n; got++ {
		mon.expect(fmt.Sprintf("/button i %d", (got+1)%2))
	}
	st := newPeer(t).stats(bridge.port)
	if st["messages"] != n+1 || st["applied"] != n || st["sent"] != n+1 || st["kernel_drops"] != 0 || st["send_dropped"] != 0 {
		t.Errorf("counters %v: want %d messages applied and reported (and the stats query, and the state at start), no drops", st, n)
	}
	if code := bridge.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	bridge.waitFor(fmt.Sprintf(`msg="oscgpio stopped" packets=%d filtered=0 denied=0 rate_limited=0 loop_limited=0 messages=%d .*applied=%d .*kernel_drops=0 `, n+1, n+1, n), 0)
}

func TestSIGTERMLeavesOutputsSafe(t *testing.T) {
	bridge := runBridge(t, "--config", writeMapping(t, jumperMapping, newPeer(t).port()))
	listen := bridge.port
	oscsend(t, listen, "/led", "i", "1")
	oscsend(t, listen, "/relay", "i", "1")
	at := bridge.waitFor(`GPIO17 -> high`, 0)
	at = max(at, bridge.waitFor(`GPIO22 -> low`, 0))
	if code := bridge.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	// The LED off is electrical low; the active-low relay off is electrical high.
	bridge.waitFor(`GPIO17 -> low`, at)
	bridge.waitFor(`GPIO22 -> high`, at)
	bridge.waitFor(`msg="output at safe level" name=led`, at)
	bridge.waitFor(`msg="output at safe level" name=relay`, at)
}

// Ctrl-C stops the bridge as SIGTERM does.
func TestSIGINT(t *testing.T) {
	bridge := runBridge(t)
	if code := bridge.stop(syscall.SIGINT); code != 0 {
		t.Fatalf("exit code %d after SIGINT, want 0", code)
	}
	bridge.waitFor(`msg="output at safe level" name=led`, 0)
}

// The embedded default is the tutorial example file; run with that file (its
// destination moved to a port of the test's), the button pressed from OSC
// reaches `oscgpio dump`.
func TestTutorialButtonToDump(t *testing.T) {
	dump := start(t, bin, "dump", "--listen", "127.0.0.1:0")
	at := dump.waitFor(`listening on 127\.0\.0\.1:[0-9]+`, 0)
	port := regexp.MustCompile(`:([0-9]+)$`).FindStringSubmatch(dump.snapshot()[at])[1]
	tutorial, err := os.ReadFile("../config/examples/tutorial.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mapping := strings.Replace(string(tutorial), "monitor: 127.0.0.1:5006", "monitor: 127.0.0.1:"+port, 1)
	if mapping == string(tutorial) {
		t.Fatal("the tutorial mapping no longer sends to 127.0.0.1:5006; update this test")
	}
	bridge := runBridge(t, "--config", writeMapping(t, "%s", mapping))
	to := fmt.Sprintf("127.0.0.1:%d", bridge.port)
	if out, code := oscgpio(t, "send", "--to", to, "/sim/GPIO27", "0"); code != 0 {
		t.Fatalf("send: %d %s", code, out)
	}
	at = dump.waitFor(`^/button i 1$`, 0)
	if out, code := oscgpio(t, "send", "--to", to, "/sim/pin 13", "1"); code != 0 {
		t.Fatalf("send: %d %s", code, out)
	}
	dump.waitFor(`^/button i 0$`, at)
}

func TestCheckAndRunRefuseTheSameErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte(`outputs:
  - name: led
    pin: GPIO41
    address: /led
    activ_low: true
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := oscgpio(t, "check", bad)
	if code != 1 {
		t.Fatalf("check exit code %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{bad + `:3:10: pin "GPIO41" is not on the 40-pin header`, bad + ":5:5: "} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	runOut, code := oscgpio(t, "run", "--gpio", "sim", "--http", "off", "--no-advertise", "--config", bad)
	if code != 1 {
		t.Fatalf("run exit code %d, want 1:\n%s", code, runOut)
	}
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(runOut, line) {
			t.Errorf("run does not say what check says: %q\nrun said:\n%s", line, runOut)
		}
	}
}

func TestCheckExamples(t *testing.T) {
	files, err := filepath.Glob("../config/examples/*.yaml")
	if err != nil || len(files) < 5 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		out, code := oscgpio(t, "check", f)
		if code != 0 || !strings.Contains(out, "GPIO") {
			t.Errorf("check %s: exit %d\n%s", f, code, out)
		}
	}
}

func TestPins(t *testing.T) {
	out, code := oscgpio(t, "pins")
	if code != 0 {
		t.Fatalf("pins exit %d\n%s", code, out)
	}
	for _, want := range []string{"GPIO17", "GPIO27", "GND", "5V", "3V3", "I2C1 SDA"} {
		if !strings.Contains(out, want) {
			t.Errorf("pins output lacks %q", want)
		}
	}
}
