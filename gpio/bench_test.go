package gpio

import (
	"context"
	"log/slog"
	"testing"

	pgpio "periph.io/x/conn/v3/gpio"
)

// BenchmarkSimEvent measures one change through the sim: Out on an output
// jumpered to an input (debounce 0) until In emits the Event.
func BenchmarkSimEvent(b *testing.B) {
	log := slog.New(slog.DiscardHandler)
	s := NewSim(log)
	op, _ := s.Pin("GPIO17")
	ip, _ := s.Pin("GPIO27")
	if err := op.Out(pgpio.High); err != nil {
		b.Fatal(err)
	}
	in, err := NewIn(ip, InConfig{Name: "b", Pull: pgpio.PullUp}, log)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Jumper("GPIO17", "GPIO27"); err != nil {
		b.Fatal(err)
	}
	events := make(chan Event, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); in.Run(ctx, func(e Event) { events <- e }) }()
	l := pgpio.High
	b.ReportAllocs()
	for b.Loop() {
		l = !l
		_ = op.Out(l)
		<-events
	}
	cancel()
	<-done
}
