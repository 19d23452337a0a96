package oscmap

import (
	"log/slog"
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
}

// ServeOSC applies one message routed to the output.
func (o *output) ServeOSC(r *mux.Request) {
	b, m := o.b, r.Msg
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
	if err := o.out.Set(on); err != nil {
		b.log.Error("could not drive output", "output", o.cfg.Name, "pin", o.cfg.Pin.Name(), "err", err)
		return
	}
	b.applied.Add(1)
	o.set(on, CauseOSC, r.From)
}

// set records a level written to the pin and publishes it if it changed.
func (o *output) set(on bool, cause Cause, from netip.AddrPort) {
	if on == o.on && !o.point.Changed.IsZero() {
		return
	}
	o.on = on
	now := time.Now()
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

// safe writes the output's safe level (exit, reload) and logs it.
func (b *Bridge) safe(o *output, cause Cause) error {
	if err := o.out.Set(o.cfg.Safe); err != nil {
		b.log.Error("could not set the safe level", "output", o.cfg.Name, "pin", o.cfg.Pin.Name(), "err", err)
		return err
	}
	b.log.Info("output at safe level", "name", o.cfg.Name, "pin", o.cfg.Pin.Name(), "level", levelWord(o.cfg.Safe != o.cfg.ActiveLow))
	o.set(o.cfg.Safe, cause, netip.AddrPort{})
	return nil
}
