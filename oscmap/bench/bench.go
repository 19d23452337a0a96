// Package bench measures a running OSC-to-GPIO bridge under load, from the
// outside, through a jumper: the bridge's output (driven by messages to a
// send address such as /led) is wired to one of its inputs (reported as
// messages to an expect address such as /button, sent to the bench). It
// works the same against anything that answers each /led x with a /button
// x: the sim backend with a jumper and debounce 0, a Raspberry Pi with a
// jumper wire, or a plain UDP echo to compare with.
//
// It measures:
//   - the round trip with one message in flight (min, p50, p90, p99, max);
//   - the highest in-order, loss-free rate: 1-second steps of messages
//     alternating 1 and 0, paced by the clock, at rising rates; a step passes
//     when every report arrived and the reports alternate exactly;
//   - where losses happened: the kernel's drops at the bench's own socket and,
//     for a target on the same machine, at the target's socket
//     (/proc/net/udp), and the bridge's own kernel_drops counter when it
//     answers /oscgpio/stats.
//
// Use Listen to bind the socket the reports arrive at, then Run (or Probe).
package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// Config says what to measure and how. The zero value of a field means its
// default.
type Config struct {
	// To is the target's HOST:PORT (default 127.0.0.1:5005).
	To string
	// Send is the address the bench sends int32 values 1 and 0 to (default
	// /led); Expect is the address of the reports (default /button).
	Send, Expect string
	// Count is the number of round trips measured (default 2000), after
	// Warmup unmeasured ones (default 200; -1 for none).
	Count, Warmup int
	// Timeout is how long a round trip may take before it counts as lost
	// (default 500ms).
	Timeout time.Duration
	// MaxRate is the highest rate tried, in messages a second (default
	// 200000). Rates is the ladder climbed (default Ladder(MaxRate)).
	MaxRate int
	Rates   []int
	// Refine is how many bisection steps follow the first failing step
	// (default 2; -1 for none).
	Refine int
	// Step is how long each rate step sends (default 1s); Grace is how long
	// after its last send its reports are still awaited (default 500ms).
	Step, Grace time.Duration
	// MaxLag is how far the sender may fall behind its schedule and still
	// catch up, at no more than twice the rate (default 20ms); further
	// behind, it shifts the schedule instead, and the step takes longer (see
	// Step.Stalls and Achieved).
	MaxLag time.Duration
	// Wait is how long Run and Probe wait for the target's first report
	// (default 5s).
	Wait time.Duration
	// StatsWait is how long to wait for the reply to /oscgpio/stats (default
	// 500ms; -1 to not ask).
	StatsWait time.Duration
	// OnStep, when set, is called after each rate step (on Run's goroutine).
	OnStep func(Step)
}

func (c *Config) defaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.To, "127.0.0.1:5005")
	def(&c.Send, "/led")
	def(&c.Expect, "/button")
	if c.Count <= 0 {
		c.Count = 2000
	}
	switch {
	case c.Warmup == 0:
		c.Warmup = 200
	case c.Warmup < 0:
		c.Warmup = 0
	}
	if c.Timeout <= 0 {
		c.Timeout = 500 * time.Millisecond
	}
	if c.MaxRate <= 0 {
		c.MaxRate = 200000
	}
	if len(c.Rates) == 0 {
		c.Rates = Ladder(c.MaxRate)
	}
	switch {
	case c.Refine == 0:
		c.Refine = 2
	case c.Refine < 0:
		c.Refine = 0
	}
	if c.Step <= 0 {
		c.Step = time.Second
	}
	if c.Grace <= 0 {
		c.Grace = 500 * time.Millisecond
	}
	if c.MaxLag <= 0 {
		c.MaxLag = 20 * time.Millisecond
	}
	if c.Wait <= 0 {
		c.Wait = 5 * time.Second
	}
	if c.StatsWait == 0 {
		c.StatsWait = 500 * time.Millisecond
	}
}

