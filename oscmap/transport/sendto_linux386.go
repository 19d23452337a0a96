//go:build linux && 386

package transport

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
)

// sendtoFault, when set (by tests), replaces the sendto(2) call with its
// result: a full send buffer is played this way, which loopback never has
// (it frees a datagram's buffer as it sends it).
var sendtoFault func(flags int) error

// sendTo sends b to to with one sendto(2) with MSG_DONTWAIT on the socket:
// it never waits for room in the send buffer (EAGAIN instead). On 386,
// whose socket calls go through socketcall(2), it uses syscall.Sendto, and
// the address it builds is one allocation per send.
func sendTo(c *net.UDPConn, si sockInfo, b []byte, to netip.AddrPort) error {
	var sa syscall.Sockaddr
	a := to.Addr()
	if si.family == syscall.AF_INET6 {
		sa6 := &syscall.SockaddrInet6{Port: int(to.Port()), Addr: a.As16()}
		if z := a.Zone(); z != "" {
			if ifi, err := net.InterfaceByName(z); err == nil {
				sa6.ZoneId = uint32(ifi.Index)
			} else if n, err := strconv.Atoi(z); err == nil {
				sa6.ZoneId = uint32(n)
			}
		}
		sa = sa6
	} else {
		a = a.Unmap()
		if !a.Is4() {
			return errors.New("an IPv6 address cannot be reached from a socket bound to an IPv4 address (listen on [::] or 0.0.0.0 instead)")
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
