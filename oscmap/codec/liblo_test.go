package codec

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hypebeast/go-osc/osc"
)

// These tests use liblo's command line tools (Debian package liblo-tools),
// the reference C implementation, as the peer; they are skipped without it,
// and fail without it when CI=true.

// wait bounds a step over loopback; it is not a speed target.
const wait = 10 * time.Second

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

// TestEncodeToOscdump checks that liblo's oscdump prints what Encode
// encoded exactly as Format does.
func TestEncodeToOscdump(t *testing.T) {
	oscdump := needTool(t, "oscdump")
	probe, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := probe.LocalAddr().String() // free a moment ago; oscdump binds it
	probe.Close()
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
	// Not connected: a "port unreachable" before oscdump listens must not
	// fail the next probe.
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dst, err := net.ResolveUDPAddr("udp", port)
	if err != nil {
		t.Fatal(err)
	}
	send := func(m *osc.Message) error {
		b, err := Encode(m)
		if err == nil {
			_, err = c.WriteToUDP(b, dst)
		}
		return err
	}
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
		if err := send(osc.NewMessage("/ready", int32(1))); err != nil {
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
		if err := send(m); err != nil {
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
