//go:build linux && 386

package transport

// getMemInfoDrops is not available on linux/386, where getsockopt goes
// through socketcall: Stats.KernelDrops stays 0.
func getMemInfoDrops(fd uintptr) (uint32, bool) { return 0, false }
