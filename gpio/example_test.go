package gpio_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"

	"github.com/oscgpio/oscgpio/gpio"
)

// An LED on GPIO17 and a button on GPIO27 (pull-up, to ground: active-low),
// on the simulated backend with a jumper from the LED's pin to the button's,
// as a wire on a breadboard would: switching the LED off pulls the button's
// line low, which reads as a press.
func Example() {
	// Log lines without the time, so the output is the same every run.
	log := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	}))
	sim := gpio.NewSim(log)
	ledPin, _ := sim.Pin("GPIO17")
	buttonPin, _ := sim.Pin("GPIO27")

	led, err := gpio.NewOut(ledPin, gpio.OutConfig{Name: "led", Initial: true}, log)
	if err != nil {
		fmt.Println(err)
		return
	}
	button, err := gpio.NewIn(buttonPin, gpio.InConfig{
		Name: "button", Pull: pgpio.PullUp, ActiveLow: true, Debounce: 20 * time.Millisecond,
	}, log)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := sim.Jumper("GPIO17", "GPIO27"); err != nil {
		fmt.Println(err)
		return
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := make(chan gpio.Event, 10)
	go button.Run(ctx, func(e gpio.Event) { events <- e })

	next := func() {
		select {
		case e := <-events:
			fmt.Printf("event: %s on %s active=%v\n", e.Name, e.Pin, e.Active)
		case <-time.After(10 * time.Second):
			fmt.Println("no event")
		}
	}
	_ = led.Set(false) // GPIO17 low: the button reads pressed
	next()
	_ = led.Toggle() // high again: released (reported at once, or when the debounce window ends)
	next()
	fmt.Println("led on:", led.On(), "button pressed:", button.Active())
	_ = led.SetSafe()

	// Output:
	// event: button on GPIO27 active=true
	// event: button on GPIO27 active=false
	// led on: true button pressed: false
	// level=INFO msg="output at safe level" name=led pin=GPIO17 level=low
}
