package transport

import (
	"net"
	"net/netip"
)

// A datagramReader reads the socket for one Serve call, from its goroutine:
// read waits (through the runtime's poller, so read deadlines and Close
// work) until at least one datagram is queued and reads as many as it can
// hold at once; datagram returns the i-th of them, valid until the next
// read.
type datagramReader interface {
	read() (int, error)
	datagram(i int) ([]byte, netip.AddrPort)
}

// singleReader reads one datagram per system call (recvmsg).
type singleReader struct {
	c    *net.UDPConn
	buf  []byte
	n    int
	from netip.AddrPort
}

func newSingleReader(c *net.UDPConn) *singleReader {
	return &singleReader{c: c, buf: make([]byte, 65536)} // no UDP datagram is larger
}

func (r *singleReader) read() (int, error) {
	n, _, _, from, err := r.c.ReadMsgUDPAddrPort(r.buf, nil)
	if err != nil {
		return 0, err
	}
	r.n, r.from = n, from
	return 1, nil
}

func (r *singleReader) datagram(int) ([]byte, netip.AddrPort) { return r.buf[:r.n], r.from }
