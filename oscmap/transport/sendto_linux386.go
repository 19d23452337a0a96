//go:build linux && 386

package transport

import (
	"net"
	"net/netip"
	"os"
	"syscall"
)

// sendTo sends b to to with one sendto(2) with MSG_DONTWAIT on the socket:
// it never waits for room in the send buffer (EAGAIN instead). On 386,
// whose socket calls go through socketcall(2), it uses syscall.Sendto, and
// the address it builds is one allocation per send.
func sendTo(c *net.UDPConn, si sockInfo, b []byte, to netip.AddrPort) error {
	var sa syscall.Sockaddr
	a := to.Addr()
	if si.family == syscall.AF_INET6 {
		sa6 := &syscall.SockaddrInet6{Port: int(to.Port()), Addr: a.As16()}
		sa6.ZoneId = zoneID(a)
		sa = sa6
	} else {
		a = a.Unmap()
		if !a.Is4() {
			return errIPv6FromIPv4
		}
		sa = &syscall.SockaddrInet4{Port: int(to.Port()), Addr: a.As4()}
	}
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Write(func(fd uintptr) bool {
		if sendtoFault != nil {
			serr = sendtoFault(syscall.MSG_DONTWAIT)
		} else {
			serr = syscall.Sendto(int(fd), b, syscall.MSG_DONTWAIT, sa)
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
