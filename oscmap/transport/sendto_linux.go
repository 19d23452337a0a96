//go:build linux && !386

package transport

import (
	"net"
	"net/netip"
	"os"
	"syscall"
	"unsafe"
)

// sendTo sends b to to with one sendto(2) with MSG_DONTWAIT on the socket:
// it never waits for room in the send buffer (EAGAIN instead). The address
// is built on the stack, so a send allocates nothing.
func sendTo(c *net.UDPConn, si sockInfo, b []byte, to netip.AddrPort) error {
	var (
		sa4    syscall.RawSockaddrInet4
		sa6    syscall.RawSockaddrInet6
		sa     unsafe.Pointer
		salen  uintptr
		a      = to.Addr()
		port   = to.Port()
		portBE = [2]byte{byte(port >> 8), byte(port)}
	)
	if si.family == syscall.AF_INET6 {
		sa6.Family = syscall.AF_INET6
		sa6.Port = *(*uint16)(unsafe.Pointer(&portBE))
		sa6.Addr = a.As16()
		sa6.Scope_id = zoneID(a)
		sa, salen = unsafe.Pointer(&sa6), syscall.SizeofSockaddrInet6
	} else {
		a = a.Unmap()
		if !a.Is4() {
			return errIPv6FromIPv4
		}
		sa4.Family = syscall.AF_INET
		sa4.Port = *(*uint16)(unsafe.Pointer(&portBE))
		sa4.Addr = a.As4()
		sa, salen = unsafe.Pointer(&sa4), syscall.SizeofSockaddrInet4
	}
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Write(func(fd uintptr) bool {
		if sendtoFault != nil {
			serr = sendtoFault(syscall.MSG_DONTWAIT)
			return true
		}
		var p unsafe.Pointer
		if len(b) > 0 {
			p = unsafe.Pointer(&b[0])
		}
		_, _, e := syscall.Syscall6(syscall.SYS_SENDTO, fd, uintptr(p), uintptr(len(b)), syscall.MSG_DONTWAIT, uintptr(sa), salen)
		if e != 0 {
			serr = e
		}
		return true // done, whatever happened: never wait for writability
	}); err != nil {
		return err
	}
	if serr != nil {
		return os.NewSyscallError("sendto", serr)
	}
	return nil
}