// Step is the outcome of one rate step.
type Step struct {
	// Rate is the rate asked for; Achieved the rate the bench really sent at
	// (messages over the time it took to send them).
	Rate     int     `json:"rate"`
	Achieved float64 `json:"achieved"`
	Alternation
	// Late counts, for a failing step, the reports that still came in after
	// the grace period (slow, not lost).
	Late int `json:"late"`
	// BenchDrops and TargetDrops are the kernel's drops during the step at
	// the bench's socket and at the target's (-1: not known).
	BenchDrops  int64 `json:"bench_drops"`
	TargetDrops int64 `json:"target_drops"`
	// SenderLimited is true when the bench sent at under 95% of Rate (it
	// cannot send faster, or the machine did not run it often enough, see
	// Stalls): the step says nothing about the target at Rate, and is not
	// counted as a pass or a failure.
	SenderLimited bool `json:"sender_limited"`
	// Stalls counts the times the bench fell behind its schedule by over
	// Config.MaxLag and shifted it instead of bursting.
	Stalls int `json:"stalls"`
	// Attempts is how many times the step was run: a step the bench could
	// not send at its rate is tried up to three times.
	Attempts int  `json:"attempts"`
	Pass     bool `json:"pass"`
}

// RTT is the outcome of the round-trip measurement.
type RTT struct {
	// Count round trips were measured, after Warmup; Timeouts of all of
	// them got no report within the timeout.
	Count    int     `json:"count"`
	Warmup   int     `json:"warmup"`
	Timeouts int     `json:"timeouts"`
	Summary  Summary `json:"summary"`
}

// Result is everything Run measured.
type Result struct {
	To     string `json:"to"`
	Listen string `json:"listen"`
	Send   string `json:"send"`
	Expect string `json:"expect"`
	// RecvBuffer is the bench socket's receive buffer in bytes (0: unknown).
	RecvBuffer int    `json:"recv_buffer"`
	RTT        RTT    `json:"rtt"`
	Steps      []Step `json:"steps"`
	// BestRate is the highest rate that passed (0: none); Failed the lowest
	// step that failed (nil: none did, up to MaxRate).
	BestRate int   `json:"best_rate"`
	Failed   *Step `json:"failed,omitempty"`
	// BenchDrops and TargetDrops are the kernel's drops over the whole run
	// at the bench's socket and at the target's; TargetLocal says whether the
	// target is on this machine (only then is TargetDrops known; -1: not known).
	BenchDrops  int64 `json:"bench_drops"`
	TargetDrops int64 `json:"target_drops"`
	TargetLocal bool  `json:"target_local"`
	// CountersBefore and CountersAfter are the target's /oscgpio/stats reply
	// before and after the load (nil: no reply).
	CountersBefore map[string]int64 `json:"counters_before"`
	CountersAfter  map[string]int64 `json:"counters_after"`
}

// Bench is the bench's socket the reports arrive at. It is not safe for
// concurrent use.
type Bench struct {
	conn     *net.UDPConn
	addr     netip.AddrPort
	rcvbuf   int
	buf, oob []byte
	ovfl     int64 // the highest SO_RXQ_OVFL counter seen
}

// recvBuffer is the receive buffer the bench asks for: enough for a second
// of reports at 100 000 msg/s, so the bench is not what drops them.
const recvBuffer = 8 << 20

// Listen binds the socket the target's reports arrive at (HOST:PORT; port 0
// picks a free one, see Addr).
func Listen(addr string) (*Bench, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("report address %q: %w (use HOST:PORT, like 127.0.0.1:5006)", addr, err)
	}
	c, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("listening for reports on %s: %w (is another program, such as oscgpio dump, using that port?)", addr, err)
	}
	b := &Bench{
		conn: c,
		addr: c.LocalAddr().(*net.UDPAddr).AddrPort(),
		buf:  make([]byte, 65536),
		oob:  make([]byte, oobSize),
	}
	b.rcvbuf = tuneSocket(c, recvBuffer)
	return b, nil
}

// Addr is the address the reports must be sent to.
func (b *Bench) Addr() netip.AddrPort { return b.addr }

// Close closes the socket.
func (b *Bench) Close() error { return b.conn.Close() }

// target is a run's connection to the target and what the bench knows of it.
type target struct {
	cfg   Config
	conn  *net.UDPConn // connected to cfg.To: sends, and stats replies
	msg   [2][]byte    // Send with 0 and with 1
	batch *batcher     // sends the rate steps' batches
	local bool
	port  uint16
	level int32 // the value last confirmed by a report
}

