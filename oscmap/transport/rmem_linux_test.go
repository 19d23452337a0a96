//go:build linux && !386

package transport

import (
	"net"
	"syscall"
	"testing"
	"unsafe"
)

// rmemAlloc is the bytes queued in the socket's receive buffer
// (SO_MEMINFO's SK_MEMINFO_RMEM_ALLOC).
func rmemAlloc(t *testing.T, c *net.UDPConn) uint32 {
	t.Helper()
	var mi [skMeminfoVars]uint32
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var e syscall.Errno
	raw.Control(func(fd uintptr) {
		size := uint32(unsafe.Sizeof(mi))
		_, _, e = syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.SOL_SOCKET, soMeminfo,
			uintptr(unsafe.Pointer(&mi[0])), uintptr(unsafe.Pointer(&size)), 0)
	})
	if e != 0 {
		t.Skipf("SO_MEMINFO: %v", e)
	}
	return mi[0]
}
