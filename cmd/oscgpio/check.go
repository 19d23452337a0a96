package main

import (
	"fmt"
	"io"

	"github.com/oscgpio/oscgpio/config"
)

// checkCmd validates a mapping file: the table on success, every error as
// FILE:LINE:COL: message and exit status 1 otherwise.
func checkCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", stderr)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return fmt.Errorf("%w: give exactly one mapping file", errUsage)
	}
	cfg, err := config.Load(rest[0])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return errQuiet
	}
	return cfg.WriteTable(stdout)
}