// dial connects to the target and encodes the two messages.
func (b *Bench) dial(cfg Config) (*target, error) {
	ua, err := net.ResolveUDPAddr("udp", cfg.To)
	if err != nil {
		return nil, fmt.Errorf("target %q: %w (use HOST:PORT, like 127.0.0.1:5005)", cfg.To, err)
	}
	c, err := net.DialUDP("udp", nil, ua)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", cfg.To, err)
	}
	t := &target{cfg: cfg, conn: c, port: uint16(ua.Port), local: isLocal(ua.AddrPort().Addr())}
	_ = c.SetWriteBuffer(4 << 20)
	t.batch = newBatcher(c)
	for v := range 2 {
		if t.msg[v], err = encode(cfg.Send, int32(v)); err != nil {
			c.Close()
			return nil, err
		}
	}
	return t, nil
}

// send sends Send v to the target. A refused send (nobody listening yet, as
// the kernel learned from an earlier one) is not an error.
func (t *target) send(v int32) error {
	_, err := t.conn.Write(t.msg[v&1])
	if err != nil && errors.Is(err, syscall.ECONNREFUSED) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sending %s to %s: %w", t.cfg.Send, t.cfg.To, err)
	}
	return nil
}

// read waits until deadline for the next report and returns its value. ok
// is false at the deadline. Datagrams that are not reports are skipped.
func (b *Bench) read(expect string, deadline time.Time) (v int32, ok bool, err error) {
	if err := b.conn.SetReadDeadline(deadline); err != nil {
		return 0, false, err
	}
	for {
		var vals [1]int32
		n, err := b.readReports(expect, vals[:0])
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return 0, false, nil
			}
			return 0, false, err
		}
		if len(n) > 0 {
			return n[0], true, nil
		}
	}
}

// readReports reads one datagram and appends the values of the reports in
// it to vals.
func (b *Bench) readReports(expect string, vals []int32) ([]int32, error) {
	n, oobn, _, _, err := b.conn.ReadMsgUDPAddrPort(b.buf, b.oob)
	if err != nil {
		return vals, err
	}
	if d := ovflDrops(b.oob[:oobn]); d > b.ovfl {
		b.ovfl = d
	}
	_ = walkPacket(b.buf[:n], func(addr string, args []any) {
		if addr != expect {
			return
		}
		if v, ok := reportValue(args); ok {
			vals = append(vals, v)
		}
	})
	return vals, nil
}

// drain discards the reports already queued: it reads until none has come
// for quiet, for at most drainMax.
func (b *Bench) drain(expect string, quiet time.Duration) (n int) {
	end := time.Now().Add(drainMax)
	for time.Now().Before(end) {
		_, ok, err := b.read(expect, time.Now().Add(quiet))
		if !ok || err != nil {
			return n
		}
		n++
	}
	return n
}

// drainMax bounds a drain, against a target that never stops sending.
const drainMax = 5 * time.Second

// benchDrops is the kernel's drop count at the bench's socket: from the
// socket table when it lists the socket (it also counts a lost tail), else
// the last SO_RXQ_OVFL counter.
func (b *Bench) benchDrops() int64 {
	if d := portDrops(b.addr.Port()); d >= 0 {
		return d
	}
	if oobSize > 0 {
		return b.ovfl
	}
	return -1
}

// targetDrops is the kernel's drop count at the target's socket, or -1.
func (t *target) drops() int64 {
	if !t.local {
		return -1
	}
	return portDrops(t.port)
}

// sync finds the target's level: it sends v and waits for the report v,
// flipping v after each silence (a bridge reports only a change), until
// deadline. It returns the round trip of the answered probe.
func (b *Bench) sync(ctx context.Context, t *target, deadline time.Time) (time.Duration, error) {
	v := 1 - t.level
	per := min(t.cfg.Timeout, 200*time.Millisecond)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		b.drain(t.cfg.Expect, time.Millisecond)
		start := time.Now()
		if err := t.send(v); err != nil {
			return 0, err
		}
		for {
			until := start.Add(per)
			if deadline.Before(until) {
				until = deadline
			}
			got, ok, err := b.read(t.cfg.Expect, until)
			if err != nil {
				return 0, err
			}
			if !ok {
				break
			}
			if got == v {
				t.level = v
				return time.Since(start), nil
			}
		}
		v = 1 - v
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("sent %s 1 and 0 to %s for %v, and no %s report came to %s: is the bridge running there, with the output %s jumpered to an input that reports %s to %s?",
		t.cfg.Send, t.cfg.To, t.cfg.Wait, t.cfg.Expect, b.addr, t.cfg.Send, t.cfg.Expect, b.addr)
}

