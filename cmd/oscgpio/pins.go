package main

import (
	"fmt"
	"io"

	"github.com/oscgpio/oscgpio/wiring"
)

// pinsCmd prints the 40-pin header.
func pinsCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("pins", stderr)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("%w: pins takes no arguments", errUsage)
	}
	return wiring.WriteTable(stdout)
}
