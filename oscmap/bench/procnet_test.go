package bench

import (
	"net"
	"net/netip"
	"strings"
	"testing"
)

const procSample = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            
 4603: 0100007F:426D 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 21860 2 000000007c0fb374 17         
 4604: 00000000:426D 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 21861 2 000000007c0fb375 3
 4605: 0100007F:426E 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 21862 2 000000007c0fb376 99
`

func TestParseProcNetUDP(t *testing.T) {
	tests := []struct {
		port  uint16
		drops uint64
		found bool
	}{
		{0x426D, 20, true}, // two sockets on the port: summed
		{0x426E, 99, true},
		{5005, 0, false},
	}
	for _, tt := range tests {
		d, found, err := ParseProcNetUDP(strings.NewReader(procSample), tt.port)
		if err != nil || d != tt.drops || found != tt.found {
			t.Errorf("port %d: got %d, %v, %v; want %d, %v", tt.port, d, found, err, tt.drops, tt.found)
		}
	}
}

func TestParseProcNetUDPBadDrops(t *testing.T) {
	bad := strings.Replace(procSample, " 99\n", " x\n", 1)
	if _, _, err := ParseProcNetUDP(strings.NewReader(bad), 0x426E); err == nil {
		t.Error("a drops column that is not a number gave no error")
	}
}

func TestPortDropsSeesOwnSocket(t *testing.T) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	d := portDrops(uint16(c.LocalAddr().(*net.UDPAddr).Port))
	if d != 0 && !(d == -1 && !procReadable()) {
		t.Errorf("a fresh socket: drops %d, want 0", d)
	}
}

func TestIsLocal(t *testing.T) {
	for _, s := range []string{"127.0.0.1", "::1", "0.0.0.0", "::ffff:127.0.0.1"} {
		if !isLocal(netip.MustParseAddr(s)) {
			t.Errorf("isLocal(%s) = false", s)
		}
	}
	if isLocal(netip.MustParseAddr("192.0.2.1")) { // TEST-NET-1, never a real host
		t.Error("isLocal(192.0.2.1) = true")
	}
}
