package oscmap

import (
	"log/slog"
	"math"
	"net/netip"
	"time"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/gpio"
	"github.com/oscgpio/oscgpio/oscmap/mux"
)

// output is a digital output point. It is the mux handler of its addresses;
// its methods run with b.mu held.
type output struct {
	b     *Bridge
	cfg   config.Output
	out   *gpio.Out
	on    bool // the logical level last written
	point Point

	// The running pulse or blink, if any: a timer, and a generation that
	// every new level, pulse or blink (and the safe level) moves on, so a
	// timer of an older one does nothing.
	timer timer
	gen   uint64

	actions [3]*outputAction // the handlers of <address>/pulse, /blink, /toggle
	wd      outWatchdog

	// max_switch_rate: when the pin last switched, and the latest level
	// waiting for its slot.
	lastSwitch    time.Time
	pendingSwitch bool
	pendingOn     bool
	switchTimer   timer
	switchGen     uint64
}

// outputAction handles <address>/pulse, /blink or /toggle of an output.
type outputAction struct {
	o   *output
	act string // "pulse", "blink" or "toggle"
}

func (a *outputAction) ServeOSC(r *mux.Request) { a.o.action(a.act, r) }

func newOutput(b *Bridge, c config.Output, out *gpio.Out) *output {
	o := &output{b: b, cfg: c, out: out, point: Point{Name: c.Name, Kind: KindOutput, Pin: c.Pin.Name(), Addresses: c.Addresses}}
	for i, act := range digitalActions {
		o.actions[i] = &outputAction{o: o, act: act}
	}
	return o
}

// digitalActions are the actions of a digital output (a pwm or servo
// output has /fade instead).
var digitalActions = [3]string{"pulse", "blink", "toggle"}

// Defaults and limits of the actions' arguments.
const (
	defaultBlinkPeriod = time.Second
	minActionTime      = time.Millisecond
	maxActionTime      = time.Hour
)

// ServeOSC applies one message routed to the output.
func (o *output) ServeOSC(r *mux.Request) {
	b, m := o.b, r.Msg
	o.kickWatchdog()
	if o.cfg.OnMessage == "pulse" {
		if len(m.Arguments) > 0 {
			if on, err := Bool(m.Arguments[0]); err != nil || !on {
				if b.logOK(slog.LevelInfo) {
					b.log.Info("message not applied: on_message: pulse pulses on a message that reads as on, or has no argument", "output", o.cfg.Name, "address", m.Address, "from", r.From.String())
				}
				return
			}
		}
		o.pulse(o.cfg.Pulse, r.From)
		return
	}
	on := !o.on
	if len(m.Arguments) == 0 {
		switch o.cfg.NoArg {
		case "on":
			on = true
		case "off":
			on = false
		case "ignore":
			if b.logOK(slog.LevelInfo) {
				b.log.Info("message without argument ignored (no_arg: ignore)", "output", o.cfg.Name, "address", m.Address, "from", r.From.String())
			}
			return
		}
	} else {
		v, err := Bool(m.Arguments[0])
		if err != nil {
			b.rejected.Add(1)
			if b.logOK(slog.LevelWarn) {
				b.log.Warn("message not applied", "output", o.cfg.Name, "address", m.Address, "from", r.From.String(), "err", err)
			}
			return
		}
		on = v
	}
	o.stopTimer() // a new level ends a pulse or a blink
	if o.write(on, CauseOSC, r.From) {
		b.applied.Add(1)
	}
}

// write drives the pin to on and records it; false (logged) when the pin
// failed.
func (o *output) write(on bool, cause Cause, from netip.AddrPort) bool {
	if o.cfg.MaxSwitchRate > 0 {
		if o.limitSwitch(on) {
			return true // coalesced: the latest level is written at the next slot
		}
		o.lastSwitch = o.b.clock.Now()
	}
	if err := o.out.Set(on); err != nil {
		o.b.log.Error("could not drive output", "output", o.cfg.Name, "pin", o.cfg.Pin.Name(), "err", err)
		return false
	}
	o.set(on, cause, from)
	return true
}

// limitSwitch keeps the output within max_switch_rate (a relay's rating):
// a change that comes sooner than 1/rate after the last switch is not
// written now; the latest level is written when the time allows (never a
// queue), and counted. It reports whether on was held back.
func (o *output) limitSwitch(on bool) bool {
	b := o.b
	gap := time.Duration(float64(time.Second) / o.cfg.MaxSwitchRate)
	now := b.clock.Now()
	if on == o.on {
		o.pendingSwitch = false // back where it is: nothing waits
		return false
	}
	if o.lastSwitch.IsZero() || now.Sub(o.lastSwitch) >= gap {
		return false
	}
	b.coalesced.Add(1)
	o.pendingSwitch, o.pendingOn = true, on
	if o.switchTimer == nil {
		gen := o.switchGen
		o.switchTimer = b.clock.AfterFunc(o.lastSwitch.Add(gap).Sub(now), func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			if o.switchGen != gen || b.closed {
				return
			}
			o.switchTimer = nil
			if o.pendingSwitch {
				o.pendingSwitch = false
				o.write(o.pendingOn, CauseTimer, netip.AddrPort{})
			}
		})
	}
	return true
}

// stopSwitch drops a level waiting for the switch rate (the safe level
// goes first).
func (o *output) stopSwitch() {
	o.switchGen++
	o.pendingSwitch = false
	if o.switchTimer != nil {
		o.switchTimer.Stop()
		o.switchTimer = nil
	}
}

