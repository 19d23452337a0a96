package oscmap

import (
	"log/slog"
	"math"
	"net/netip"
	"time"

	"periph.io/x/conn/v3/physic"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/gpio"
	"github.com/oscgpio/oscgpio/oscmap/mux"
)

// KindPWM is a pwm or servo output's point. Its Value is the value it was
// last set to, in its range (a brightness, an angle).
const KindPWM Kind = "pwm"

// fadeStep is how often a fade moves its output.
const fadeStep = 20 * time.Millisecond

// pwmOut is a pwm or servo output: a fader's value mapped from its range to
// a duty cycle (through gamma), or to a servo pulse. It is the mux handler
// of its addresses; its methods run with b.mu held.
type pwmOut struct {
	b     *Bridge
	cfg   config.Output
	pwm   gpio.PWM
	value float64 // in cfg.Range
	point Point

	timer timer // a running fade
	gen   uint64

	fade *pwmFade // the handler of <address>/fade
	wd   outWatchdog
}

type pwmFade struct{ o *pwmOut }

func (f *pwmFade) ServeOSC(r *mux.Request) { f.o.startFade(r) }

// openPWM opens a pwm or servo output at its initial value. The caller
// holds b.mu.
func (b *Bridge) openPWM(c config.Output) (*pwmOut, error) {
	freq := physic.Frequency(c.Frequency * float64(physic.Hertz))
	p, err := gpio.OpenPWM(b.backend, c.Pin.Name(), gpio.PWMConfig{Name: c.Name, Frequency: freq, Servo: c.Kind == config.OutputServo}, b.log)
	if err != nil {
		return nil, err
	}
	o := &pwmOut{b: b, cfg: c, pwm: p, point: Point{Name: c.Name, Kind: KindPWM, Pin: c.Pin.Name(), Addresses: c.Addresses}}
	o.fade = &pwmFade{o}
	o.set(c.InitialValue, CauseStart, netip.AddrPort{})
	return o, nil
}

// duty maps a value of the range to the duty cycle.
func (o *pwmOut) duty(v float64) float64 {
	lo, hi := o.cfg.Range[0], o.cfg.Range[1]
	x := min(max((v-lo)/(hi-lo), 0), 1)
	if o.cfg.Kind == config.OutputServo {
		pulse := o.cfg.MinPulse + time.Duration(x*float64(o.cfg.MaxPulse-o.cfg.MinPulse))
		return gpio.ServoDuty(pulse)
	}
	return math.Pow(x, o.cfg.Gamma)
}

// clamp keeps v within the range.
func (o *pwmOut) clamp(v float64) float64 {
	lo, hi := o.cfg.Range[0], o.cfg.Range[1]
	return min(max(v, min(lo, hi)), max(lo, hi))
}

// set drives the pin to value v (clamped to the range) and publishes it.
func (o *pwmOut) set(v float64, cause Cause, from netip.AddrPort) bool {
	v = o.clamp(v)
	if err := o.pwm.Set(o.duty(v)); err != nil {
		o.b.log.Error("could not drive output", "output", o.cfg.Name, "pin", o.cfg.Pin.Name(), "err", err)
		return false
	}
	if v == o.value && !o.point.Changed.IsZero() {
		return true
	}
	o.value = v
	now := o.b.clock.Now()
	o.point.Value, o.point.Changed, o.point.Cause, o.point.From = v, now, cause, from
	o.b.publish(Change{Point: o.cfg.Name, Kind: KindPWM, Pin: o.cfg.Pin.Name(), Value: v, Time: now, Cause: cause, From: from})
	return true
}

// ServeOSC sets the output from a number in its range; a boolean (or on,
// off) is the top or the bottom of the range. A new value ends a fade.
func (o *pwmOut) ServeOSC(r *mux.Request) {
	b := o.b
	o.kickWatchdog()
	v, ok := o.argValue(r, 0)
	if !ok {
		return
	}
	o.stopFade()
	if o.set(v, CauseOSC, r.From) {
		b.applied.Add(1)
	}
}

