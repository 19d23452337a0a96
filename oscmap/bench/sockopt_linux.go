//go:build linux

package bench

import (
	"encoding/binary"
	"net"
	"syscall"
)

// oobSize holds the SO_RXQ_OVFL control message.
var oobSize = syscall.CmsgSpace(4)

// tuneSocket asks for a receive buffer of want bytes (SO_RCVBUFFORCE, which
// lets a privileged process go past net.core.rmem_max, then SO_RCVBUF),
// returns what the kernel granted, and asks the kernel to attach its drop
// counter to each datagram (SO_RXQ_OVFL).
func tuneSocket(c *net.UDPConn, want int) (granted int) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	_ = raw.Control(func(fd uintptr) {
		s := int(fd)
		if syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, want) != nil {
			_ = syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RCVBUF, want)
		}
		granted, _ = syscall.GetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		_ = syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RXQ_OVFL, 1)
	})
	return granted
}

// ovflDrops returns the drop counter of an SO_RXQ_OVFL control message in
// oob (cumulative drops at the socket), or -1 when there is none.
func ovflDrops(oob []byte) int64 {
	if len(oob) == 0 {
		return -1
	}
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return -1
	}
	for _, m := range msgs {
		if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SO_RXQ_OVFL && len(m.Data) >= 4 {
			return int64(binary.NativeEndian.Uint32(m.Data))
		}
	}
	return -1
}
