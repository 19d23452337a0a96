//go:build !linux

package transport

import "net"

// newDatagramReader reads one datagram per system call: recvmmsg(2), which
// reads several, is Linux's.
// readBatch is how many datagrams one read returns at most: one here.
const readBatch = 1

func newDatagramReader(c *net.UDPConn, _ sockInfo) datagramReader { return newSingleReader(c) }
