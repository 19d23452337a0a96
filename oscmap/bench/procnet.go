package bench

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// ParseProcNetUDP reads a /proc/net/udp or /proc/net/udp6 table and returns
// the sum of the drops column over the sockets bound to local port port
// (whatever their address), and whether any was found. The drops column is
// the kernel's count of datagrams it discarded for that socket, most often
// because its receive buffer was full.
func ParseProcNetUDP(r io.Reader, port uint16) (drops uint64, found bool, err error) {
	sc := bufio.NewScanner(r)
	first := true
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if first {
			first = false
			if len(f) > 0 && f[0] == "sl" {
				continue // the header
			}
		}
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
		if len(f) < 13 {
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		p, err := strconv.ParseUint(hexPort, 16, 16)
		if err != nil || uint16(p) != port {
			continue
		}
		d, err := strconv.ParseUint(f[len(f)-1], 10, 64)
		if err != nil {
			return 0, false, fmt.Errorf("drops column %q of the socket on port %d: %w", f[len(f)-1], port, err)
		}
		drops += d
		found = true
	}
	if err := sc.Err(); err != nil {
		return 0, false, err
	}
	return drops, found, nil
}

// portDrops returns the kernel drops of this machine's UDP sockets bound to
// port (IPv4 and IPv6 tables summed), or -1 when no such socket is listed or
// the tables cannot be read (not Linux).
func portDrops(port uint16) int64 {
	var total uint64
	listed := false
	for _, name := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		d, found, err := ParseProcNetUDP(f, port)
		f.Close()
		if err == nil && found {
			total += d
			listed = true
		}
	}
	if !listed {
		return -1
	}
	return int64(total)
}

// isLocal reports whether ip is an address of this machine (loopback, the
// unspecified address, or one of its interfaces' addresses): only then do
// this machine's socket tables describe the target.
func isLocal(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsUnspecified() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Unmap() == ip {
			return true
		}
	}
	return false
}

// delta is after-before for two counters of which -1 means unknown.
func delta(before, after int64) int64 {
	if before < 0 || after < 0 {
		return -1
	}
	return after - before
}

// procReadable reports whether this machine has the socket tables.
func procReadable() bool {
	_, err := os.Stat("/proc/net/udp")
	return err == nil
}
