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

// watchPins runs a pin watcher (an input's, an encoder's) until stop:
// run is its Run. A watcher that ends on its own with an error is a dead
// point: it is counted, its point says why (under b.mu), and the log says
// what no longer works.
func (w *watcher) watchPins(b *Bridge, p *Point, what string, run func(ctx context.Context) error, logArgs ...any) {
	w.goWatch(b.ctx, func(ctx context.Context) {
		err := run(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		b.deadInputs.Add(1)
		b.mu.Lock()
		p.Err = err.Error()
		b.mu.Unlock()
		b.log.Error(what+" (a reload re-creates it)", append(logArgs, "err", err)...)
	})
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