// Probe waits (up to cfg.Wait) until the target answers a Send message with
// a report, and returns that round trip: a readiness check for scripts.
func (b *Bench) Probe(ctx context.Context, cfg Config) (time.Duration, error) {
	cfg.defaults()
	t, err := b.dial(cfg)
	if err != nil {
		return 0, err
	}
	defer t.conn.Close()
	return b.sync(ctx, t, time.Now().Add(cfg.Wait))
}

// Run measures the target: round trips, then the rate steps, with the drop
// counters and the target's /oscgpio/stats around them. When the target
// never answers (within cfg.Wait) it returns only an error; when it stops
// answering later, or ctx ends, it returns what it measured so far and the
// error.
func (b *Bench) Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg.defaults()
	t, err := b.dial(cfg)
	if err != nil {
		return nil, err
	}
	defer t.conn.Close()
	r := &Result{To: cfg.To, Listen: b.addr.String(), Send: cfg.Send, Expect: cfg.Expect,
		RecvBuffer: b.rcvbuf, TargetLocal: t.local, BenchDrops: -1, TargetDrops: -1}

	if _, err := b.sync(ctx, t, time.Now().Add(cfg.Wait)); err != nil {
		return nil, err // nothing measured
	}
	r.CountersBefore = t.stats()
	benchBefore, targetBefore := b.benchDrops(), t.drops()
	search := NewRateSearch(cfg.Rates, cfg.Refine)
	// Also on an error part-way: what was measured is summed up.
	defer func() {
		r.BenchDrops = delta(benchBefore, b.benchDrops())
		r.TargetDrops = delta(targetBefore, t.drops())
		r.BestRate = search.Best()
		for i := range r.Steps {
			if s := &r.Steps[i]; !s.Pass && !s.SenderLimited && s.Rate == search.Failed() {
				r.Failed = s
			}
		}
	}()

	if r.RTT, err = b.roundTrips(ctx, t); err != nil {
		return r, err
	}
	for {
		rate, ok := search.Next()
		if !ok {
			break
		}
		var s Step
		for attempt := 1; attempt <= 3; attempt++ {
			if _, err := b.sync(ctx, t, time.Now().Add(cfg.Wait)); err != nil {
				return r, fmt.Errorf("before the %d msg/s step: %w", rate, err)
			}
			if s, err = b.step(ctx, t, rate); err != nil {
				return r, err
			}
			s.Attempts = attempt
			if !s.SenderLimited {
				break
			}
		}
		if s.SenderLimited {
			s.Pass = false
		}
		r.Steps = append(r.Steps, s)
		if cfg.OnStep != nil {
			cfg.OnStep(s)
		}
		if s.SenderLimited {
			break // this rate and higher ones would measure the bench
		}
		search.Record(s.Pass)
	}
	r.CountersAfter = t.stats()
	return r, nil
}

// roundTrips measures cfg.Count round trips after cfg.Warmup, one message in
// flight: send the value opposite to the level, wait for its report.
func (b *Bench) roundTrips(ctx context.Context, t *target) (RTT, error) {
	cfg := t.cfg
	res := RTT{Count: cfg.Count, Warmup: cfg.Warmup}
	samples := make([]time.Duration, 0, cfg.Count)
	inARow := 0
	for i := 0; i < cfg.Warmup+cfg.Count; i++ {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		v := 1 - t.level
		start := time.Now()
		if err := t.send(v); err != nil {
			return res, err
		}
		got := false
		for !got {
			w, ok, err := b.read(cfg.Expect, start.Add(cfg.Timeout))
			if err != nil {
				return res, err
			}
			if !ok {
				break
			}
			got = w == v
		}
		rtt := time.Since(start)
		t.level = v // the output was driven, reported or not
		if !got {
			res.Timeouts++
			inARow++
			if inARow >= 10 {
				res.Summary = Summarize(samples)
				return res, fmt.Errorf("round trips: 10 in a row got no %s report within %v: the target stopped answering", cfg.Expect, cfg.Timeout)
			}
			continue
		}
		inARow = 0
		if i >= cfg.Warmup {
			samples = append(samples, rtt)
		}
	}
	res.Summary = Summarize(samples)
	return res, nil
}

