//go:build linux

package transport

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

// sockInfo is what Serve and WriteTo need to know about the socket.
type sockInfo struct {
	family  int  // AF_INET or AF_INET6
	dropsOK bool // the kernel's drop counter can be read (SO_MEMINFO)
}

// tuneSocket asks for a receive buffer of want bytes (with SO_RCVBUFFORCE
// first, which lets a privileged process go past net.core.rmem_max, then
// SO_RCVBUF), reads back what the kernel granted, the socket's address
// family, and whether its drop counter can be read.
func tuneSocket(c *net.UDPConn, want int, log *slog.Logger) (granted int, si sockInfo) {
	si.family = syscall.AF_INET6
	raw, err := c.SyscallConn()
	if err != nil {
		log.Debug("no raw access to the UDP socket", "err", err)
		return 0, si
	}
	cerr := raw.Control(func(fd uintptr) {
		s := int(fd)
		if err := syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, want); err != nil {
			if err := syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RCVBUF, want); err != nil {
				log.Debug("setting the UDP receive buffer failed", "err", err)
			}
		}
		if n, err := syscall.GetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RCVBUF); err == nil {
			granted = n
		}
		if f, err := syscall.GetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_DOMAIN); err == nil {
			si.family = f
		}
	})
	if cerr != nil {
		log.Debug("no raw access to the UDP socket", "err", cerr)
	}
	_, si.dropsOK = memInfoDrops(c)
	return granted, si
}

// memInfoDrops reads the socket's cumulative drop counter: SO_MEMINFO's
// SK_MEMINFO_DROPS (Linux 4.6 and later).
func memInfoDrops(c *net.UDPConn) (drops uint32, ok bool) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, false
	}
	raw.Control(func(fd uintptr) { drops, ok = getMemInfoDrops(fd) })
	return drops, ok
}

// sendtoFault, when set (by tests), replaces the sendto(2) call with its
// result: a full send buffer is played this way, which loopback never has
// (it frees a datagram's buffer as it sends it).
var sendtoFault func(flags int) error

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
		if z := a.Zone(); z != "" {
			if ifi, err := net.InterfaceByName(z); err == nil {
				sa6.Scope_id = uint32(ifi.Index)
			} else if n, err := strconv.Atoi(z); err == nil {
				sa6.Scope_id = uint32(n)
			}
		}
		sa, salen = unsafe.Pointer(&sa6), syscall.SizeofSockaddrInet6
	} else {
		a = a.Unmap()
		if !a.Is4() {
			return errors.New("an IPv6 address cannot be reached from a socket bound to an IPv4 address (listen on [::] or 0.0.0.0 instead)")
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
