// Package logs keeps the bridge's log for people without letting it slow or
// stop the bridge: a Writer that never blocks its caller, and a Budget that
// bounds how many lines a busy path writes.
package logs

import (
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Writer passes what is written to it to an underlying writer from its own
// goroutine, so a Write never waits for the terminal, a pipe or a disk. When
// the underlying writer stalls (a paused pager, Ctrl-S, a full pipe nobody
// reads) and the queue is full, lines are dropped and counted instead of
// blocking. Each Write is kept whole (slog writes one line per call).
type Writer struct {
	w       io.Writer
	mu      sync.Mutex
	queue   [][]byte
	max     int
	wake    chan struct{}
	done    chan struct{}
	closed  bool
	dropped atomic.Uint64
	idle    sync.Cond // signalled when the queue empties
	busy    bool      // the goroutine is writing
}

// NewWriter starts a Writer that keeps at most lines writes queued.
func NewWriter(w io.Writer, lines int) *Writer {
	if lines < 1 {
		lines = 1
	}
	lw := &Writer{w: w, max: lines, wake: make(chan struct{}, 1), done: make(chan struct{})}
	lw.idle.L = &lw.mu
	go lw.run()
	return lw
}

// Write queues a copy of p and returns at once. It never fails: a write
// that does not fit in the queue is dropped and counted (Dropped).
func (lw *Writer) Write(p []byte) (int, error) {
	lw.mu.Lock()
	if lw.closed || len(lw.queue) >= lw.max {
		lw.mu.Unlock()
		lw.dropped.Add(1)
		return len(p), nil
	}
	lw.queue = append(lw.queue, append([]byte(nil), p...))
	lw.mu.Unlock()
	select {
	case lw.wake <- struct{}{}:
	default:
	}
	return len(p), nil
}

// Dropped is how many writes were dropped because the queue was full.
func (lw *Writer) Dropped() uint64 { return lw.dropped.Load() }

func (lw *Writer) run() {
	defer close(lw.done)
	for {
		lw.mu.Lock()
		for len(lw.queue) == 0 {
			lw.busy = false
			lw.idle.Broadcast()
			if lw.closed {
				lw.mu.Unlock()
				return
			}
			lw.mu.Unlock()
			<-lw.wake
			lw.mu.Lock()
		}
		batch := lw.queue
		lw.queue = nil
		lw.busy = true
		lw.mu.Unlock()
		for _, b := range batch {
			lw.w.Write(b) // an error cannot be logged anywhere better
		}
	}
}

// Flush waits until everything queued has been written, or until timeout
// has passed, and reports whether it was all written.
func (lw *Writer) Flush(timeout time.Duration) bool {
	done := make(chan struct{})
	go func() {
		lw.mu.Lock()
		for len(lw.queue) > 0 || lw.busy {
			lw.idle.Wait()
		}
		lw.mu.Unlock()
		close(done)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// Close flushes for at most timeout, then stops accepting writes. Lines not
// written by then are lost; Close never waits longer than timeout.
func (lw *Writer) Close(timeout time.Duration) bool {
	ok := lw.Flush(timeout)
	lw.mu.Lock()
	lw.closed = true
	lw.mu.Unlock()
	select {
	case lw.wake <- struct{}{}:
	default:
	}
	return ok
}
