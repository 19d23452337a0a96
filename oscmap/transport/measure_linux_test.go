//go:build linux

package transport

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hypebeast/go-osc/osc"
)

// TestFloodHelper is the flooder of TestMeasureDeniedFlood, run in its own
// process: it sends small datagrams from OSCGPIO_FLOOD_FROM to
// OSCGPIO_FLOOD_TO as fast as it can for OSCGPIO_FLOOD_FOR, then prints how
// many it sent.
func TestFloodHelper(t *testing.T) {
	to := os.Getenv("OSCGPIO_FLOOD_TO")
	if to == "" {
		t.Skip("run by TestMeasureDeniedFlood")
	}
	d, _ := time.ParseDuration(os.Getenv("OSCGPIO_FLOOD_FOR"))
	c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(os.Getenv("OSCGPIO_FLOOD_FROM"))}, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(to)))
	if err != nil {
		t.Fatal(err)
	}
	p := msg("/relay", ",i", be32(1))
	n := 0
	for end := time.Now().Add(d); time.Now().Before(end); {
		for range 64 {
			if _, err := c.Write(p); err == nil {
				n++
			}
		}
	}
	fmt.Printf("SENT %d\n", n)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestMeasureDeniedFlood measures what a flood from a sender not in the
// allow list costs the bridge, with the list in the kernel and in userspace:
// the bridge's CPU time (this process; the flooder is another one), the
// datagrams Serve had to read, and the delivery and latency of an allowed
// sender sending 100 messages a second meanwhile. Run with
// OSCGPIO_MEASURE=1 (it takes a few seconds and prints figures).
func TestMeasureDeniedFlood(t *testing.T) {
	if os.Getenv("OSCGPIO_MEASURE") == "" {
		t.Skip("set OSCGPIO_MEASURE=1 to measure")
	}
	const dur = 3 * time.Second
	for _, where := range []string{"kernel", "userspace", "rate limit 200/s burst 50 (flooder allowed)"} {
		allow, _ := ParseAllow("127.0.0.2")
		opts := []Option{WithAllow(allow)}
		switch where {
		case "userspace":
			opts = append(opts, withUserspaceAllow())
		case "kernel":
		default:
			allow, _ = ParseAllow("127.0.0.2", "127.0.0.3")
			opts = []Option{WithAllow(allow), WithRateLimit(RateLimit{Rate: 200, Burst: 50})}
		}
		s, err := ListenUDP("127.0.0.1:0", nil, opts...)
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		recv := map[int32]time.Time{}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- s.Serve(ctx, func(m *osc.Message, _ netip.AddrPort) {
				if len(m.Arguments) == 1 {
					mu.Lock()
					recv[m.Arguments[0].(int32)] = time.Now()
					mu.Unlock()
				}
			})
		}()
		cmd := exec.Command(os.Args[0], "-test.run=^TestFloodHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), "OSCGPIO_FLOOD_TO="+s.Addr().String(), "OSCGPIO_FLOOD_FROM=127.0.0.3",
			"OSCGPIO_FLOOD_FOR="+dur.String())
		var out strings.Builder
		cmd.Stdout = &out
		cpu0, wall0 := cpuTime(), time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		good := loopSender(t, "127.0.0.2", s)
		var sentAt []time.Time
		tick := time.NewTicker(10 * time.Millisecond)
		for i := int32(0); time.Since(wall0) < dur; i++ {
			<-tick.C
			sentAt = append(sentAt, time.Now())
			write(t, good, msg("/led", ",i", be32(uint32(i))))
		}
		tick.Stop()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("flooder: %v\n%s", err, out.String())
		}
		last := int32(len(sentAt) - 1)
		eventually(t, "the allowed sender's last message handled", func() bool {
			mu.Lock()
			defer mu.Unlock()
			_, ok := recv[last]
			return ok
		})
		cpu, wall := cpuTime()-cpu0, time.Since(wall0)
		cancel()
		serveReturned(t, done, "cancel")
		st := s.Stats()
		var sent int
		fmt.Sscanf(out.String()[strings.Index(out.String(), "SENT "):], "SENT %d", &sent)
		mu.Lock()
		var lat []time.Duration
		for i, at := range sentAt {
			if r, ok := recv[int32(i)]; ok {
				lat = append(lat, r.Sub(at))
			}
		}
		mu.Unlock()
		slices.Sort(lat)
		med, p99 := time.Duration(0), time.Duration(0)
		if len(lat) > 0 {
			med, p99 = lat[len(lat)/2], lat[len(lat)*99/100]
		}
		t.Logf("%s: flood %d datagrams in %v (%.0f/s) from the other process; bridge CPU %v over %v wall (%.0f%% of a core); Serve read %d datagrams (denied in Serve %d, rate limited %d, kernel drops %d); allowed sender %d/%d delivered, latency median %v p99 %v",
			where, sent, dur, float64(sent)/dur.Seconds(), cpu.Round(time.Millisecond), wall.Round(time.Millisecond),
			100*cpu.Seconds()/wall.Seconds(), st.Packets, st.Denied, st.RateLimited, st.KernelDrops, len(lat), len(sentAt),
			med.Round(time.Microsecond), p99.Round(time.Microsecond))
	}
}

