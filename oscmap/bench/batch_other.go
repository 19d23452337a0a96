//go:build !linux || 386

package bench

import "net"

// batcher sends datagrams one Write at a time (sendmmsg is Linux's, and
// linux/386 reaches it only through socketcall).
type batcher struct{ conn *net.UDPConn }

func newBatcher(c *net.UDPConn) *batcher { return &batcher{conn: c} }

// send sends the datagrams msg(i) for i in [0, k).
func (b *batcher) send(k int, msg func(i int) []byte) error {
	return sendEach(b.conn, k, msg)
}
