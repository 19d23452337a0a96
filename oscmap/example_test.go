package oscmap_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/oscmap"
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

// ParseArg turns the words of `oscgpio send /types ...` into arguments;
// Format prints the message as liblo's oscdump does.
func ExampleParseArg() {
	m := osc.NewMessage("/types")
	for _, w := range []string{"1", "1.5", "true", "hello", "i:7", "f:2", "s:3", "d:1.25", "h:9"} {
		v, err := oscmap.ParseArg(w)
		if err != nil {
			fmt.Println(err)
			return
		}
		m.Append(v)
	}
	fmt.Println(oscmap.Format(m))
	_, err := oscmap.ParseArg("i:x")
	fmt.Println(err)
	// Output:
	// /types ifTsifsdh 1 1.500000 #T "hello" 7 2.000000 "3" 1.250000 9
	// i:x: not an integer
}

func ExampleFormat() {
	fmt.Println(oscmap.Format(osc.NewMessage("/test", int32(0))))
	fmt.Println(oscmap.Format(osc.NewMessage("/x", float32(0.5))))
	fmt.Println(oscmap.Format(osc.NewMessage("/s", "hi")))
	fmt.Println(oscmap.Format(osc.NewMessage("/b", []byte{1, 2, 3})))
	fmt.Println(oscmap.Format(osc.NewMessage("/t", true, nil)))
	// Output:
	// /test i 0
	// /x f 0.500000
	// /s s "hi"
	// /b b [3 bytes]
	// /t TN #T Nil
}

func ExampleDecode() {
	b := osc.NewBundle(time.Time{}) // time tag 1: immediately
	b.Append(osc.NewMessage("/led", int32(1)))
	b.Append(osc.NewMessage("/relay", "off"))
	packet, _ := b.MarshalBinary()

	elems, err := oscmap.Decode(packet)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range elems {
		fmt.Println(oscmap.FormatElement(e))
	}

	_, err = oscmap.Decode([]byte("/led\x00\x00\x00\x00,x\x00\x00\x00\x00\x00\x01"))
	fmt.Println(err)
	// Output:
	// /led i 1
	// /relay s "off"
	// unknown type tag 'x' in argument 1 (this server reads i f s b h d t T F N)
}

// A server on a free port receives what a Sender sends.
func ExampleListen() {
	srv, err := oscmap.Listen("127.0.0.1:0", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		done <- srv.Serve(ctx, func(m *osc.Message, from net.Addr) {
			fmt.Println("received", oscmap.Format(m))
			cancel()
		})
	}()

	snd, err := oscmap.NewSender(nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer snd.Close()
	if err := snd.Send(srv.Addr().String(), osc.NewMessage("/led", int32(1))); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("Serve returned", <-done)
	fmt.Println("messages:", srv.Stats().Messages)
	// Output:
	// received /led i 1
	// Serve returned <nil>
	// messages: 1
}
