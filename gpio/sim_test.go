package gpio

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/pin"
)

func simPinT(t *testing.T, s *Sim, name string) pgpio.PinIO {
	t.Helper()
	p, err := s.Pin(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSimPinNames(t *testing.T) {
	s := NewSim(slog.New(slog.DiscardHandler))
	a := simPinT(t, s, "GPIO17")
	if b := simPinT(t, s, "gpio17"); b != a {
		t.Error("Pin(gpio17) is not the same pin as Pin(GPIO17)")
	}
	if a.Name() != "GPIO17" || a.Number() != 17 || a.String() != "GPIO17" {
		t.Errorf("Name/Number/String = %q %d %q", a.Name(), a.Number(), a.String())
	}
	for _, bad := range []string{"GPIO28", "GPIO41", "GPIO-1", "GPIO+3", "17", "pin 11", "GPIO", "", "LED"} {
		_, err := s.Pin(bad)
		if err == nil {
			t.Errorf("Pin(%q): no error", bad)
			continue
		}
		if !strings.Contains(err.Error(), "GPIO0 to GPIO27") || !strings.Contains(err.Error(), `"`+bad+`"`) {
			t.Errorf("Pin(%q) error %q: want the name and the valid range", bad, err)
		}
	}
	if s.Name() != "sim" {
		t.Errorf("Name() = %q", s.Name())
	}
}

func TestSimUndrivenInputReadsItsPull(t *testing.T) {
	s := NewSim(slog.New(slog.DiscardHandler))
	for _, tt := range []struct {
		pull pgpio.Pull
		want pgpio.Level
	}{{pgpio.PullUp, pgpio.High}, {pgpio.PullDown, pgpio.Low}, {pgpio.Float, pgpio.Low}} {
		p := simPinT(t, s, "GPIO5")
		if err := p.In(tt.pull, pgpio.NoEdge); err != nil {
			t.Fatal(err)
		}
		if got := p.Read(); got != tt.want {
			t.Errorf("pull %s: Read() = %v, want %v", tt.pull, got, tt.want)
		}
		if p.Pull() != tt.pull {
			t.Errorf("Pull() = %s, want %s", p.Pull(), tt.pull)
		}
	}
	// PullNoChange keeps the previous pull.
	p := simPinT(t, s, "GPIO6")
	_ = p.In(pgpio.PullUp, pgpio.NoEdge)
	_ = p.In(pgpio.PullNoChange, pgpio.NoEdge)
	if p.Read() != pgpio.High {
		t.Error("In(PullNoChange) dropped the pull-up")
	}
}

func TestSimOutLogsAndReadsBack(t *testing.T) {
	log, buf := newTestLog(slog.LevelDebug)
	s := NewSim(log)
	p := simPinT(t, s, "GPIO17")
	for _, l := range []pgpio.Level{pgpio.High, pgpio.Low, pgpio.Low} {
		if err := p.Out(l); err != nil {
			t.Fatal(err)
		}
		if p.Read() != l {
			t.Errorf("Read() on an output = %v, want what it drives (%v)", p.Read(), l)
		}
	}
	// One debug line per change; writing the same level again is no change.
	want := []string{`level=DEBUG msg="GPIO17 -> high"`, `level=DEBUG msg="GPIO17 -> low"`}
	if got := buf.lines("GPIO17 ->"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("log = %q, want %q", got, want)
	}
	if f := p.(pin.PinFunc).Func(); f != pgpio.OUT_LOW {
		t.Errorf("Func() = %s, want %s", f, pgpio.OUT_LOW)
	}
	if err := p.PWM(pgpio.DutyHalf, 0); err == nil {
		t.Error("PWM on a sim pin: no error")
	}
}

func TestSimJumper(t *testing.T) {
	s := NewSim(slog.New(slog.DiscardHandler))
	out, in := simPinT(t, s, "GPIO17"), simPinT(t, s, "GPIO27")
	if err := in.In(pgpio.PullUp, pgpio.BothEdges); err != nil {
		t.Fatal(err)
	}
	// A jumper from a pin that is not an output yet changes nothing now.
	if err := s.Jumper("GPIO17", "GPIO27"); err != nil {
		t.Fatal(err)
	}
	if in.Read() != pgpio.High {
		t.Fatal("jumper from an unconfigured pin changed the input")
	}
	if in.WaitForEdge(0) {
		t.Fatal("edge without a change")
	}
	if err := out.Out(pgpio.Low); err != nil {
		t.Fatal(err)
	}
	if in.Read() != pgpio.Low {
		t.Fatal("output low did not reach the jumpered input")
	}
	if !in.WaitForEdge(time.Second) {
		t.Fatal("no edge on the jumpered input")
	}
	// Writing the same level again is no edge.
	_ = out.Out(pgpio.Low)
	if in.WaitForEdge(0) {
		t.Error("edge although the level did not change")
	}
	_ = out.Out(pgpio.High)
	if in.Read() != pgpio.High || !in.WaitForEdge(time.Second) {
		t.Error("output high: input not high or no edge")
	}
	// Drive overrides until the output is written again.
	if err := s.Drive("GPIO27", pgpio.Low); err != nil {
		t.Fatal(err)
	}
	if in.Read() != pgpio.Low {
		t.Error("Drive did not drive a jumpered input")
	}
	_ = out.Out(pgpio.High)
	if in.Read() != pgpio.High {
		t.Error("the output's next write did not win over Drive")
	}

	// A jumper from an output that already drives copies its level now.
	o2, i2 := simPinT(t, s, "GPIO5"), simPinT(t, s, "GPIO6")
	_ = o2.Out(pgpio.High)
	_ = i2.In(pgpio.PullDown, pgpio.NoEdge)
	if err := s.Jumper("GPIO5", "GPIO6"); err != nil {
		t.Fatal(err)
	}
	if i2.Read() != pgpio.High {
		t.Error("jumper did not copy the output's level at once")
	}

	for _, tt := range []struct{ from, to, want string }{
		{"GPIO17", "GPIO17", "itself"},
		{"GPIO5", "GPIO27", "already has a jumper from GPIO17"},
		{"GPIO27", "GPIO22", "first pin of a jumper must be an output"},
		{"GPIO22", "GPIO17", "second pin of a jumper must be an input"},
		{"GPIO99", "GPIO27", "GPIO0 to GPIO27"},
		{"GPIO17", "x", "GPIO0 to GPIO27"},
	} {
		if err := s.Jumper(tt.from, tt.to); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Jumper(%s, %s) = %v, want an error with %q", tt.from, tt.to, err, tt.want)
		}
	}
	if err := in.(*simPin).Out(pgpio.High); err == nil {
		t.Error("Out on the input end of a jumper: no error")
	}
}

func TestSimDrive(t *testing.T) {
	s := NewSim(slog.New(slog.DiscardHandler))
	if err := s.Drive("GPIO4", pgpio.High); err == nil || !strings.Contains(err.Error(), "GPIO4") || !strings.Contains(err.Error(), "not configured as an input") {
		t.Errorf("Drive on an unknown pin: %v", err)
	}
	out := simPinT(t, s, "GPIO17")
	_ = out.Out(pgpio.High)
	if err := s.Drive("GPIO17", pgpio.Low); err == nil {
		t.Error("Drive on an output: no error")
	}
	if err := s.Drive("GPIO30", pgpio.Low); err == nil {
		t.Error("Drive on GPIO30: no error")
	}

	edges := []struct {
		edge pgpio.Edge
		to   pgpio.Level
		want bool
	}{
		{pgpio.RisingEdge, pgpio.High, true},
		{pgpio.RisingEdge, pgpio.Low, false},
		{pgpio.FallingEdge, pgpio.High, false},
		{pgpio.FallingEdge, pgpio.Low, true},
		{pgpio.BothEdges, pgpio.High, true},
		{pgpio.BothEdges, pgpio.Low, true},
		{pgpio.NoEdge, pgpio.High, false},
	}
	for _, tt := range edges {
		p := simPinT(t, s, "GPIO9")
		start := !tt.to
		_ = p.In(pgpio.Float, pgpio.NoEdge)
		_ = s.Drive("GPIO9", start)
		if err := p.In(pgpio.Float, tt.edge); err != nil { // flushes edges
			t.Fatal(err)
		}
		if err := s.Drive("GPIO9", tt.to); err != nil {
			t.Fatal(err)
		}
		if got := p.WaitForEdge(0); got != tt.want {
			t.Errorf("%s, drive %v: WaitForEdge = %v, want %v", tt.edge, tt.to, got, tt.want)
		}
		if p.Read() != tt.to {
			t.Errorf("Read() = %v after Drive(%v)", p.Read(), tt.to)
		}
	}
}

func TestSimWaitForEdgeWakesAndHalts(t *testing.T) {
	s := NewSim(slog.New(slog.DiscardHandler))
	p := simPinT(t, s, "GPIO27")
	_ = p.In(pgpio.PullUp, pgpio.BothEdges)

	got := make(chan bool)
	go func() { got <- p.WaitForEdge(-1) }()
	// Drive until the waiter has seen it (the drive may happen before or
	// during the wait; both must count).
	_ = s.Drive("GPIO27", pgpio.Low)
	select {
	case ok := <-got:
		if !ok {
			t.Error("WaitForEdge returned false for a driven edge")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WaitForEdge not woken by Drive")
	}

	go func() { got <- p.WaitForEdge(-1) }()
	// Halt until the waiter returns: a Halt before the wait started only
	// interrupts waits in progress.
	deadline := time.After(10 * time.Second)
	for done := false; !done; {
		_ = p.Halt()
		select {
		case ok := <-got:
			if ok {
				t.Error("halted WaitForEdge returned true")
			}
			done = true
		case <-time.After(5 * time.Millisecond):
		case <-deadline:
			t.Fatal("Halt did not interrupt WaitForEdge")
		}
	}
	if p.WaitForEdge(time.Millisecond) {
		t.Error("WaitForEdge with no edge returned true")
	}
	out := simPinT(t, s, "GPIO17")
	_ = out.Out(pgpio.High)
	if out.WaitForEdge(time.Millisecond) {
		t.Error("WaitForEdge on an output returned true")
	}
}

func TestSimPinFuncs(t *testing.T) {
	s := NewSim(slog.New(slog.DiscardHandler))
	p := simPinT(t, s, "GPIO13").(pin.PinFunc)
	if p.Func() != pin.FuncNone {
		t.Errorf("fresh pin Func() = %s", p.Func())
	}
	if err := p.SetFunc(pgpio.OUT_HIGH); err != nil || p.Func() != pgpio.OUT_HIGH {
		t.Errorf("SetFunc(OUT_HIGH): %v, Func %s", err, p.Func())
	}
	if err := p.SetFunc(pgpio.IN); err != nil || p.Func() != pgpio.IN_LOW {
		t.Errorf("SetFunc(IN): %v, Func %s", err, p.Func())
	}
	if err := p.SetFunc("I2C1_SDA"); err == nil {
		t.Error("SetFunc(I2C1_SDA): no error")
	}
	if len(p.SupportedFuncs()) != 2 {
		t.Errorf("SupportedFuncs = %v", p.SupportedFuncs())
	}
	if got := simPinT(t, s, "GPIO13").Function(); got != string(pgpio.IN_LOW) {
		t.Errorf("Function() = %q", got)
	}
	if simPinT(t, s, "GPIO2").DefaultPull() != pgpio.PullUp || simPinT(t, s, "GPIO17").DefaultPull() != pgpio.PullDown {
		t.Error("DefaultPull does not follow the BCM283x reset pulls")
	}
}

// Many goroutines on jumpered pins at once (run with -race).
func TestSimConcurrent(t *testing.T) {
	s := NewSim(slog.New(slog.DiscardHandler))
	out, in := simPinT(t, s, "GPIO17"), simPinT(t, s, "GPIO27")
	_ = in.In(pgpio.PullUp, pgpio.BothEdges)
	_ = out.Out(pgpio.High)
	if err := s.Jumper("GPIO17", "GPIO27"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var waiters sync.WaitGroup
	waiters.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				in.WaitForEdge(time.Millisecond)
			}
		}
	})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				switch g {
				case 0:
					_ = out.Out(pgpio.Level(i%2 == 0))
				case 1:
					_ = s.Drive("GPIO27", pgpio.Level(i%2 == 0))
				case 2:
					_ = in.Read()
					_ = in.Function()
				case 3:
					_ = in.Halt()
					_, _ = s.Pin("GPIO27")
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	waiters.Wait()
	_ = out.Out(pgpio.Low)
	if in.Read() != pgpio.Low {
		t.Error("after the storm the input does not follow the output")
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
}
