package oscmap

import "time"

// CauseWatchdog is an output put at its safe level because no message
// reached it for its watchdog time.
const CauseWatchdog Cause = "watchdog"

// outWatchdog is an output's failsafe: armed by every message that reaches
// the output (and by /oscgpio/heartbeat), it fires when none came for its
// time. Its methods run with b.mu held.
type outWatchdog struct {
	t   timer
	gen uint64
}

// kick re-arms the watchdog for d (0: off); trip runs under b.mu when it
// fires.
func (w *outWatchdog) kick(b *Bridge, d time.Duration, trip func()) {
	w.stop()
	if d <= 0 {
		return
	}
	gen := w.gen
	w.t = b.clock.AfterFunc(d, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if w.gen != gen || b.closed {
			return
		}
		w.t = nil
		trip()
	})
}

func (w *outWatchdog) stop() {
	w.gen++
	if w.t != nil {
		w.t.Stop()
		w.t = nil
	}
}

// kickWatchdog re-arms a digital output's watchdog.
func (o *output) kickWatchdog() {
	if o.cfg.Watchdog <= 0 {
		o.wd.stop() // none (a reload may have removed it); no closure is made per message
		return
	}
	o.wd.kick(o.b, o.cfg.Watchdog, func() {
		o.b.log.Warn("watchdog: no message reached the output in time; it goes to its safe level until the next one",
			"output", o.cfg.Name, "pin", o.cfg.Pin.Name(), "watchdog", o.cfg.Watchdog.String())
		o.b.safe(o, CauseWatchdog)
	})
}

// kickWatchdog re-arms a pwm or servo output's watchdog.
func (o *pwmOut) kickWatchdog() {
	if o.cfg.Watchdog <= 0 {
		o.wd.stop()
		return
	}
	o.wd.kick(o.b, o.cfg.Watchdog, func() {
		o.b.log.Warn("watchdog: no message reached the output in time; it goes to its safe level until the next one",
			"output", o.cfg.Name, "pin", o.cfg.Pin.Name(), "watchdog", o.cfg.Watchdog.String())
		o.b.safePWM(o, CauseWatchdog)
	})
}

// heartbeat re-arms every output's watchdog without changing anything
// (/oscgpio/heartbeat). The caller holds b.mu.
func (b *Bridge) heartbeat() {
	for _, o := range b.outs {
		o.kickWatchdog()
	}
	for _, o := range b.pwms {
		o.kickWatchdog()
	}
}
