package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText writes r as a short table for people.
func WriteText(w io.Writer, r *Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "target %s: %s 1/0 in, %s reports to %s\n\n", r.To, r.Send, r.Expect, r.Listen)

	s := r.RTT.Summary
	fmt.Fprintf(&b, "round trip, one message in flight (%d after %d warm-up", r.RTT.Count, r.RTT.Warmup)
	if r.RTT.Timeouts > 0 {
		fmt.Fprintf(&b, "; %d got no report", r.RTT.Timeouts)
	}
	b.WriteString("), µs:\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "min\tp50\tp90\tp99\tmax\t")
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", usText(s.Min), usText(s.P50), usText(s.P90), usText(s.P99), usText(s.Max))
	tw.Flush()

	if len(r.Steps) > 0 {
		b.WriteString("\nrate steps, alternating 1/0 (1 s each, then a grace period):\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "msg/s\tsent at\tstalls\tsent\treceived\tmissing\tlate\tbreaks\tbench drops\ttarget drops\t\tresult")
		steps := slices.Clone(r.Steps)
		slices.SortStableFunc(steps, func(a, b Step) int { return a.Rate - b.Rate })
		for _, st := range steps {
			verdict := "pass"
			switch {
			case st.SenderLimited:
				verdict = "not held by the bench"
			case !st.Pass:
				verdict = "FAIL"
			}
			fmt.Fprintf(tw, "%d\t%.0f\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t\t%s\n", st.Rate, st.Achieved, st.Stalls, st.Sent, st.Received,
				st.Missing, st.Late, st.Breaks, dropsText(st.BenchDrops), dropsText(st.TargetDrops), verdict)
		}
		tw.Flush()
	}

	b.WriteString("\n")
	switch {
	case len(r.Steps) == 0:
	case r.BestRate == 0:
		fmt.Fprintf(&b, "highest in-order, loss-free rate: none (the %d msg/s step failed)\n", r.Steps[0].Rate)
	default:
		fmt.Fprintf(&b, "highest in-order, loss-free rate: %d msg/s\n", r.BestRate)
	}
	if n := len(r.Steps); n > 0 && r.Steps[n-1].SenderLimited {
		l := r.Steps[n-1]
		fmt.Fprintf(&b, "the bench could not send %d msg/s here (at best %.0f in %d tries): higher rates were not tried\n", l.Rate, l.Achieved, l.Attempts)
	}
	if f := r.Failed; f != nil {
		lost := max(f.Missing-f.Late, 0)
		fmt.Fprintf(&b, "failing step %d msg/s: %d of %d reports missing (%d came late, %d never), %d out of order or duplicated\n",
			f.Rate, f.Missing, f.Sent, min(f.Late, f.Missing), lost, f.Breaks)
		if where := lossPlace(f); where != "" {
			fmt.Fprintf(&b, "  where: %s\n", where)
		}
	}
	fmt.Fprintf(&b, "kernel drops over the run: bench socket %s %s", r.Listen, dropsText(r.BenchDrops))
	if r.RecvBuffer > 0 {
		fmt.Fprintf(&b, " (receive buffer %d KiB)", r.RecvBuffer/1024)
	}
	if r.TargetLocal {
		fmt.Fprintf(&b, ", target socket %s %s\n", r.To, dropsText(r.TargetDrops))
	} else {
		fmt.Fprintf(&b, ", target socket: not known (the target is on another machine)\n")
	}
	if r.CountersBefore == nil && r.CountersAfter == nil {
		b.WriteString("bridge counters: not available (no reply to " + StatsAddress + ")\n")
	} else {
		fmt.Fprintf(&b, "bridge counters: kernel_drops %s before, %s after\n",
			counterText(r.CountersBefore, "kernel_drops"), counterText(r.CountersAfter, "kernel_drops"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// FormatStep is one line about a finished step, for progress output.
func FormatStep(s Step) string {
	v := "pass"
	switch {
	case s.SenderLimited:
		v = fmt.Sprintf("not held by the bench in %d tries", s.Attempts)
	case !s.Pass:
		v = fmt.Sprintf("FAIL: %d of %d missing, %d late, %d breaks", s.Missing, s.Sent, s.Late, s.Breaks)
	}
	return fmt.Sprintf("%d msg/s (sent at %.0f): %s", s.Rate, s.Achieved, v)
}

func usText(d time.Duration) string {
	return fmt.Sprintf("%.1f", float64(d)/float64(time.Microsecond))
}

func dropsText(d int64) string {
	if d < 0 {
		return "?"
	}
	return fmt.Sprint(d)
}

func counterText(m map[string]int64, name string) string {
	if v, ok := m[name]; ok {
		return fmt.Sprint(v)
	}
	return "?"
}

// lossPlace says where the reports of a failing step were lost, from the
// kernel's drop counters during the step, or "" when it cannot tell.
func lossPlace(f *Step) string {
	lost := max(f.Missing-f.Late, 0)
	var parts []string
	if f.TargetDrops > 0 {
		parts = append(parts, fmt.Sprintf("the target's socket dropped %d datagrams (its receive buffer was full)", f.TargetDrops))
	}
	if f.BenchDrops > 0 {
		parts = append(parts, fmt.Sprintf("the bench's socket dropped %d reports (raise net.core.rmem_max, or run the bench as root)", f.BenchDrops))
	}
	switch {
	case len(parts) > 0:
		return strings.Join(parts, "; ")
	case lost > 0 && f.TargetDrops == 0 && f.BenchDrops == 0:
		return "no kernel drops at either socket: the target lost them itself"
	case lost > 0 && f.BenchDrops == 0:
		return "no kernel drops at the bench's socket; the target's are not known (another machine): the target, or the network"
	}
	return ""
}
