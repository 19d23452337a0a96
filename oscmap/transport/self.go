package transport

import (
	"net"
	"net/netip"
)

// selfSet is a socket's own addresses: its port on the address it is bound
// to, or, bound to every interface, on any loopback address and any address
// of this host's interfaces when it was bound (one that comes later is not
// known).
type selfSet struct {
	port uint16
	any  bool // bound to every interface
	ips  map[netip.Addr]bool
}

func selfAddrs(a *net.UDPAddr) selfSet {
	s := selfSet{port: uint16(a.Port), ips: map[netip.Addr]bool{}}
	ip, _ := netip.AddrFromSlice(a.IP)
	ip = ip.Unmap()
	if !ip.IsUnspecified() {
		s.ips[ip] = true
		return s
	}
	s.any = true
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, ad := range addrs {
			if n, ok := ad.(*net.IPNet); ok {
				if x, ok := netip.AddrFromSlice(n.IP); ok {
					s.ips[x.Unmap()] = true
				}
			}
		}
	}
	return s
}

// has reports whether from is the socket itself.
func (s selfSet) has(from netip.AddrPort) bool {
	if from.Port() != s.port {
		return false
	}
	a := from.Addr().Unmap()
	return s.ips[a] || (s.any && a.IsLoopback())
}
