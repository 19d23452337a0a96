//go:build linux

package transport

import (
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"unsafe"
)

// readBatch is how many datagrams one system call reads at most
// (recvmmsg). Each has a 64 KiB buffer: 1 MiB in all, of which only what
// datagrams have filled is ever touched.
const readBatch = 16

// newDatagramReader reads with recvmmsg(2): one system call returns every
// queued datagram it has room for (up to readBatch).
func newDatagramReader(c *net.UDPConn, _ sockInfo) datagramReader {
	raw, err := c.SyscallConn()
	if err != nil {
		return newSingleReader(c)
	}
	r := &mmsgReader{raw: raw, zones: map[uint32]string{}}
	for i := range r.hdrs {
		r.bufs[i] = make([]byte, 65536) // no UDP datagram is larger
		r.iovs[i] = syscall.Iovec{Base: &r.bufs[i][0]}
		r.iovs[i].SetLen(len(r.bufs[i]))
		h := &r.hdrs[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		h.Iov = &r.iovs[i]
		h.Iovlen = 1
	}
	r.recv = func(fd uintptr) bool {
		for i := range r.hdrs {
			r.hdrs[i].hdr.Namelen = syscall.SizeofSockaddrAny
			r.hdrs[i].hdr.Flags = 0
		}
		for {
			n, _, e := syscall.Syscall6(syscall.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])), readBatch, 0, 0, 0)
			switch e {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false // nothing queued: wait for the poller
			case 0:
				r.n, r.err = int(n), nil
			default:
				r.n, r.err = 0, e
			}
			return true
		}
	}
	return r
}

// mmsghdr is struct mmsghdr of <sys/socket.h>: Go lays it out as C does on
// every Linux architecture (a msghdr, then an unsigned int, padded to the
// msghdr's alignment).
type mmsghdr struct {
	hdr syscall.Msghdr
	len uint32
}

// mmsgReader reads up to readBatch datagrams with one recvmmsg(2), without
// allocating.
type mmsgReader struct {
	raw   syscall.RawConn
	recv  func(fd uintptr) bool
	hdrs  [readBatch]mmsghdr
	iovs  [readBatch]syscall.Iovec
	names [readBatch]syscall.RawSockaddrAny
	bufs  [readBatch][]byte
	n     int
	err   error
	zones map[uint32]string // IPv6 scope IDs seen, and their interface names
}

func (r *mmsgReader) read() (int, error) {
	if err := r.raw.Read(r.recv); err != nil {
		return 0, err
	}
	if r.err != nil {
		return 0, &net.OpError{Op: "recvmmsg", Net: "udp", Err: r.err}
	}
	return r.n, nil
}

func (r *mmsgReader) datagram(i int) ([]byte, netip.AddrPort) {
	return r.bufs[i][:r.hdrs[i].len], r.sender(&r.names[i])
}

// sender reads a sockaddr_in or sockaddr_in6 as ReadMsgUDPAddrPort does (an
// IPv6 scope ID as its interface's name).
func (r *mmsgReader) sender(sa *syscall.RawSockaddrAny) netip.AddrPort {
	switch sa.Addr.Family {
	case syscall.AF_INET:
		in := (*syscall.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(in.Addr), ntohs(in.Port))
	case syscall.AF_INET6:
		in := (*syscall.RawSockaddrInet6)(unsafe.Pointer(sa))
		a := netip.AddrFrom16(in.Addr)
		if in.Scope_id != 0 {
			a = a.WithZone(r.zone(in.Scope_id))
		}
		return netip.AddrPortFrom(a, ntohs(in.Port))
	}
	return netip.AddrPort{}
}

// zone is the name of the interface with index id, or id in decimal.
func (r *mmsgReader) zone(id uint32) string {
	if z, ok := r.zones[id]; ok {
		return z
	}
	z := strconv.FormatUint(uint64(id), 10)
	if ifi, err := net.InterfaceByIndex(int(id)); err == nil {
		z = ifi.Name
	}
	if len(r.zones) < 64 {
		r.zones[id] = z
	}
	return z
}

// ntohs reads a port in network byte order, as stored in a sockaddr.
func ntohs(p uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return uint16(b[0])<<8 | uint16(b[1])
}
