package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/net/bpf"
)

// An Allow is a list of the addresses and networks (IPv4 and IPv6) that may
// send to a UDP transport; datagrams from anywhere else are dropped before
// decoding. It is immutable once made, so one Allow may serve several
// transports. The zero Allow (and a nil *Allow) allows nobody.
//
// On Linux, ListenUDP installs it in the kernel too, as a classic BPF socket
// filter (see WithAllow), so that a flood from a stranger does not even reach
// the socket's receive buffer; the check in Serve stays as a second line.
type Allow struct {
	v4, v6 []netip.Prefix // masked; IPv4 ones (v4-mapped IPv6 ones unmapped) in v4
}

// NewAllow returns the Allow of prefixes. A single address is the prefix of
// its full length (/32, /128). An IPv4-mapped IPv6 prefix
// (::ffff:10.0.0.0/104) is the same as its IPv4 one (10.0.0.0/8), and an
// IPv4 sender reaching an IPv6 socket is checked as IPv4. Zones are ignored.
// An invalid prefix is an error naming it.
func NewAllow(prefixes ...netip.Prefix) (*Allow, error) {
	a := &Allow{}
	for _, p := range prefixes {
		if !p.IsValid() {
			return nil, fmt.Errorf("allow: %q is not an address or a network (want 10.0.0.5, 10.0.0.0/24 or fd00::/8)", p.String())
		}
		addr, bits := p.Addr().WithZone(""), p.Bits()
		if addr.Is4In6() && bits >= 96 {
			addr, bits = addr.Unmap(), bits-96
		}
		p = netip.PrefixFrom(addr, bits).Masked()
		if addr.Is4() {
			a.v4 = append(a.v4, p)
		} else {
			a.v6 = append(a.v6, p)
		}
	}
	return a, nil
}

