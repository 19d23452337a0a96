//go:build !linux

package oscmap

import (
	"log/slog"
	"net"
)

// oobSize is 0: only Linux reports drops at the socket.
const oobSize = 0

// tuneSocket asks for a receive buffer of want bytes. The size granted is not
// read back here (0: unknown) and the kernel's drops are not reported.
func tuneSocket(c *net.UDPConn, want int, log *slog.Logger) (granted int, drops bool) {
	if err := c.SetReadBuffer(want); err != nil {
		log.Debug("setting the UDP receive buffer failed", "err", err)
	}
	return 0, false
}

// readPacket reads one datagram.
func readPacket(c *net.UDPConn, b, _ []byte) (n int, from *net.UDPAddr, drops uint32, ok bool, err error) {
	n, from, err = c.ReadFromUDP(b)
	return n, from, 0, false, err
}
