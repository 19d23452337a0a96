package main

import (
	"fmt"
	"io"

	"github.com/oscgpio/oscgpio/config"
)

// checkCmd validates a mapping file: the table on success, every error as
// FILE:LINE:COL: message and exit status 1 otherwise. The file's warnings
// (config.Config.Warnings: a destination that is the bridge's own listen
// address, a part marked volts: 5 on a GPIO) go to stderr as
// FILE:LINE:COL: warning: message, and do not fail.
func checkCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", stderr)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return fmt.Errorf("%w: give exactly one mapping file", errUsage)
	}
	cfg, err := loadChecked(rest[0], stderr)
	if err != nil {
		return err
	}
	return cfg.WriteTable(stdout)
}

// loadChecked loads the mapping file at path for a command that reads it
// (check, wiring): its errors go to stderr (errQuiet is returned), and so
// do its warnings, FILE:LINE:COL: warning: ... each.
func loadChecked(path string, stderr io.Writer) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, errQuiet
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(stderr, "%s:%d:%d: warning: %s\n", w.File, w.Line, w.Col, w.Msg)
	}
	return cfg, nil
}
