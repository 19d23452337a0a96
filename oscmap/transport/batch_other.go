//go:build !linux

package transport

import "net"

// newDatagramReader reads one datagram per system call: recvmmsg(2), which
// reads several, is Linux's.
func newDatagramReader(c *net.UDPConn, _ sockInfo) datagramReader { return newSingleReader(c) }
