//go:build linux && 386

package transport

import (
	"net"
	"testing"
)

// rmemAlloc is not available on linux/386 (getsockopt goes through
// socketcall): the test is skipped.
func rmemAlloc(t *testing.T, _ *net.UDPConn) uint32 {
	t.Skip("SO_MEMINFO is not read on linux/386")
	return 0
}
