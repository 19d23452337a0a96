//go:build linux

package transport

import (
	"fmt"
	"net"
	"syscall"

	"golang.org/x/net/bpf"
)

// attachAllow installs a's filter program on the socket (SO_ATTACH_FILTER),
// for an IPv4 socket or an IPv6 (dual-stack) one as family says.
func attachAllow(c *net.UDPConn, a *Allow, si sockInfo) error {
	prog, err := a.filterProgram(skfNetOff, si.family == syscall.AF_INET6)
	if err != nil {
		return err
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return fmt.Errorf("assembling the BPF filter: %w", err)
	}
	filter := make([]syscall.SockFilter, len(raw))
	for i, r := range raw {
		filter[i] = syscall.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.AttachLsf(int(fd), filter) //nolint:staticcheck // SO_ATTACH_FILTER; x/net/bpf only assembles
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("SO_ATTACH_FILTER: %w", serr)
	}
	return nil
}

// kernelFilterSupported is whether attachAllow can work on this system.
const kernelFilterSupported = true