// stopTimer ends a running pulse or blink. The caller holds b.mu.
func (o *output) stopTimer() {
	o.gen++
	if o.timer != nil {
		o.timer.Stop()
		o.timer = nil
	}
}

// after runs f under b.mu after d, unless a newer level, pulse or blink, the
// safe level or Close came first.
func (o *output) after(d time.Duration, f func()) {
	b, gen := o.b, o.gen
	o.timer = b.clock.AfterFunc(d, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if o.gen != gen || b.closed {
			return
		}
		o.timer = nil
		f()
	})
}

// action handles <address>/pulse [seconds], /blink [period [count]] and
// /toggle.
func (o *output) action(act string, r *mux.Request) {
	b, m := o.b, r.Msg
	o.kickWatchdog()
	arg := func(i int, what string) (float64, bool, bool) { // value, given, good
		if len(m.Arguments) <= i {
			return 0, false, true
		}
		v, err := Number(m.Arguments[i])
		if err != nil || v <= 0 {
			b.rejected.Add(1)
			if b.logOK(slog.LevelWarn) {
				b.log.Warn("message not applied: "+what+" must be a number above 0", "output", o.cfg.Name, "address", m.Address, "from", r.From.String())
			}
			return 0, true, false
		}
		return v, true, true
	}
	seconds := func(v float64) time.Duration { // to the microsecond: a float32 0.1 is 0.1 s
		d := time.Duration(math.Round(min(v, maxActionTime.Seconds())*1e6)) * time.Microsecond
		return min(max(d, minActionTime), maxActionTime)
	}
	switch act {
	case "pulse":
		d := o.cfg.Pulse
		v, given, good := arg(0, "the pulse's length in seconds")
		if !good {
			return
		}
		if given {
			d = seconds(v)
		}
		o.pulse(d, r.From)
	case "blink":
		period, count := defaultBlinkPeriod, 0
		v, given, good := arg(0, "the blink's period in seconds")
		if !good {
			return
		}
		if given {
			period = seconds(v)
		}
		n, given, good := arg(1, "the blink's count")
		if !good {
			return
		}
		if given {
			count = max(1, int(math.Round(min(n, 1e9)))) // a count below 1 is one blink, never "forever"
		}
		o.blink(period, count, r.From)
	case "toggle":
		o.stopTimer()
		if !o.write(!o.on, CauseOSC, r.From) {
			return
		}
	}
	b.applied.Add(1)
}

// pulse turns the output on for d, then off; a new pulse while on restarts
// the time.
func (o *output) pulse(d time.Duration, from netip.AddrPort) {
	o.stopTimer()
	if !o.write(true, CauseOSC, from) {
		return
	}
	o.after(d, func() { o.write(false, CauseTimer, netip.AddrPort{}) })
}

// blink turns the output on and off with period (on for cfg.Duty of it),
// count times (0: until a new level). The times are computed from the start,
// so the blink does not drift.
func (o *output) blink(period time.Duration, count int, from netip.AddrPort) {
	o.stopTimer()
	if !o.write(true, CauseOSC, from) {
		return
	}
	start := o.b.clock.Now()
	onFor := time.Duration(float64(period) * o.cfg.Duty)
	var cycle func(k int, on bool)
	cycle = func(k int, on bool) {
		// on: the output went on at start + k*period; next, off.
		// off: it went off; next, on again, unless the count is done.
		var next time.Time
		if on {
			next = start.Add(time.Duration(k)*period + onFor)
		} else {
			if count > 0 && k+1 >= count {
				return
			}
			next = start.Add(time.Duration(k+1) * period)
		}
		o.after(next.Sub(o.b.clock.Now()), func() {
			if on {
				o.write(false, CauseTimer, netip.AddrPort{})
				cycle(k, false)
				return
			}
			o.write(true, CauseTimer, netip.AddrPort{})
			cycle(k+1, true)
		})
	}
	cycle(0, true)
}

// set records a level written to the pin and publishes it if it changed.
func (o *output) set(on bool, cause Cause, from netip.AddrPort) {
	if on == o.on && !o.point.Changed.IsZero() {
		return
	}
	o.on = on
	now := o.b.clock.Now()
	o.point.Value, o.point.Changed, o.point.Cause, o.point.From = boolValue(on), now, cause, from
	b := o.b
	if b.logOK(slog.LevelInfo) {
		b.log.Info(o.cfg.Pin.Name()+" -> "+levelWord(on != o.cfg.ActiveLow), "output", o.cfg.Name, "cause", string(cause))
	}
	b.publish(Change{Point: o.cfg.Name, Kind: KindOutput, Pin: o.cfg.Pin.Name(), Value: o.point.Value, Time: now, Cause: cause, From: from})
}

func levelWord(high bool) string {
	if high {
		return "high"
	}
	return "low"
}

// safe writes the output's safe level (exit, reload) and logs it; a pulse
// or blink ends first.
func (b *Bridge) safe(o *output, cause Cause) error {
	o.stopTimer()
	o.stopSwitch() // the safe level is written at once, whatever the switch rate
	if cause != CauseWatchdog {
		o.wd.stop()
	}
	if err := o.out.Set(o.cfg.Safe); err != nil {
		b.log.Error("could not set the safe level", "output", o.cfg.Name, "pin", o.cfg.Pin.Name(), "err", err)
		return err
	}
	b.log.Info("output at safe level", "name", o.cfg.Name, "pin", o.cfg.Pin.Name(), "level", levelWord(o.cfg.Safe != o.cfg.ActiveLow))
	o.set(o.cfg.Safe, cause, netip.AddrPort{})
	return nil
}