// ParseAllow parses entries, each an address ("192.168.1.20", "::1") or a
// network in CIDR notation ("192.168.1.0/24", "fd00::/8"), into an Allow. The
// error names the first entry that is neither.
func ParseAllow(entries ...string) (*Allow, error) {
	ps := make([]netip.Prefix, 0, len(entries))
	for _, e := range entries {
		s := strings.TrimSpace(e)
		var p netip.Prefix
		var err error
		if strings.Contains(s, "/") {
			p, err = netip.ParsePrefix(s)
		} else {
			var a netip.Addr
			if a, err = netip.ParseAddr(s); err == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil {
			return nil, fmt.Errorf("allow: %q is not an address or a network (want 10.0.0.5, 10.0.0.0/24 or fd00::/8): %w", e, err)
		}
		ps = append(ps, p)
	}
	return NewAllow(ps...)
}

// Allows reports whether a datagram from addr is allowed. An IPv4-mapped IPv6
// address is checked as the IPv4 address it holds.
func (a *Allow) Allows(addr netip.Addr) bool {
	if a == nil {
		return false
	}
	addr = addr.Unmap().WithZone("")
	list := a.v6
	if addr.Is4() {
		list = a.v4
	}
	for _, p := range list {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Prefixes returns the allowed networks, IPv4 first, masked and unmapped.
func (a *Allow) Prefixes() []netip.Prefix {
	if a == nil {
		return nil
	}
	return append(append([]netip.Prefix(nil), a.v4...), a.v6...)
}

// String is the list, comma separated.
func (a *Allow) String() string {
	var b strings.Builder
	for i, p := range a.Prefixes() {
		if i > 0 {
			b.WriteString(",")
		}
		if p.IsSingleIP() {
			b.WriteString(p.Addr().String())
		} else {
			b.WriteString(p.String())
		}
	}
	return b.String()
}

// skfNetOff is the kernel's SKF_NET_OFF: a classic BPF load at this offset
// plus k reads byte k of the network (IP) header, wherever the filter runs.
// A UDP socket's filter sees the datagram from its UDP header on.
const skfNetOff = -0x100000

// maxBPFInstructions is the kernel's BPF_MAXINSNS.
const maxBPFInstructions = 4096

const (
	bpfAccept = 0xffffffff // keep the whole datagram
	bpfDrop   = 0
)

// errTooLong is returned for an allow list whose filter is beyond the
// kernel's limit; the userspace check still applies.
var errTooLong = errors.New("the allow list is too long for a kernel filter (4096 instructions)")

// filterProgram is the classic BPF program that accepts the datagrams whose
// IP source address a allows and drops the others. base is where the IP
// header starts: skfNetOff in the kernel, 0 in tests that run the program on
// a bare IP header. With dual false (an IPv4 socket) the header is IPv4; with
// dual true (an IPv6 socket, which also receives IPv4 on a dual-stack
// system) the version nibble chooses between the IPv4 and the IPv6 checks.
//
// Each match returns at once (ret #accept), so that conditional jumps, which
// reach 255 instructions at most, never cross more than one prefix.
func (a *Allow) filterProgram(base int32, dual bool) ([]bpf.Instruction, error) {
	off := func(k int32) uint32 { return uint32(base + k) }
	var p []bpf.Instruction
	v4 := func() {
		for _, pr := range a.v4 {
			mask := uint32(0)
			if pr.Bits() > 0 {
				mask = ^uint32(0) << (32 - pr.Bits())
			}
			want := binary.BigEndian.Uint32(pr.Addr().AsSlice())
			p = append(p,
				bpf.LoadAbsolute{Off: off(12), Size: 4}, // IPv4 source address
				bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: mask},
				bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: want, SkipTrue: 1},
				bpf.RetConstant{Val: bpfAccept},
			)
		}
		p = append(p, bpf.RetConstant{Val: bpfDrop})
	}
	v6 := func() {
		for _, pr := range a.v6 {
			b := pr.Addr().As16()
			var words []bpf.Instruction
			for w := range 4 {
				bits := min(max(pr.Bits()-32*w, 0), 32)
				if bits == 0 {
					break
				}
				mask := ^uint32(0) << (32 - bits)
				want := binary.BigEndian.Uint32(b[4*w:])
				words = append(words,
					bpf.LoadAbsolute{Off: off(8 + 4*int32(w)), Size: 4}, // IPv6 source, word w
					bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: mask},
					bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: want}, // SkipTrue set below
				)
			}
			// A mismatch jumps past the rest of this prefix and its ret.
			for i := range words {
				if j, ok := words[i].(bpf.JumpIf); ok {
					j.SkipTrue = uint8(len(words) - i)
					words[i] = j
				}
			}
			p = append(p, words...)
			p = append(p, bpf.RetConstant{Val: bpfAccept})
		}
		p = append(p, bpf.RetConstant{Val: bpfDrop})
	}
	if !dual {
		v4()
	} else {
		// A = IP version (the high nibble of the first byte).
		p = append(p,
			bpf.LoadAbsolute{Off: off(0), Size: 1},
			bpf.ALUOpConstant{Op: bpf.ALUOpShiftRight, Val: 4},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: 6, SkipFalse: 0}, // SkipTrue set below
		)
		jump := len(p) - 1
		v4()
		j := p[jump].(bpf.JumpIf)
		if len(p)-jump-1 > 255 {
			// Too far for a conditional jump: go through an unconditional one.
			p = append(p[:jump+1], append([]bpf.Instruction{nil}, p[jump+1:]...)...)
			j.SkipTrue, j.SkipFalse = 0, 1
			p[jump] = j
			p[jump+1] = bpf.Jump{Skip: uint32(len(p) - jump - 2)}
		} else {
			j.SkipTrue = uint8(len(p) - jump - 1)
			p[jump] = j
		}
		v6()
	}
	if len(p) > maxBPFInstructions {
		return nil, errTooLong
	}
	return p, nil
}
