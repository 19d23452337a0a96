package logs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// A writer nobody reads (a pipe with a paused reader) must not block Write
// or Close; what does not fit is dropped and counted.
func TestWriterNeverBlocks(t *testing.T) {
	pr, pw := io.Pipe()
	defer pr.Close()
	w := NewWriter(pw, 10)
	done := make(chan struct{})
	go func() {
		for i := 0; i < 1000; i++ {
			w.Write([]byte("a line of log\n"))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Write blocked on a writer nobody reads")
	}
	if d := w.Dropped(); d < 1000-21 { // a batch of at most 10 in the writer, 10 queued
		t.Errorf("Dropped = %d, want at least %d", d, 1000-21)
	}
	start := time.Now()
	if w.Close(50 * time.Millisecond) {
		t.Error("Close reported everything written to a pipe nobody reads")
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("Close took %v with a 50ms timeout", el)
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestWriterKeepsOrderAndFlushes(t *testing.T) {
	var buf syncBuf
	w := NewWriter(&buf, 1000)
	var want strings.Builder
	for i := 0; i < 500; i++ {
		line := strings.Repeat("x", i%7) + "\n"
		w.Write([]byte(line))
		want.WriteString(line)
	}
	if !w.Flush(10 * time.Second) {
		t.Fatal("Flush timed out")
	}
	if buf.String() != want.String() {
		t.Error("lines were lost or reordered")
	}
	if w.Dropped() != 0 {
		t.Errorf("Dropped = %d, want 0", w.Dropped())
	}
	w.Close(time.Second)
	w.Write([]byte("after close\n"))
	if strings.Contains(buf.String(), "after close") {
		t.Error("a write after Close was written")
	}
}

// fakeTime drives a Budget without sleeping.
type fakeTime struct {
	now    time.Time
	timers []func()
	due    []time.Time
}

func (f *fakeTime) after(d time.Duration, fn func()) {
	f.timers = append(f.timers, fn)
	f.due = append(f.due, f.now.Add(d))
}

func (f *fakeTime) advance(d time.Duration) {
	f.now = f.now.Add(d)
	for i := 0; i < len(f.timers); i++ {
		if !f.due[i].After(f.now) {
			fn := f.timers[i]
			f.timers = append(f.timers[:i], f.timers[i+1:]...)
			f.due = append(f.due[:i], f.due[i+1:]...)
			i--
			fn()
		}
	}
}

func TestBudget(t *testing.T) {
	ft := &fakeTime{now: time.Unix(1000, 0)}
	var reports []int
	b := NewBudget(20, func(n int) { reports = append(reports, n) })
	b.now = func() time.Time { return ft.now }
	b.after = ft.after

	allowed := 0
	for i := 0; i < 1000; i++ { // 1000 lines in the first 100 ms
		if b.Allow() {
			allowed++
		}
		if i%10 == 9 {
			ft.advance(time.Millisecond)
		}
	}
	if allowed != 20 {
		t.Errorf("allowed %d lines in one second, want 20", allowed)
	}
	if len(reports) != 0 {
		t.Fatalf("reported %v before the second was over", reports)
	}
	if len(ft.timers) != 1 {
		t.Fatalf("%d timers armed, want 1", len(ft.timers))
	}
	ft.advance(time.Second)
	if len(reports) != 1 || reports[0] != 980 {
		t.Fatalf("reports = %v, want [980]", reports)
	}
	// A quiet second: nothing refused, no timer, no report.
	ft.advance(5 * time.Second)
	if !b.Allow() || len(ft.timers) != 0 || len(reports) != 1 {
		t.Errorf("after the flood: timers %d, reports %v", len(ft.timers), reports)
	}
}

func TestClip(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: Clip}))
	long := "/" + strings.Repeat("é", 30000) // 60001 bytes, 2-byte characters
	log.Info(long, "address", long, "short", "/led", "n", 5)
	line := buf.String()
	if len(line) > 3*MaxValue {
		t.Errorf("a line of %d bytes: %.100q", len(line), line)
	}
	if !strings.Contains(line, "…(60001 bytes)") || !strings.Contains(line, "short=/led n=5") || !utf8.ValidString(line) {
		t.Errorf("line %q", line)
	}
}

// An error carrying a sender's string ("cannot use the string "..." as
// on/off", a /sim/<name> that is no pin) is cut like a string value: the
// warning about a 60 KB argument is not 60 KB long.
func TestClipError(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: Clip}))
	long := strings.Repeat("x", 60000)
	log.Warn("message not applied", "err", fmt.Errorf("cannot use the string %q (s) as on/off", long), "short", errors.New("pin busy"))
	line := buf.String()
	if len(line) > 3*MaxValue {
		t.Errorf("a line of %d bytes: %.200q", len(line), line)
	}
	if !strings.Contains(line, "…(60038 bytes)") || !strings.Contains(line, `short="pin busy"`) {
		t.Errorf("line %.600q", line)
	}
}
