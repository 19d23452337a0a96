//go:build !linux

package e2e

// pinToCPU does nothing: CPU affinity is set on Linux only (TestFlood runs
// there only).
func pinToCPU(int) error { return nil }
