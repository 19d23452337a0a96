//go:build linux

package transport

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"syscall"
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

// errIPv6FromIPv4 is sendTo's error for an IPv6 destination on an IPv4
// socket.
var errIPv6FromIPv4 = errors.New("an IPv6 address cannot be reached from a socket bound to an IPv4 address (listen on [::] or 0.0.0.0 instead)")

// zoneID is the interface index of a's IPv6 zone: its interface's, or the
// zone read as a number; 0 without one.
func zoneID(a netip.Addr) uint32 {
	z := a.Zone()
	if z == "" {
		return 0
	}
	if ifi, err := net.InterfaceByName(z); err == nil {
		return uint32(ifi.Index)
	}
	if n, err := strconv.Atoi(z); err == nil {
		return uint32(n)
	}
	return 0
}