// argValue reads argument i as a value of the range.
func (o *pwmOut) argValue(r *mux.Request, i int) (float64, bool) {
	b, m := o.b, r.Msg
	if len(m.Arguments) <= i {
		b.rejected.Add(1)
		if b.logOK(slog.LevelWarn) {
			b.log.Warn("message not applied: a pwm or servo output needs a value", "output", o.cfg.Name, "address", m.Address, "from", r.From.String())
		}
		return 0, false
	}
	if _, isBool := m.Arguments[i].(bool); !isBool {
		if v, err := Number(m.Arguments[i]); err == nil {
			return v, true
		}
	}
	if on, err := Bool(m.Arguments[i]); err == nil {
		if on {
			return o.cfg.Range[1], true
		}
		return o.cfg.Range[0], true
	}
	b.rejected.Add(1)
	if b.logOK(slog.LevelWarn) {
		b.log.Warn("message not applied: not a value", "output", o.cfg.Name, "address", m.Address, "from", r.From.String())
	}
	return 0, false
}

func (o *pwmOut) stopFade() {
	o.gen++
	if o.timer != nil {
		o.timer.Stop()
		o.timer = nil
	}
}

// startFade handles <address>/fade <target> <seconds>: a ramp from the
// current value, computed from the clock (each step sets the value the time
// says), stopped by any new value.
func (o *pwmOut) startFade(r *mux.Request) {
	b := o.b
	o.kickWatchdog()
	target, ok := o.argValue(r, 0)
	if !ok {
		return
	}
	secs := 1.0
	if len(r.Msg.Arguments) > 1 {
		s, err := Number(r.Msg.Arguments[1])
		if err != nil || s < 0 {
			b.rejected.Add(1)
			return
		}
		secs = min(s, 3600)
	}
	o.stopFade()
	b.applied.Add(1)
	from, to := o.value, o.clamp(target)
	d := time.Duration(secs * float64(time.Second))
	start := b.clock.Now()
	gen := o.gen
	var step func()
	step = func() {
		elapsed := b.clock.Now().Sub(start)
		if d <= 0 || elapsed >= d {
			o.set(to, CauseTimer, netip.AddrPort{})
			return
		}
		o.set(from+(to-from)*float64(elapsed)/float64(d), CauseTimer, netip.AddrPort{})
		o.timer = b.clock.AfterFunc(min(fadeStep, d-elapsed), func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			if o.gen != gen || b.closed {
				return
			}
			o.timer = nil
			step()
		})
	}
	step()
}

// safePWM sets the output's safe value; a fade ends first.
func (b *Bridge) safePWM(o *pwmOut, cause Cause) error {
	o.stopFade()
	if cause != CauseWatchdog {
		o.wd.stop()
	}
	if !o.set(o.cfg.SafeValue, cause, netip.AddrPort{}) {
		return errPWMSafe
	}
	b.log.Info("output at safe level", "name", o.cfg.Name, "pin", o.cfg.Pin.Name(), "value", o.cfg.SafeValue)
	return nil
}

var errPWMSafe = errorString("could not set the safe value")

type errorString string

func (e errorString) Error() string { return string(e) }

// closeAtExit releases the PWM when its safe value is a duty of 0 (closing
// drives the pin low). Otherwise a hardware PWM (the kernel's, periph's)
// is left running at the safe duty, as the kernel keeps it after the
// process ends, so a lamp stays lit and a servo holds its safe angle; a
// software PWM, which ends with the process, is closed (the pin goes low),
// and the log says so.
func (o *pwmOut) closeAtExit() {
	if o.duty(o.cfg.SafeValue) == 0 {
		o.pwm.Close()
		return
	}
	if _, soft := o.pwm.(*gpio.SoftPWM); soft {
		o.b.log.Warn("software PWM ends with the bridge: the pin goes low, not to the safe value", "output", o.cfg.Name, "pin", o.cfg.Pin.Name())
		o.pwm.Close()
		return
	}
	o.b.log.Info("pwm left running at its safe value", "output", o.cfg.Name, "pin", o.cfg.Pin.Name(), "value", o.cfg.SafeValue)
}
