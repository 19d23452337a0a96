package transport

import (
	"net"
	"net/netip"
)

// selfSet is a socket's own addresses: its port on the address it is bound
// to, or, bound to every interface, on any loopback address and any address
// of this host's interfaces when it was bound (one that comes later is not
// known). An IPv6 link-local address is kept with its interface as zone
// (fe80::1%eth0), as a datagram from it arrives: the same address on
// another link is another host.
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
		s.ips[zoned(ip, a.Zone)] = true
		return s
	}
	s.any = true
	ifs, err := net.Interfaces()
	if err != nil {
		return s
	}
	for _, ifc := range ifs {
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, ad := range addrs {
			if n, ok := ad.(*net.IPNet); ok {
				if x, ok := netip.AddrFromSlice(n.IP); ok {
					s.ips[zoned(x.Unmap(), ifc.Name)] = true
				}
			}
		}
	}
	return s
}

// zoned is ip with zone when it is an IPv6 link-local address (only there
// does the zone tell addresses apart), without a zone otherwise.
func zoned(ip netip.Addr, zone string) netip.Addr {
	if ip.Is6() && (ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast()) {
		return ip.WithZone(zone)
	}
	return ip.WithZone("")
}

// has reports whether from is the socket itself.
func (s selfSet) has(from netip.AddrPort) bool {
	if from.Port() != s.port {
		return false
	}
	a := from.Addr().Unmap()
	a = zoned(a, a.Zone())
	return s.ips[a] || (s.any && a.IsLoopback())
}
