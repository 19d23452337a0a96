//go:build linux && !386

package bench

import (
	"net"
	"runtime"
	"syscall"
	"unsafe"
)

// mmsghdr is struct mmsghdr of sendmmsg(2): a message header and the
// number of bytes sent (Go pads it as C does).
type mmsghdr struct {
	hdr syscall.Msghdr
	n   uint32
}

// batcher sends many datagrams with one sendmmsg(2) call, on a connected
// socket, so a bench at 200 000 msg/s spends its CPU on few system calls
// and leaves it to the target.
type batcher struct {
	conn *net.UDPConn
	raw  syscall.RawConn
	hdrs []mmsghdr
	iovs []syscall.Iovec
	off  bool // sendmmsg failed other than by a refusal: Write one by one
}

// maxBatch is the most datagrams one sendmmsg call sends.
const maxBatch = 64

func newBatcher(c *net.UDPConn) *batcher {
	b := &batcher{conn: c, hdrs: make([]mmsghdr, maxBatch), iovs: make([]syscall.Iovec, maxBatch)}
	raw, err := c.SyscallConn()
	if err != nil {
		b.off = true
	}
	b.raw = raw
	return b
}

// send sends the datagrams msg(i) for i in [0, k).
func (b *batcher) send(k int, msg func(i int) []byte) error {
	if b.off {
		return sendEach(b.conn, k, msg)
	}
	for done := 0; done < k; {
		m := min(k-done, maxBatch)
		for i := range m {
			p := msg(done + i)
			b.iovs[i].Base = &p[0]
			b.iovs[i].SetLen(len(p))
			b.hdrs[i] = mmsghdr{}
			b.hdrs[i].hdr.Iov = &b.iovs[i]
			b.hdrs[i].hdr.Iovlen = 1
		}
		var sent int
		var errno syscall.Errno
		err := b.raw.Write(func(fd uintptr) bool {
			r, _, e := syscall.Syscall6(sysSendmmsg, fd, uintptr(unsafe.Pointer(&b.hdrs[0])), uintptr(m), 0, 0, 0)
			if e == syscall.EAGAIN {
				return false // the poller waits until the socket can send
			}
			sent, errno = int(r), e
			return true
		})
		runtime.KeepAlive(b.iovs)
		switch {
		case err != nil:
			return err
		case errno == syscall.ECONNREFUSED:
			sent = max(sent, 1) // nobody listening yet: that one is gone, go on
		case errno == syscall.ENOSYS || errno == syscall.EINVAL:
			b.off = true
			return sendEach(b.conn, k-done, func(i int) []byte { return msg(done + i) })
		case errno != 0:
			return errno
		}
		done += max(sent, 0)
	}
	return nil
}
