package oscmap

import (
	"context"
	"time"
)

// watcher is the goroutine of one point that watches its pins or samples
// its chip (an input, an encoder, a sensor): started once, stopped by a
// reload that removes the point or by Close.
type watcher struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// goWatch runs f on a new goroutine with a context that stop (or the end of
// parent) cancels.
func (w *watcher) goWatch(parent context.Context, f func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(parent)
	w.cancel, w.done = cancel, make(chan struct{})
	go func() {
		defer close(w.done)
		f(ctx)
	}()
}

// stop cancels the goroutine and waits for it, for at most d, and reports
// whether it ended. The caller must not hold b.mu (the goroutine may be
// waiting for it).
func (w *watcher) stop(d time.Duration) bool {
	if w.cancel != nil {
		w.cancel()
	}
	return w.wait(d)
}

// wait waits for the goroutine to end, for at most d.
func (w *watcher) wait(d time.Duration) bool {
	if w.done == nil {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-w.done:
		return true
	case <-t.C:
		return false
	}
}
