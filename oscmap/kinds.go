package oscmap

import (
	"fmt"
	"math"
	"time"

	"github.com/oscgpio/oscgpio/config"
)

// otherKinds is what a reload does to encoders, ADCs and analog sensors,
// decided before b.mu is taken (watchers stop without it).
type otherKinds struct {
	keptEnc    map[string]*encoder // by name
	keptADC    map[string]*adcConn
	keptSensor map[string]*sensor
	goneEnc    []*encoder // stopped; pins to release
	goneADC    []*adcConn // to close
}

// stopOtherKinds stops the encoders and sensors that cfg removes or changes.
// The caller holds applyMu, not b.mu.
func (b *Bridge) stopOtherKinds(cfg *config.Config) otherKinds {
	b.mu.Lock()
	encs, sensors, adcs := b.encs, b.sensors, b.adcs
	b.mu.Unlock()
	k := otherKinds{keptEnc: map[string]*encoder{}, keptADC: map[string]*adcConn{}, keptSensor: map[string]*sensor{}}
	for name, a := range adcs {
		if c, ok := cfg.ADC(name); ok && sameADC(a.cfg, c) {
			k.keptADC[name] = a
		} else {
			k.goneADC = append(k.goneADC, a)
		}
	}
	for _, en := range encs {
		b.mu.Lock()
		dead := en.point.Err != ""
		b.mu.Unlock()
		if c, ok := cfg.Input(en.cfg.Name); ok && c.Kind == config.KindEncoder && sameEncoder(en.cfg, c) && !dead {
			k.keptEnc[en.cfg.Name] = en
			continue
		}
		if !en.stop(200 * time.Millisecond) {
			b.log.Error("encoder watcher did not stop: its pins are not released (restart the bridge to free them)", "input", en.name, "pins", en.pins)
			continue
		}
		k.goneEnc = append(k.goneEnc, en)
	}
	for _, s := range sensors {
		if c, ok := cfg.Input(s.cfg.Name); ok && c.Kind == config.KindAnalog && sameSensor(s.cfg, c) && k.keptADC[c.ADC] == s.adc {
			k.keptSensor[s.cfg.Name] = s
			continue
		}
		s.stop(200 * time.Millisecond)
	}
	return k
}

// releaseOtherKinds releases the pins of the encoders that go away. The
// caller holds b.mu.
func (b *Bridge) releaseOtherKinds(k otherKinds) {
	for _, en := range k.goneEnc {
		b.release(en.cfg.Pins[0].Name())
		b.release(en.cfg.Pins[1].Name())
	}
	for _, a := range k.goneADC {
		a.close()
	}
}

// applyOtherKinds opens the encoders, ADCs and sensors of cfg that are new
// or changed and keeps the others. The caller holds b.mu. On the first call
// an error is returned at once; on a reload it is passed to fail and the
// point left out.
func (b *Bridge) applyOtherKinds(cfg *config.Config, k otherKinds, first bool, fail func(error)) error {
	adcs := map[string]*adcConn{}
	for _, c := range cfg.ADCs {
		if a := k.keptADC[c.Name]; a != nil {
			adcs[c.Name] = a
			continue
		}
		adcs[c.Name] = newADCConn(c, b.sim != nil)
	}
	b.adcs = adcs
	var encs []*encoder
	var sensors []*sensor
	var started []func()
	for _, c := range cfg.Inputs {
		switch c.Kind {
		case config.KindEncoder:
			if en := k.keptEnc[c.Name]; en != nil {
				old := en.value() // the value, kept in the new mode and bounds
				en.cfg = c
				if c.Mode == "absolute" {
					en.pos = min(max(int(math.Round((old-c.Min)/c.Step)), 0), en.positions()-1)
				} else {
					en.pos = int(math.Round(old))
				}
				en.point.Value = en.value()
				en.point.Addresses = []string{c.Address}
				encs = append(encs, en)
				continue
			}
			en, err := b.openEncoder(c)
			if err != nil {
				if first {
					b.encs = encs
					return err
				}
				fail(err)
				continue
			}
			encs = append(encs, en)
			started = append(started, en.start)
		case config.KindAnalog:
			if s := k.keptSensor[c.Name]; s != nil {
				s.cfg = c
				s.point.Addresses = []string{c.Address}
				sensors = append(sensors, s)
				continue
			}
			a := adcs[c.ADC]
			if a == nil {
				err := fmt.Errorf("analog input %q: no adc %q", c.Name, c.ADC)
				if first {
					return err
				}
				fail(err)
				continue
			}
			s := b.newSensor(c, a)
			sensors = append(sensors, s)
			started = append(started, s.start)
		}
	}
	b.encs, b.sensors = encs, sensors
	for _, start := range started {
		start()
	}
	return nil
}

func sameADC(a, b config.ADC) bool {
	return a.Name == b.Name && a.Chip == b.Chip && a.Bus == b.Bus && a.Addr == b.Addr && a.CS == b.CS
}

// sameEncoder: the pins and their decoding are unchanged, so the watcher
// and the value are kept (mode, bounds, address and destinations may change).
func sameEncoder(a, b config.Input) bool {
	return a.Pins[0].BCM == b.Pins[0].BCM && a.Pins[1].BCM == b.Pins[1].BCM && a.Pull == b.Pull &&
		a.StepsPerDetent == b.StepsPerDetent && a.Reverse == b.Reverse
}

// sameSensor: the channel and its sampling are unchanged.
func sameSensor(a, b config.Input) bool {
	return a.ADC == b.ADC && a.Channel == b.Channel && a.Rate == b.Rate && a.Range == b.Range &&
		a.Deadband == b.Deadband && a.Smoothing == b.Smoothing && a.MaxRate == b.MaxRate
}
