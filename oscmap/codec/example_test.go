package codec_test

import (
	"fmt"
	"time"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/oscmap/codec"
)

// ParseArg turns the words of `oscgpio send /types ...` into arguments;
// Format prints the message as liblo's oscdump does.
func ExampleParseArg() {
	m := osc.NewMessage("/types")
	for _, w := range []string{"1", "1.5", "true", "hello", "i:7", "f:2", "s:3", "d:1.25", "h:9"} {
		v, err := codec.ParseArg(w)
		if err != nil {
			fmt.Println(err)
			return
		}
		m.Append(v)
	}
	fmt.Println(codec.Format(m))
	_, err := codec.ParseArg("i:x")
	fmt.Println(err)
	// Output:
	// /types ifTsifsdh 1 1.500000 #T "hello" 7 2.000000 "3" 1.250000 9
	// i:x: not an integer
}

func ExampleFormat() {
	fmt.Println(codec.Format(osc.NewMessage("/test", int32(0))))
	fmt.Println(codec.Format(osc.NewMessage("/x", float32(0.5))))
	fmt.Println(codec.Format(osc.NewMessage("/s", "hi")))
	fmt.Println(codec.Format(osc.NewMessage("/b", []byte{1, 2, 3})))
	fmt.Println(codec.Format(osc.NewMessage("/t", true, nil)))
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

	elems, err := codec.Decode(packet)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range elems {
		fmt.Println(codec.FormatElement(e))
	}

	_, err = codec.Decode([]byte("/led\x00\x00\x00\x00,x\x00\x00\x00\x00\x00\x01"))
	fmt.Println(err)
	// Output:
	// /led i 1
	// /relay s "off"
	// unknown type tag 'x' in argument 1 (this server reads i f s b h d t T F N)
}

func ExampleEncode() {
	p, err := codec.Encode(osc.NewMessage("/led", int32(1)))
	fmt.Printf("%q %v\n", p, err)
	_, err = codec.Encode(osc.NewMessage("led", int32(1)))
	fmt.Println(err)
	// Output:
	// "/led\x00\x00\x00\x00,i\x00\x00\x00\x00\x00\x01" <nil>
	// OSC address "led" must start with '/'
}