// pace is the time between two batches of a rate step: short, so a batch is
// a few dozen messages even at 200 000 msg/s.
const pace = 250 * time.Microsecond

// step sends Step's worth of messages at rate, alternating from the value
// opposite to the level, and judges the reports.
func (b *Bench) step(ctx context.Context, t *target, rate int) (Step, error) {
	cfg := t.cfg
	n := Due(cfg.Step, rate)
	s := Step{Rate: rate}
	first := 1 - t.level
	benchBefore, targetBefore := b.benchDrops(), t.drops()

	type readResult struct {
		vals []int32
		err  error
	}
	done := make(chan readResult, 1)
	// The reader stops at n reports or at the deadline; the sender moves the
	// deadline to its last send plus the grace period.
	if err := b.conn.SetReadDeadline(time.Now().Add(cfg.Step + cfg.Grace + 10*time.Second)); err != nil {
		return s, err
	}
	go func() {
		vals := make([]int32, 0, n+64)
		var err error
		for len(vals) < n {
			if vals, err = b.readReports(cfg.Expect, vals); err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					err = nil
				}
				break
			}
		}
		done <- readResult{vals, err}
	}()

	start := time.Now()
	// Batches of at most 2 ms' worth (at least 2): the sleep between two
	// batches asks for 250 µs but lasts about 1.1 ms on many Linux machines,
	// and a bench that was not scheduled for a moment must not test the
	// target with a long burst.
	p := NewPacer(start, rate, n, max(Due(8*pace, rate), 2), cfg.MaxLag)
	sent := 0
	var sendErr error
	for !p.Done() && sendErr == nil && ctx.Err() == nil {
		if k := p.Take(time.Now()); k > 0 {
			from := sent
			sendErr = t.batch.send(k, func(i int) []byte { return t.msg[first^int32((from+i)&1)] })
			if sendErr != nil {
				sendErr = fmt.Errorf("sending %s to %s: %w", cfg.Send, cfg.To, sendErr)
			}
			sent += k
		}
		if !p.Done() {
			time.Sleep(pace)
		}
	}
	elapsed := time.Since(start)
	_ = b.conn.SetReadDeadline(time.Now().Add(cfg.Grace))
	rr := <-done
	if sendErr != nil {
		return s, sendErr
	}
	if rr.err != nil {
		return s, fmt.Errorf("reading reports: %w", rr.err)
	}
	if err := ctx.Err(); err != nil {
		return s, err
	}

	s.Achieved = float64(sent) / elapsed.Seconds()
	s.SenderLimited = s.Achieved < 0.95*float64(rate)
	s.Stalls = p.Stalls
	s.Alternation = CheckAlternation(first, n, rr.vals)
	s.Pass = s.OK
	if !s.Pass {
		// Count what comes late: a slow target, not a lost report.
		s.Late = b.drain(cfg.Expect, 250*time.Millisecond)
	}
	s.BenchDrops = delta(benchBefore, b.benchDrops())
	s.TargetDrops = delta(targetBefore, t.drops())
	if n > 0 {
		t.level = first ^ int32((n-1)&1) // the last value sent
	}
	return s, nil
}

// stats asks the target for its counters and returns them, or nil when no
// reply came within StatsWait.
func (t *target) stats() map[string]int64 {
	if t.cfg.StatsWait < 0 {
		return nil
	}
	q, err := encode(StatsAddress)
	if err != nil {
		return nil
	}
	if _, err := t.conn.Write(q); err != nil {
		return nil
	}
	deadline := time.Now().Add(t.cfg.StatsWait)
	_ = t.conn.SetReadDeadline(deadline)
	buf := make([]byte, 65536)
	for {
		n, err := t.conn.Read(buf)
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) && time.Now().Before(deadline) {
				continue
			}
			return nil
		}
		var out map[string]int64
		_ = walkPacket(buf[:n], func(addr string, args []any) {
			if addr == StatsAddress && out == nil {
				out = parseCounters(args)
			}
		})
		if out != nil {
			return out
		}
	}
}
