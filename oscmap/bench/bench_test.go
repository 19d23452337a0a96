package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The tests let the sender catch up from 1 s behind (MaxLag): a loaded machine must not
// make a step "not held".

// listen starts a Bench on a free loopback port.
func listen(t *testing.T) *Bench {
	t.Helper()
	b, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// fakeBridge is a target that behaves like the bridge with a jumper: it
// reports /button v to reportTo only when /led v changes the level, answers
// /oscgpio/stats to the sender, and, after lossFrom changes (0: never),
// loses every tenth report.
func fakeBridge(t *testing.T, reportTo netip.AddrPort, lossFrom int64) string {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var changes atomic.Int64
	go func() {
		buf := make([]byte, 2048)
		level := int32(0)
		packets := int32(0)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			packets++
			_ = walkPacket(buf[:n], func(addr string, args []any) {
				switch addr {
				case StatsAddress:
					r, _ := encode(StatsAddress, "kernel_drops", int32(0), "packets", packets)
					_, _ = c.WriteToUDPAddrPort(r, from)
				case "/led":
					v, ok := reportValue(args)
					if !ok || v == level {
						return
					}
					level = v
					k := changes.Add(1)
					if lossFrom > 0 && k > lossFrom && k%10 == 0 {
						return
					}
					r, _ := encode("/button", v)
					_, _ = c.WriteToUDPAddrPort(r, reportTo)
				}
			})
		}
	}()
	return c.LocalAddr().String()
}

