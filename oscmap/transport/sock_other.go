//go:build !linux

package transport

import (
	"log/slog"
	"net"
	"net/netip"
)

// sockInfo is what Serve and WriteTo need to know about the socket.
type sockInfo struct {
	dropsOK bool // always false: only Linux reports drops at the socket
}

// tuneSocket asks for a receive buffer of want bytes. The size granted is not
// read back here (0: unknown) and the kernel's drops are not read.
func tuneSocket(c *net.UDPConn, want int, log *slog.Logger) (granted int, si sockInfo) {
	if err := c.SetReadBuffer(want); err != nil {
		log.Debug("setting the UDP receive buffer failed", "err", err)
	}
	return 0, si
}

// memInfoDrops is not available: Stats.KernelDrops stays 0.
func memInfoDrops(*net.UDPConn) (uint32, bool) { return 0, false }

// sendTo sends b to to. On systems other than Linux it may wait while the
// socket's send buffer is full.
func sendTo(c *net.UDPConn, _ sockInfo, b []byte, to netip.AddrPort) error {
	_, err := c.WriteToUDPAddrPort(b, to)
	return err
}
