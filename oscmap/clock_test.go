package oscmap

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a logger in another goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestTimerPanicIsRecovered: a timer whose function panics is logged and
// counted, and the process goes on (an unrecovered panic in a timer's
// goroutine would end it without the outputs' safe levels).
func TestTimerPanicIsRecovered(t *testing.T) {
	var n atomic.Uint64
	var lb syncBuffer
	c := guardedClock{clock: realClock{}, log: slog.New(slog.NewTextHandler(&lb, nil)), panics: &n}
	done := make(chan struct{})
	c.AfterFunc(time.Millisecond, func() {
		defer close(done)
		panic("a bug in a pulse")
	})
	<-done
	deadline := time.Now().Add(5 * time.Second)
	for n.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n.Load() != 1 {
		t.Fatalf("panics counted: %d, want 1", n.Load())
	}
	if !strings.Contains(lb.String(), `msg="a timer of the bridge panicked; the bridge goes on" panic="a bug in a pulse"`) {
		t.Errorf("log: %s", lb.String())
	}
}
