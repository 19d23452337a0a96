package gpio_test

import (
	"context"
	"fmt"
	"log/slog"

	pgpio "periph.io/x/conn/v3/gpio"

	"github.com/oscgpio/oscgpio/gpio"
)

// A rotary encoder on GPIO5 (A) and GPIO6 (B), common to GND, pull-ups, on
// the simulated backend: one detent clockwise with contact bounce on its
// first edge, then one counter-clockwise.
func ExampleEncoder() {
	log := slog.New(slog.DiscardHandler)
	sim := gpio.NewSim(log)
	a, _ := sim.Pin("GPIO5")
	b, _ := sim.Pin("GPIO6")
	enc, err := gpio.NewEncoder(a, b, gpio.EncoderConfig{Name: "volume", Pull: pgpio.PullUp}, log)
	if err != nil {
		fmt.Println(err)
		return
	}
	steps := make(chan gpio.EncoderStep)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go enc.Run(ctx, func(s gpio.EncoderStep) { steps <- s })

	// Clockwise: A falls first (bouncing), then B, then A and B rise.
	for _, c := range []struct {
		pin string
		l   pgpio.Level
	}{
		{"GPIO5", pgpio.Low}, {"GPIO5", pgpio.High}, {"GPIO5", pgpio.Low}, // bounce
		{"GPIO6", pgpio.Low}, {"GPIO5", pgpio.High}, {"GPIO6", pgpio.High},
		// Counter-clockwise: B first.
		{"GPIO6", pgpio.Low}, {"GPIO5", pgpio.Low}, {"GPIO6", pgpio.High}, {"GPIO5", pgpio.High},
	} {
		_ = sim.Drive(c.pin, c.l)
	}
	for range 2 {
		s := <-steps
		fmt.Println(s.Name, s.Delta, s.Seq)
	}
	// Output:
	// volume 1 1
	// volume -1 2
}

// A simulated ADC: the sim backend's stand-in for an ADS1115 or MCP3008,
// whose channels read what is set from outside (OSC /sim/<sensor> <value>).
func ExampleSimADC() {
	adc := gpio.NewSimADC("pots", 4)
	_ = adc.Set(2, 0.75)
	v, err := adc.Read(2)
	fmt.Println(adc.Name(), v, err)
	rate, _ := gpio.MaxRate(gpio.ChipADS1115)
	fmt.Println("an ADS1115 converts at most", rate, "times a second, shared by its channels")
	// Output:
	// simulated ADC pots 0.75 <nil>
	// an ADS1115 converts at most 860 times a second, shared by its channels
}
