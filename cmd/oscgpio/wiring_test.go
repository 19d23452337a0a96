package main

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wiring draws a mapping: SVG on stdout, to -o FILE (given before or after
// the file), or text with --text; a 5 V part is a warning on stderr as
// check prints it.
func TestWiringCmd(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.yaml")
	src := "outputs:\n  - {name: led, pin: GPIO17, address: /led}\n" +
		"  - {name: relay1, pin: GPIO22, address: /r, volts: 5}\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	warning := path + `:3:53: warning: relay "relay1" is marked volts: 5, but GPIO22 (pin 15) drives 3.3 V`

	var stdout, stderr bytes.Buffer
	if err := wiringCmd([]string{path}, &stdout, &stderr); err != nil {
		t.Fatalf("wiring: %v\n%s", err, stderr.String())
	}
	if err := xml.Unmarshal(stdout.Bytes(), new(struct{ XMLName xml.Name })); err != nil {
		t.Errorf("stdout is not XML: %v", err)
	}
	if !strings.Contains(stdout.String(), ">GPIO17 · led</text>") || !strings.Contains(stdout.String(), ">RELAY</text>") {
		t.Errorf("the drawing lacks the LED or the relay:\n%s", stdout.String())
	}
	if !strings.HasPrefix(stderr.String(), warning) || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("stderr = %q\nwant one line starting %q", stderr.String(), warning)
	}
	svg := stdout.String()

	for _, args := range [][]string{{"-o", filepath.Join(dir, "a.svg"), path}, {path, "-o", filepath.Join(dir, "b.svg")}} {
		stdout.Reset()
		stderr.Reset()
		if err := wiringCmd(args, &stdout, &stderr); err != nil {
			t.Fatalf("wiring %v: %v\n%s", args, err, stderr.String())
		}
		out := args[1]
		if args[0] == path {
			out = args[2]
		}
		got, err := os.ReadFile(out)
		if err != nil || string(got) != svg || stdout.Len() != 0 {
			t.Errorf("wiring %v: file %d bytes (%v), want the %d of stdout; stdout %d bytes", args, len(got), err, len(svg), stdout.Len())
		}
	}

	stdout.Reset()
	if err := wiringCmd([]string{"--text", path}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"led /led  GPIO17  11 |", "!1 relay1 /r  GPIO22  15 |", "\nWarnings (1):\n  !1 relay \"relay1\""} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("--text lacks %q:\n%s", want, stdout.String())
		}
	}
}

// A bad file gets check's FILE:LINE:COL errors and exit status 1; a wrong
// call is a usage error (status 2).
func TestWiringCmdErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("outputs:\n  - {name: led, pin: GPIO17, address: /led, volts: 12}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := dispatch([]string{"wiring", path}, &stdout, &stderr); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	want := path + `:2:52: volts must be 3.3 or 5 (the volts the part works at: its supply and logic level), not "12"` + "\n"
	if stderr.String() != want || stdout.Len() != 0 {
		t.Errorf("stderr %q\nwant   %q; stdout %q", stderr.String(), want, stdout.String())
	}
	var check bytes.Buffer
	dispatch([]string{"check", path}, &stdout, &check)
	if check.String() != stderr.String() {
		t.Errorf("check says %q, wiring %q", check.String(), stderr.String())
	}
	for _, args := range [][]string{{"wiring"}, {"wiring", "a.yaml", "b.yaml"}, {"wiring", "--text", "-o", "x.svg", path}, {"wiring", "--bogus", path}} {
		stderr.Reset()
		if code := dispatch(args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "usage: oscgpio wiring FILE") {
			t.Errorf("%v: status %d, stderr %q", args, code, stderr.String())
		}
	}
}
