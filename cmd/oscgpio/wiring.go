package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/oscgpio/oscgpio/wiring"
)

// wiringCmd draws how to wire a mapping file: an SVG of the 40-pin header
// with each part at its pins (to -o FILE, or stdout), or with --text a
// drawing for the terminal. A bad file gets check's FILE:LINE:COL errors and
// exit status 1; the warnings are in the drawing and, as check prints them,
// on stderr.
func wiringCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("wiring", stderr)
	out := fs.String("o", "", "write the SVG to this `file` (default: stdout)")
	text := fs.Bool("text", false, "draw for a terminal instead of SVG")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 1 { // flags after the file: oscgpio wiring FILE -o out.svg
		more, err := parseFlags(fs, rest[1:])
		if err != nil {
			return err
		}
		rest = append(rest[:1], more...)
	}
	if len(rest) != 1 {
		return fmt.Errorf("%w: give exactly one mapping file", errUsage)
	}
	if *text && *out != "" {
		return fmt.Errorf("%w: -o writes an SVG; --text prints to the terminal: give one of them", errUsage)
	}
	cfg, err := loadChecked(rest[0], stderr)
	if err != nil {
		return err
	}
	if *text {
		return wiring.Text(stdout, cfg.Parts())
	}
	if *out == "" {
		return wiring.SVG(stdout, cfg.Parts())
	}
	var b bytes.Buffer
	if err := wiring.SVG(&b, cfg.Parts()); err != nil {
		return err
	}
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write the drawing: %w", err)
	}
	return nil
}