func TestRunAgainstFakeBridge(t *testing.T) {
	b := listen(t)
	to := fakeBridge(t, b.Addr(), 0)
	var steps []Step
	r, err := b.Run(context.Background(), Config{To: to, Count: 100, Warmup: 10,
		Rates: []int{100, 1000}, Refine: -1, Step: 200 * time.Millisecond, MaxLag: time.Second, Grace: 300 * time.Millisecond,
		OnStep: func(s Step) { steps = append(steps, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if r.RTT.Timeouts != 0 || r.RTT.Summary.Min <= 0 || r.RTT.Summary.Max < r.RTT.Summary.P50 {
		t.Errorf("round trips: %+v", r.RTT)
	}
	if r.BestRate != 1000 || r.Failed != nil || len(steps) != 2 {
		t.Errorf("best %d, failed %+v, steps %+v: want 1000, none, 2", r.BestRate, r.Failed, steps)
	}
	for _, s := range r.Steps {
		if !s.Pass || s.Sent != s.Rate/5 || s.Received != s.Sent {
			t.Errorf("step %+v: want a pass with rate/5 messages", s)
		}
	}
	if r.CountersBefore == nil || r.CountersAfter["packets"] <= r.CountersBefore["packets"] {
		t.Errorf("counters before %v, after %v: want packets to grow", r.CountersBefore, r.CountersAfter)
	}
	if !r.TargetLocal || (procReadable() && (r.TargetDrops != 0 || r.BenchDrops != 0)) {
		t.Errorf("drops: local %v, target %d, bench %d; want a local target and 0, 0", r.TargetLocal, r.TargetDrops, r.BenchDrops)
	}

	var text strings.Builder
	if err := WriteText(&text, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"highest in-order, loss-free rate: 1000 msg/s", "bridge counters: kernel_drops 0 before, 0 after", "p99"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		BestRate int `json:"best_rate"`
		RTT      struct {
			Summary struct {
				P50 float64 `json:"p50_us"`
			} `json:"summary"`
		} `json:"rtt"`
	}
	if err := json.Unmarshal(js, &back); err != nil || back.BestRate != 1000 || back.RTT.Summary.P50 <= 0 {
		t.Errorf("JSON %s: best_rate %d, p50_us %v, %v", js, back.BestRate, back.RTT.Summary.P50, err)
	}
}

func TestRunFindsLosses(t *testing.T) {
	b := listen(t)
	// 1 probe + 50 round trips + 20 at 100 msg/s stay under 100 changes; the
	// 1000 msg/s step loses every tenth report.
	to := fakeBridge(t, b.Addr(), 100)
	r, err := b.Run(context.Background(), Config{To: to, Count: 50, Warmup: -1,
		Rates: []int{100, 1000}, Refine: -1, Step: 200 * time.Millisecond, MaxLag: time.Second, Grace: 200 * time.Millisecond, StatsWait: -1})
	if err != nil {
		t.Fatal(err)
	}
	if r.BestRate != 100 || r.Failed == nil || r.Failed.Rate != 1000 {
		t.Fatalf("best %d, failed %+v: want 100 and the 1000 step", r.BestRate, r.Failed)
	}
	if f := r.Failed; f.Missing < 15 || f.Missing > 25 || f.Breaks == 0 || f.Late != 0 {
		t.Errorf("failing step %+v: want about 20 missing, breaks, none late", f)
	}
	if r.CountersBefore != nil {
		t.Errorf("StatsWait -1 still asked: %v", r.CountersBefore)
	}
	var text strings.Builder
	_ = WriteText(&text, r)
	if !strings.Contains(text.String(), "failing step 1000 msg/s") || !strings.Contains(text.String(), "bridge counters: not available") ||
		(procReadable() && !strings.Contains(text.String(), "the target lost them itself")) {
		t.Errorf("text:\n%s", text.String())
	}
}

func TestProbeNoTarget(t *testing.T) {
	b := listen(t)
	// A bound socket that never answers: the probe gives up after Wait.
	silent, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	_, err = b.Probe(context.Background(), Config{To: silent.LocalAddr().String(), Wait: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "jumpered") {
		t.Errorf("Probe of a silent target: %v, want an error that says what to check", err)
	}
	r, err := b.Run(context.Background(), Config{To: silent.LocalAddr().String(), Wait: 100 * time.Millisecond})
	if r != nil || err == nil {
		t.Errorf("Run against a silent target: %+v, %v; want no result and an error", r, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Probe(ctx, Config{To: silent.LocalAddr().String()}); !errors.Is(err, context.Canceled) {
		t.Errorf("Probe with a cancelled context: %v", err)
	}
}

func TestListenBusy(t *testing.T) {
	b := listen(t)
	if _, err := Listen(b.Addr().String()); err == nil || !strings.Contains(err.Error(), "another program") {
		t.Errorf("Listen on a busy port: %v", err)
	}
}

// TestRunAgainstEchoProgram builds scripts/echo, the raw Go echo that
// scripts/bench measures, and benches it end to end.
func TestRunAgainstEchoProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH to build scripts/echo")
	}
	exe := filepath.Join(t.TempDir(), "echo")
	if out, err := exec.Command(goTool, "build", "-o", exe, "../../scripts/echo").CombinedOutput(); err != nil {
		t.Fatalf("building scripts/echo: %v\n%s", err, out)
	}
	b := listen(t)
	cmd := exec.Command(exe, "--listen", "127.0.0.1:0", "--to", b.Addr().String())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	to, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		t.Fatalf("echo's first line %q, %v: want listening on HOST:PORT", line, err)
	}
	if _, err := b.Probe(context.Background(), Config{To: to}); err != nil {
		t.Fatal(err)
	}
	r, err := b.Run(context.Background(), Config{To: to, Count: 200, Warmup: 20,
		Rates: []int{1000, 2000}, Refine: -1, Step: 200 * time.Millisecond, MaxLag: time.Second, Grace: 300 * time.Millisecond, StatsWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.RTT.Timeouts != 0 || r.BestRate != 2000 || r.Failed != nil {
		t.Errorf("the echo: timeouts %d, best %d, failed %+v; want 0, 2000, none", r.RTT.Timeouts, r.BestRate, r.Failed)
	}
	if r.CountersBefore != nil {
		t.Errorf("the echo answered /oscgpio/stats: %v", r.CountersBefore)
	}
}
