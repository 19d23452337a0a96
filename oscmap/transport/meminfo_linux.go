//go:build linux && !386

package transport

import (
	"syscall"
	"unsafe"
)

const (
	soMeminfo      = 55 // SO_MEMINFO
	skMeminfoVars  = 9  // SK_MEMINFO_VARS
	skMeminfoDrops = 8  // SK_MEMINFO_DROPS
)

// getMemInfoDrops reads SO_MEMINFO of the socket fd and returns its
// SK_MEMINFO_DROPS: the datagrams the kernel dropped at this socket.
func getMemInfoDrops(fd uintptr) (uint32, bool) {
	var mi [skMeminfoVars]uint32
	size := uint32(unsafe.Sizeof(mi))
	_, _, e := syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.SOL_SOCKET, soMeminfo,
		uintptr(unsafe.Pointer(&mi[0])), uintptr(unsafe.Pointer(&size)), 0)
	if e != 0 || size <= skMeminfoDrops*4 {
		return 0, false
	}
	return mi[skMeminfoDrops], true
}
