package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/oscgpio/oscgpio/oscmap/bench"
)

// benchCmd measures a running bridge through a jumper (oscmap/bench does
// the work): the round trip with one message in flight, the highest
// in-order, loss-free rate, and where losses happened.
func benchCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	to := fs.String("to", "127.0.0.1:5005", "the bridge's `HOST:PORT`")
	listen := fs.String("listen", "127.0.0.1:5006", "receive the reports on `HOST:PORT` (the mapping's destination for the input)")
	send := fs.String("send", "/led", "`ADDRESS` of the output (sent 1 and 0, int32)")
	expect := fs.String("expect", "/button", "`ADDRESS` of the jumpered input's reports")
	count := fs.Int("count", 2000, "round trips to measure (after the warm-up)")
	warmup := fs.Int("warmup", 200, "unmeasured round trips first")
	maxRate := fs.Int("max-rate", 200000, "highest rate to try, in msg/s")
	step := fs.Duration("step", time.Second, "length of each rate step")
	grace := fs.Duration("grace", 500*time.Millisecond, "how long a step's reports are awaited after its last send")
	wait := fs.Duration("wait", 5*time.Second, "how long to wait for the first report")
	probe := fs.Bool("probe", false, "only wait (up to --wait) until the target answers, print the round trip and exit")
	asJSON := fs.Bool("json", false, "print one JSON object (for scripts) instead of the table")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, rest[0])
	}
	if *count < 1 || *warmup < 0 || *maxRate < 1 || *step <= 0 || *grace <= 0 || *wait <= 0 {
		return fmt.Errorf("%w: --count, --max-rate, --step, --grace and --wait must be positive, --warmup 0 or more", errUsage)
	}
	w := *warmup
	if w == 0 {
		w = -1 // the package's "none"
	}
	cfg := bench.Config{To: *to, Send: *send, Expect: *expect, Count: *count, Warmup: w,
		MaxRate: *maxRate, Step: *step, Grace: *grace, Wait: *wait}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b, err := bench.Listen(*listen)
	if err != nil {
		return err
	}
	defer b.Close()

	if *probe {
		rtt, err := b.Probe(ctx, cfg)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s answered in %.1f µs\n", *to, float64(rtt)/float64(time.Microsecond))
		return nil
	}
	cfg.OnStep = func(s bench.Step) { fmt.Fprintln(stderr, "step", bench.FormatStep(s)) }
	fmt.Fprintf(stderr, "measuring %s (%d round trips, then rate steps up to %d msg/s)\n", *to, *count, *maxRate)
	r, runErr := b.Run(ctx, cfg)
	if r != nil {
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(r); err != nil {
				return err
			}
		} else if err := bench.WriteText(stdout, r); err != nil {
			return err
		}
	}
	return runErr
}
