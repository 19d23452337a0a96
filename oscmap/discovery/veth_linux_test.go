package discovery_test

import (
	"encoding/binary"
	"syscall"
	"testing"
	"unsafe"
)

// addLAN gives the test's network namespace a second interface that Avahi
// uses (see avahiConfig), standing for the Pi's LAN: a veth pair, made
// through netlink (no ip command needed), lan0 holding 10.77.0.1/24, both
// ends up with multicast on. It returns lan0's name.
func addLAN(t *testing.T) string {
	t.Helper()
	const name, peer = "lan0", "lan1"
	// RTM_NEWLINK lan0, kind veth, its peer lan1.
	attr := func(typ uint16, data []byte) []byte {
		b := make([]byte, 4, 4+len(data)+3)
		binary.NativeEndian.PutUint16(b[0:], uint16(4+len(data)))
		binary.NativeEndian.PutUint16(b[2:], typ)
		b = append(b, data...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	ifinfo := make([]byte, syscall.SizeofIfInfomsg) // AF_UNSPEC, all zero
	cstr := func(s string) []byte { return append([]byte(s), 0) }
	const iflaInfoKind, iflaInfoData, vethInfoPeer, nested = 1, 2, 1, 0x8000
	peerMsg := append(append([]byte(nil), ifinfo...), attr(syscall.IFLA_IFNAME, cstr(peer))...)
	linkInfo := append(attr(iflaInfoKind, cstr("veth")), attr(iflaInfoData|nested, attr(vethInfoPeer|nested, peerMsg))...)
	body := append(append(append([]byte(nil), ifinfo...), attr(syscall.IFLA_IFNAME, cstr(name))...), attr(syscall.IFLA_LINKINFO|nested, linkInfo)...)
	msg := make([]byte, syscall.NLMSG_HDRLEN, syscall.NLMSG_HDRLEN+len(body))
	binary.NativeEndian.PutUint32(msg[0:], uint32(syscall.NLMSG_HDRLEN+len(body)))
	binary.NativeEndian.PutUint16(msg[4:], syscall.RTM_NEWLINK)
	binary.NativeEndian.PutUint16(msg[6:], syscall.NLM_F_REQUEST|syscall.NLM_F_ACK|syscall.NLM_F_CREATE|syscall.NLM_F_EXCL)
	binary.NativeEndian.PutUint32(msg[8:], 1)
	msg = append(msg, body...)

	nl, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, syscall.NETLINK_ROUTE)
	if err != nil {
		t.Fatalf("netlink socket: %v", err)
	}
	defer syscall.Close(nl)
	if err := syscall.Sendto(nl, msg, 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		t.Fatalf("netlink RTM_NEWLINK: %v", err)
	}
	buf := make([]byte, 4096)
	n, _, err := syscall.Recvfrom(nl, buf, 0)
	if err != nil {
		t.Fatalf("netlink answer: %v", err)
	}
	ms, err := syscall.ParseNetlinkMessage(buf[:n])
	if err != nil || len(ms) == 0 || ms[0].Header.Type != syscall.NLMSG_ERROR || len(ms[0].Data) < 4 {
		t.Fatalf("netlink answer %v: %v", ms, err)
	}
	if e := int32(binary.NativeEndian.Uint32(ms[0].Data)); e != 0 {
		t.Fatalf("creating the veth pair %s/%s: %v (is the veth driver there?)", name, peer, syscall.Errno(-e))
	}

	// The address, then up with multicast on, with the ioctls setUpNamespace uses.
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	ioctl := func(ifname string, op uintptr, req unsafe.Pointer) {
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), op, uintptr(req)); e != 0 {
			t.Fatalf("ioctl %#x on %s: %v", op, ifname, e)
		}
	}
	var in struct {
		name [16]byte
		addr syscall.RawSockaddrInet4
		_    [8]byte
	}
	copy(in.name[:], name)
	in.addr.Family = syscall.AF_INET
	in.addr.Addr = [4]byte{10, 77, 0, 1}
	ioctl(name, syscall.SIOCSIFADDR, unsafe.Pointer(&in))
	in.addr.Addr = [4]byte{255, 255, 255, 0}
	ioctl(name, syscall.SIOCSIFNETMASK, unsafe.Pointer(&in))
	for _, ifname := range []string{peer, name} {
		var req struct {
			name  [16]byte
			flags uint16
			_     [22]byte
		}
		copy(req.name[:], ifname)
		ioctl(ifname, syscall.SIOCGIFFLAGS, unsafe.Pointer(&req))
		req.flags |= syscall.IFF_UP | syscall.IFF_MULTICAST
		ioctl(ifname, syscall.SIOCSIFFLAGS, unsafe.Pointer(&req))
	}
	return name
}
