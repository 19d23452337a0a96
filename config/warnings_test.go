package config

import (
	"strings"
	"testing"
)

func TestSameSocket(t *testing.T) {
	for _, c := range []struct {
		listen, dest string
		want         bool
	}{
		{"127.0.0.1:5005", "127.0.0.1:5005", true},
		{"127.0.0.1:5005", "localhost:5005", true},
		{"127.0.0.1:5005", "LocalHost.:5005", true},
		{"127.0.0.1:5005", "0.0.0.0:5005", true},
		{"127.0.0.1:5005", "127.0.0.1:5006", false},
		{"127.0.0.1:5005", "127.0.0.2:5005", false},
		{"127.0.0.1:5005", "[::1]:5005", false},
		{"127.0.0.1:5005", "192.168.1.10:5005", false},
		{"0.0.0.0:5005", "127.0.0.1:5005", true},
		{"0.0.0.0:5005", "127.0.0.2:5005", true},
		{"0.0.0.0:5005", "localhost:5005", true},
		{"0.0.0.0:5005", "0.0.0.0:5005", true},
		{"0.0.0.0:5005", "[::1]:5005", true},
		{":5005", "127.0.0.1:5005", true},
		{"[::]:5005", "localhost:5005", true},
		{"0.0.0.0:5005", "192.168.1.10:5005", false}, // this machine's LAN address is not looked up
		{"0.0.0.0:5005", "localhost:5006", false},
		{"192.168.1.10:5005", "192.168.1.10:5005", true},
		{"192.168.1.10:5005", "127.0.0.1:5005", false},
		{"192.168.1.10:5005", "0.0.0.0:5005", false},
		{"[::1]:5005", "[::]:5005", true},
		{"[::1]:5005", "localhost:5005", true},
		{"localhost:5005", "127.0.0.1:5005", true},
		{"localhost:5005", "0.0.0.0:5005", true},
		{"localhost:5005", "10.0.0.1:5005", false},
		{"pi.local:5005", "PI.local:5005", true},
		{"pi.local:5005", "mac.local:5005", false},
	} {
		if got := sameSocket(c.listen, c.dest); got != c.want {
			t.Errorf("sameSocket(%s, %s) = %v, want %v", c.listen, c.dest, got, c.want)
		}
	}
}

func TestWarningsOwnListenAddress(t *testing.T) {
	src := "listen: 0.0.0.0:5005\n" + strings.Replace(base, "  pd: 127.0.0.1:9001", "  me: localhost:5005\n  pd: 127.0.0.1:9001", 1)
	c, err := Parse("m.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	ws := c.Warnings()
	if len(ws) != 1 {
		t.Fatalf("warnings = %v, want one", ws)
	}
	want := `m.yaml:4:3: destination "me" is this bridge's own listen address: inputs sent there come back in as messages (a loop); listen is 0.0.0.0:5005: `
	if !strings.HasPrefix(ws[0].Error(), want) {
		t.Errorf("warning %s\nwant prefix %s", ws[0], want)
	}
	// The default listen address.
	c, err = Parse("m.yaml", []byte(strings.Replace(base, "127.0.0.1:9001", "127.0.0.1:5005", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if ws := c.Warnings(); len(ws) != 1 || !strings.Contains(ws[0].Msg, `"pd"`) || !strings.Contains(ws[0].Msg, "listen is 127.0.0.1:5005") {
		t.Errorf("warnings = %v", ws)
	}
	// None in the base file, the tutorial or the examples.
	if c, err := Parse("m.yaml", []byte(base)); err != nil || len(c.Warnings()) != 0 {
		t.Errorf("base: %v %v", err, c.Warnings())
	}
	if ws := Default().Warnings(); len(ws) != 0 {
		t.Errorf("tutorial: %v", ws)
	}
}
