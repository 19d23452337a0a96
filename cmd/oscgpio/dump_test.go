package main

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/hypebeast/go-osc/osc"
)

// A received address holding a newline cannot forge a second line in
// dump's output, and ESC does not reach the terminal.
func TestDumpLineEscapes(t *testing.T) {
	from := netip.MustParseAddrPort("127.0.0.2:9000")
	m := osc.NewMessage("/x\n/button i 1\x1b[2J", "\x1b]0;pwned\x07")
	for _, withFrom := range []bool{false, true} {
		got := dumpLine(m, from, withFrom)
		if strings.ContainsAny(got, "\n\r\x1b\x07") {
			t.Fatalf("dump printed raw control characters: %q", got)
		}
		want := `"/x\n/button i 1\x1b[2J" s "\x1b]0;pwned\a"`
		if withFrom {
			want = "127.0.0.2:9000 " + want
		}
		if got != want {
			t.Errorf("dumpLine = %s\nwant       %s", got, want)
		}
	}
	if got := dumpLine(osc.NewMessage("/button", int32(1)), from, false); got != "/button i 1" {
		t.Errorf("a plain message: %s", got)
	}
}
