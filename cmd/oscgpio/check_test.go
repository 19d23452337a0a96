package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// check warns, without failing, about a destination that is the bridge's
// own listen address.
func TestCheckWarnsOwnListenAddress(t *testing.T) {
	path := filepath.Join(t.TempDir(), "loop.yaml")
	src := "listen: 0.0.0.0:5005\ndestinations:\n  me: localhost:5005\n" +
		"outputs:\n  - {name: led, pin: GPIO17, address: /led}\n" +
		"inputs:\n  - {name: b, pin: GPIO27, address: /b, to: me}\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if err := checkCmd([]string{path}, &stdout, &stderr); err != nil {
		t.Fatalf("check failed: %v\n%s", err, stderr.String())
	}
	want := path + `:3:3: warning: destination "me" is this bridge's own listen address: inputs sent there come back in as messages (a loop)`
	if !strings.HasPrefix(stderr.String(), want) || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("stderr = %q\nwant one line starting %q", stderr.String(), want)
	}
	if !strings.Contains(stdout.String(), "me=localhost:5005") {
		t.Errorf("no table: %q", stdout.String())
	}
}
