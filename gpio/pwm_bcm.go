package gpio

import (
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"

	"periph.io/x/conn/v3/driver/driverreg"
	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/host/v3/bcm283x"
	"periph.io/x/host/v3/distro"
)

// bcmPWMPin is what the bcm283x PWM uses of periph's *bcm283x.Pin.
type bcmPWMPin interface {
	PWM(pgpio.Duty, physic.Frequency) error
	Out(pgpio.Level) error
	Halt() error
}

// realBCMPin returns periph's bcm283x pin n when this is a Pi 1-4 (not a Pi
// 5, whose bcm2712 periph does not drive) and periph loaded its bcm283x-dma
// driver, which its PWM needs (it maps /dev/mem, so only as root).
func realBCMPin(n int) (bcmPWMPin, bool) {
	if !bcm283x.Present() {
		return nil, false
	}
	for _, c := range distro.DTCompatible() {
		if strings.HasPrefix(c, "brcm,bcm2712") {
			return nil, false
		}
	}
	st, err := driverreg.Init()
	if err != nil || st == nil {
		return nil, false
	}
	dma := false
	for _, d := range st.Loaded {
		dma = dma || d.String() == "bcm283x-dma"
	}
	if !dma {
		return nil, false
	}
	var p *bcm283x.Pin
	switch n {
	case 12:
		p = bcm283x.GPIO12
	case 13:
		p = bcm283x.GPIO13
	case 18:
		p = bcm283x.GPIO18
	case 19:
		p = bcm283x.GPIO19
	}
	if p == nil {
		return nil, false
	}
	return p, true
}

// bcmPWM is PWM through periph's bcm283x register driver.
type bcmPWM struct {
	name, pin string
	p         bcmPWMPin
	freq      physic.Frequency
	log       *slog.Logger

	mu     sync.Mutex
	duty   float64
	closed bool
}

var _ PWM = (*bcmPWM)(nil)

func newBCMPWM(p bcmPWMPin, pin string, c PWMConfig, log *slog.Logger) *bcmPWM {
	return &bcmPWM{name: c.Name, pin: pin, p: p, freq: c.Frequency, log: log}
}

// Set implements PWM. periph drives duty 0 and 1 as plain low and high.
func (b *bcmPWM) Set(duty float64) error {
	if err := checkDuty(b.name, duty); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return fmt.Errorf("pwm %q on %s: closed", b.name, b.pin)
	}
	d := pgpio.Duty(math.Round(duty * float64(pgpio.DutyMax)))
	if err := b.p.PWM(d, b.freq); err != nil {
		return fmt.Errorf("pwm %q on %s (bcm283x): %w", b.name, b.pin, err)
	}
	b.duty = duty
	return nil
}

// Duty implements PWM.
func (b *bcmPWM) Duty() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.duty
}

// Name implements PWM.
func (b *bcmPWM) Name() string { return b.name }

// Close implements PWM: it stops the clock or DMA (Halt) and drives the pin
// low, as periph asks before the program exits.
func (b *bcmPWM) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	b.duty = 0
	err := b.p.Halt()
	if e := b.p.Out(pgpio.Low); err == nil {
		err = e
	}
	if err != nil {
		return fmt.Errorf("pwm %q on %s (bcm283x): closing: %w", b.name, b.pin, err)
	}
	return nil
}