// withSingleReads makes Serve read one datagram per system call (recvmsg),
// as it did before reading in batches, to compare the two.
func withSingleReads() Option { return func(o *Options) { o.singleReads = true } }

// TestMeasureDrain measures how fast Serve reads a full receive buffer, one
// datagram per system call (recvmsg) and in batches (recvmmsg, the
// default): 127.0.0.2, allowed but rate limited to 200/s (burst 50), queues
// small datagrams up to 90% of what the buffer holds, then one from
// 127.0.0.1 marks the end; Serve is started and timed until the handler gets
// that last one. No sender runs meanwhile, so the figure is the reading
// alone (read, allow check, rate limit; nearly all are dropped by the
// limit), per datagram: what decides whether the bridge drains a flood from
// an allowed sender. Run with OSCGPIO_MEASURE=1; the best of 9 runs each,
// interleaved.
func TestMeasureDrain(t *testing.T) {
	if os.Getenv("OSCGPIO_MEASURE") == "" {
		t.Skip("set OSCGPIO_MEASURE=1 to measure")
	}
	allow, _ := ParseAllow("127.0.0.1", "127.0.0.2")
	listen := func(extra ...Option) *UDP {
		s, err := ListenUDP("127.0.0.1:0", slog.New(slog.DiscardHandler), append([]Option{WithAllow(allow), WithRateLimit(RateLimit{Rate: 200, Burst: 50})}, extra...)...)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	p := msg("/relay", ",i", be32(1))
	// How many datagrams the receive buffer holds: until the kernel drops one.
	s := listen()
	c := loopSender(t, "127.0.0.2", s)
	fits := 0
	for ; fits < 1000000; fits++ {
		write(t, c, p)
		if d, _ := memInfoDrops(s.conn); d != 0 {
			break
		}
	}
	s.Close()
	n := fits * 9 / 10
	drain := func(extra ...Option) time.Duration {
		s := listen(extra...)
		flood, last := loopSender(t, "127.0.0.2", s), loopSender(t, "127.0.0.1", s)
		for range n {
			write(t, flood, p)
		}
		write(t, last, msg("/end", ","))
		if d, _ := memInfoDrops(s.conn); d != 0 {
			t.Fatalf("%d dropped while queuing %d", d, n)
		}
		done := make(chan time.Time, 1)
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		start := time.Now()
		go func() {
			served <- s.Serve(ctx, func(m *osc.Message, _ netip.AddrPort) {
				if m.Address == "/end" {
					done <- time.Now()
				}
			})
		}()
		end := <-done
		cancel()
		serveReturned(t, served, "cancel")
		if st := s.Stats(); st.Packets != uint64(n+1) {
			t.Fatalf("read %d, want %d", st.Packets, n+1)
		}
		return end.Sub(start)
	}
	var single, batch time.Duration
	for range 9 {
		if d := drain(withSingleReads()); single == 0 || d < single {
			single = d
		}
		if d := drain(); batch == 0 || d < batch {
			batch = d
		}
	}
	per := func(d time.Duration) string {
		return fmt.Sprintf("%v (%v a datagram, %.0f/s)", d.Round(time.Microsecond), d/time.Duration(n), float64(n)/d.Seconds())
	}
	t.Logf("Serve drained %d queued datagrams (of the %d the buffer holds), best of 9: one per recvmsg %s; recvmmsg, up to %d at once, %s: %.0f%% less time",
		n, fits, per(single), readBatch, per(batch), 100*(1-batch.Seconds()/single.Seconds()))
}
