package oscmap

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// clock is where the bridge's timers come from: the real one, or a fake
// one in tests (Options.clock).
type clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d, unless stopped.
	AfterFunc(d time.Duration, f func()) timer
}

// timer is a pending AfterFunc.
type timer interface{ Stop() bool }

type realClock struct{}

func (realClock) Now() time.Time                            { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) timer { return time.AfterFunc(d, f) }

// guardedClock runs every timer's function with a recover: a panic in a
// pulse, blink, fade, watchdog, hold or feedback timer is logged with its
// stack and counted (Counters.Panics), and the bridge goes on, as it does
// for a panic in a message handler, instead of ending the process without
// putting the outputs at their safe levels.
type guardedClock struct {
	clock
	log    *slog.Logger
	panics *atomic.Uint64
}

func (c guardedClock) AfterFunc(d time.Duration, f func()) timer {
	return c.clock.AfterFunc(d, func() {
		defer func() {
			if p := recover(); p != nil {
				c.log.Error("a timer of the bridge panicked; the bridge goes on", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				c.panics.Add(1)
			}
		}()
		f()
	})
}
