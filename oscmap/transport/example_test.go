package transport_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/oscmap/codec"
	"github.com/oscgpio/oscgpio/oscmap/transport"
)

// A transport on a free port receives a message and answers the sender from
// the listening socket.
func ExampleListenUDP() {
	u, err := transport.ListenUDP("127.0.0.1:0", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() {
		done <- u.Serve(ctx, func(m *osc.Message, from netip.AddrPort) {
			fmt.Println("received", codec.Format(m))
			reply, _ := codec.Encode(osc.NewMessage("/ack", int32(1)))
			if err := u.WriteTo(reply, from); err != nil {
				fmt.Println(err)
			}
		})
	}()

	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer peer.Close()
	p, _ := codec.Encode(osc.NewMessage("/led", int32(1)))
	if _, err := peer.WriteTo(p, u.Addr()); err != nil {
		fmt.Println(err)
		return
	}
	buf := make([]byte, 1500)
	n, from, err := peer.ReadFrom(buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	els, _ := codec.Decode(buf[:n])
	fmt.Println("answer", codec.Format(els[0].Msg), "from the listening port:", from.String() == u.Addr().String())
	cancel()
	fmt.Println("Serve returned", <-done)
	fmt.Println("messages:", u.Stats().Messages)
	// Output:
	// received /led i 1
	// answer /ack i 1 from the listening port: true
	// Serve returned <nil>
	// messages: 1
}
