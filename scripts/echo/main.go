// Command echo is the raw Go UDP echo that scripts/bench measures beside
// the bridge: for each datagram holding an OSC message /led with one int32
// argument x, it sends /button x to --to, from the socket it received on.
// One reader, no logging, no decoding beyond those bytes. It prints the
// address it listens on once (useful with port 0) and runs until killed.
//
//	go run ./scripts/echo --listen 127.0.0.1:5005 --to 127.0.0.1:5006
package main

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"os"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:5005", "receive /led on `HOST:PORT` (port 0: any free port)")
	to := flag.String("to", "127.0.0.1:5006", "send /button to `HOST:PORT`")
	flag.Parse()
	if err := run(*listen, *to); err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		os.Exit(1)
	}
}

// led is the start of /led with an int32: address and type tags, padded.
var led = []byte("/led\x00\x00\x00\x00,i\x00\x00")

func run(listen, to string) error {
	la, err := net.ResolveUDPAddr("udp", listen)
	if err != nil {
		return err
	}
	dst, err := net.ResolveUDPAddr("udp", to)
	if err != nil {
		return err
	}
	c, err := net.ListenUDP("udp", la)
	if err != nil {
		return err
	}
	_ = c.SetReadBuffer(4 << 20)
	fmt.Println("listening on", c.LocalAddr())
	dstAP := dst.AddrPort()
	in := make([]byte, 2048)
	out := []byte("/button\x00,i\x00\x00\x00\x00\x00\x00")
	for {
		n, _, err := c.ReadFromUDPAddrPort(in)
		if err != nil {
			return err
		}
		if n != len(led)+4 || !bytes.Equal(in[:len(led)], led) {
			continue
		}
		copy(out[12:], in[len(led):n])
		// A failed send (nobody listening yet) is not the echo's business.
		_, _ = c.WriteToUDPAddrPort(out, dstAP)
	}
}
