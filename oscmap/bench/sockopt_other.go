//go:build !linux

package bench

import "net"

// oobSize is 0: only Linux reports the socket's drops with each datagram.
var oobSize = 0

// tuneSocket asks for a receive buffer of want bytes and returns 0 (unknown).
func tuneSocket(c *net.UDPConn, want int) (granted int) {
	_ = c.SetReadBuffer(want)
	return 0
}

// ovflDrops returns -1: unknown.
func ovflDrops([]byte) int64 { return -1 }
