//go:build linux

package oscmap

import (
	"encoding/binary"
	"log/slog"
	"net"
	"syscall"
)

// oobSize holds the SO_RXQ_OVFL control message: the socket's drop counter.
var oobSize = syscall.CmsgSpace(4)

// tuneSocket asks for a receive buffer of want bytes (with SO_RCVBUFFORCE
// first, which lets a privileged process go past net.core.rmem_max, then
// SO_RCVBUF), reads back what the kernel granted, and asks the kernel to
// report its drop counter with each datagram (SO_RXQ_OVFL).
func tuneSocket(c *net.UDPConn, want int, log *slog.Logger) (granted int, drops bool) {
	raw, err := c.SyscallConn()
	if err != nil {
		log.Debug("no raw access to the UDP socket", "err", err)
		return 0, false
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
		if err := syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RXQ_OVFL, 1); err != nil {
			log.Debug("SO_RXQ_OVFL not available", "err", err)
		} else {
			drops = true
		}
	})
	if cerr != nil {
		log.Debug("no raw access to the UDP socket", "err", cerr)
	}
	return granted, drops
}

// readPacket reads one datagram and, when the kernel sent it, its drop
// counter (cumulative drops at this socket).
func readPacket(c *net.UDPConn, b, oob []byte) (n int, from *net.UDPAddr, drops uint32, ok bool, err error) {
	n, oobn, _, from, err := c.ReadMsgUDP(b, oob)
	if err != nil || oobn == 0 {
		return n, from, 0, false, err
	}
	msgs, perr := syscall.ParseSocketControlMessage(oob[:oobn])
	if perr != nil {
		return n, from, 0, false, nil
	}
	for _, m := range msgs {
		if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SO_RXQ_OVFL && len(m.Data) >= 4 {
			return n, from, binary.NativeEndian.Uint32(m.Data), true, nil
		}
	}
	return n, from, 0, false, nil
}
