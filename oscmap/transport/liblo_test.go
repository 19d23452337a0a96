package transport

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/oscgpio/oscgpio/oscmap/codec"
)

// These tests use liblo's command line tools (Debian package liblo-tools),
// the reference C implementation, as the peer; they are skipped without it,
// and fail without it when CI=true.

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil && os.Getenv("CI") == "true" {
		t.Fatalf("%s not installed (Debian package liblo-tools); scripts/test installs it", name)
	}
	if err != nil {
		t.Skipf("%s not installed (Debian package liblo-tools)", name)
	}
	return p
}

// TestOscsendToUDP checks what the UDP transport reads from liblo's oscsend.
func TestOscsendToUDP(t *testing.T) {
	oscsend := needTool(t, "oscsend")
	s, ch, _ := serve(t, nil)
	port := strconv.Itoa(s.Addr().(*net.UDPAddr).Port)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"/led", "i", "1"}, "/led i 1"},
		{[]string{"/x", "f", "0.5"}, "/x f 0.500000"},
		{[]string{"/types", "ihfdsTFN", "-1", "5000000000", "0.25", "2.5", "hello"}, `/types ihfdsTFN -1 5000000000 0.250000 2.500000 "hello" #T #F Nil`},
		{[]string{"/led[", "i", "1"}, "/led[ i 1"},
		{[]string{"/noargs"}, "/noargs"},
	} {
		cmd := exec.Command(oscsend, append([]string{"127.0.0.1", port}, c.args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("oscsend %v: %v\n%s", c.args, err, out)
		}
		if g := next(t, ch); codec.Format(g.m) != c.want {
			t.Errorf("oscsend %v: received %s, want %s", c.args, codec.Format(g.m), c.want)
		}
	}
}
