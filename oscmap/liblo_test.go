package oscmap

import (
	"bufio"
	"context"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hypebeast/go-osc/osc"
)

// These tests use liblo's command line tools (Debian package liblo-tools),
// the reference C implementation, as the peer; they are skipped without it.

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (Debian package liblo-tools)", name)
	}
	return p
}

// TestOscsendToServer checks what the Server reads from liblo's oscsend.
func TestOscsendToServer(t *testing.T) {
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
		if g := next(t, ch); Format(g.m) != c.want {
			t.Errorf("oscsend %v: received %s, want %s", c.args, Format(g.m), c.want)
		}
	}
}

// TestSenderToOscdump checks that liblo's oscdump prints what the Sender
// sent exactly as Format does.
func TestSenderToOscdump(t *testing.T) {
	oscdump := needTool(t, "oscdump")
	port := closedPort(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, oscdump, "-L", port[strings.LastIndexByte(port, ':')+1:])
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		cmd.Wait()
	}()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	s, err := NewSender(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// oscdump prints each message after its time tag: "eeafdeba.ff087873 /test i 0".
	strip := regexp.MustCompile(`^[0-9a-f]{8}\.[0-9a-f]{8} `)
	readLine := func(timeout time.Duration) (string, bool) {
		select {
		case l, ok := <-lines:
			return strip.ReplaceAllString(l, ""), ok
		case <-time.After(timeout):
			return "", false
		}
	}
	// Wait until oscdump listens.
	for end := time.Now().Add(wait); ; {
		if err := s.Send(port, osc.NewMessage("/ready", int32(1))); err != nil {
			t.Fatal(err)
		}
		if l, ok := readLine(100 * time.Millisecond); ok && l == "/ready i 1" {
			break
		}
		if time.Now().After(end) {
			t.Fatal("oscdump printed nothing")
		}
	}
	for _, m := range []*osc.Message{
		osc.NewMessage("/test", int32(0)),
		osc.NewMessage("/x", float32(0.5)),
		osc.NewMessage("/s", "hi"),
		osc.NewMessage("/types", int32(1), float32(1.5), true, false, "hello", int32(7), float32(2), "3", 1.25, int64(9), nil),
		osc.NewMessage("/neg", int32(-2147483648), float32(-1e20), -0.125),
	} {
		if err := s.Send(port, m); err != nil {
			t.Fatal(err)
		}
		for {
			l, ok := readLine(wait)
			if !ok {
				t.Fatalf("oscdump printed nothing for %s", Format(m))
			}
			if l == "/ready i 1" {
				continue // a late answer to the readiness probe
			}
			if l != Format(m) {
				t.Errorf("oscdump printed %q, Format %q", l, Format(m))
			}
			break
		}
	}
}
