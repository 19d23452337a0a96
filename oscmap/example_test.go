package oscmap_test

import (
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/gpio"
	"github.com/oscgpio/oscgpio/oscmap"
	"github.com/oscgpio/oscgpio/oscmap/codec"
)

func ExampleBool() {
	for _, arg := range []any{int32(1), float32(0), 0.5, true, "Off", "high", []byte{1}, "maybe"} {
		on, err := oscmap.Bool(arg)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Printf("%T %v -> %v\n", arg, arg, on)
	}
	// Output:
	// int32 1 -> true
	// float32 0 -> false
	// float64 0.5 -> true
	// bool true -> true
	// string Off -> false
	// string high -> true
	// error: cannot use a blob (b) as on/off
	// error: cannot use the string "maybe" (s) as on/off: send on/off, true/false, high/low or 1/0
}

// Inject handles a message as if it came over OSC (the dashboard and the
// OSCQuery WebSocket send theirs so); Tap sees every message in and out.
func ExampleBridge_Inject() {
	log := slog.New(slog.DiscardHandler)
	cfg, err := config.Parse("stage.yaml", []byte("outputs:\n  - {name: led, pin: GPIO17, address: /led}\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	b, err := oscmap.NewBridge(cfg, gpio.NewSim(log), oscmap.Options{Listen: "127.0.0.1:0", Logger: log})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	cancel := b.Tap(func(t oscmap.Traffic) {
		fmt.Println("tap:", t.Out, t.Peer, codec.Format(t.Msg))
	})
	defer cancel()
	from := netip.MustParseAddrPort("192.168.1.20:9000")
	b.Inject(osc.NewMessage("/led", int32(1)), from, nil)
	b.Inject(osc.NewMessage("/oscgpio/get", "/led"), from, func(m *osc.Message) error {
		fmt.Println("answer:", codec.Format(m))
		return nil
	})
	// Output:
	// tap: false 192.168.1.20:9000 /led i 1
	// tap: false 192.168.1.20:9000 /oscgpio/get s "/led"
	// answer: /led i 1
	// tap: true 192.168.1.20:9000 /led i 1
}
