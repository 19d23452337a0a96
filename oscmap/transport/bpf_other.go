//go:build !linux

package transport

import (
	"errors"
	"net"
)

// attachAllow is not available: the allow list is checked in Serve only.
func attachAllow(*net.UDPConn, *Allow, sockInfo) error {
	return errors.New("socket filters are installed on Linux only")
}

// kernelFilterSupported is whether attachAllow can work on this system.
const kernelFilterSupported = false
