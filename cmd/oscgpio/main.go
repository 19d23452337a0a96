// Command oscgpio bridges a Raspberry Pi's GPIO pins and Open Sound Control.
//
// Usage:
//
//	oscgpio run   [--config FILE] [--watch] [--gpio auto|host|sim] [--listen HOST:PORT] [--http HOST:PORT|off] [--no-advertise]
//	oscgpio send  [--to HOST:PORT] [--count N] [--interval D] [--wait D] ADDRESS [ARG...]
//	oscgpio dump  [--listen HOST:PORT]
//	oscgpio bench [--to HOST:PORT] [--listen HOST:PORT] [--count N] [--max-rate N] [--json]
//	oscgpio check FILE
//	oscgpio pins
//	oscgpio wiring FILE [-o OUT.svg] [--text]
//
// Each subcommand lives in its own file; this one only dispatches.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"

	"github.com/oscgpio/oscgpio/oscmap/logs"
)

// command is one subcommand: its name, a one-line summary and its body. The
// body returns an error to print; errUsage makes main print the usage too.
type command struct {
	name, args, summary string
	run                 func(args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"run", "[--config FILE] [--watch] [--gpio auto|host|sim] [--listen HOST:PORT] [--http HOST:PORT|off] [--no-advertise]", "run the bridge and its dashboard (no --config: the embedded tutorial mapping); SIGHUP reloads the mapping", runCmd},
	{"send", "[--to HOST:PORT] [--count N] [--interval D] [--wait D] ADDRESS [ARG...]", "send OSC messages ({i} in an argument is the index 0..N-1); --wait prints the answers", sendCmd},
	{"dump", "[--listen HOST:PORT]", "print every OSC message received", dumpCmd},
	{"bench", "[--to HOST:PORT] [--listen HOST:PORT] [--count N] [--max-rate N] [--json]", "measure a running bridge through a jumpered output and input", benchCmd},
	{"check", "FILE", "validate a mapping file and print it as a table", checkCmd},
	{"pins", "", "print the 40-pin header", pinsCmd},
	{"wiring", "FILE [-o OUT.svg] [--text]", "draw how to wire a mapping file: an SVG of the header (--text: for a terminal)", wiringCmd},
}

// errUsage marks an error in how the command was called (exit code 2).
var errUsage = errors.New("usage")

// errQuiet is returned by a command that already printed what went wrong.
var errQuiet = errors.New("failed")

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) (code int) {
	// A bug must not end in a bare Go panic: say what happened and how to
	// report it. (run has already put the outputs at their safe level.)
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "oscgpio: internal error: %v\nThis is a bug in oscgpio; please report it with the lines above and this trace:\n%s", r, debug.Stack())
			code = 70
		}
	}()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(stderr, "oscgpio %s: %v\nusage: oscgpio %s %s\n", c.name, err, c.name, c.args)
			return 2
		case errors.Is(err, errQuiet):
			return 1
		default:
			fmt.Fprintf(stderr, "oscgpio %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "oscgpio: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "oscgpio bridges Raspberry Pi GPIO pins and Open Sound Control.\n\nUsage:")
	for _, c := range commands {
		fmt.Fprintf(w, "  oscgpio %-5s %s\n        %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'oscgpio COMMAND -h' for a command's flags.")
}

// newFlags makes a FlagSet for a subcommand that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("oscgpio "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses the flags before the positional arguments and returns those.
// Everything after the first positional argument is positional, so that
// `oscgpio send /x -1` sends -1.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return fs.Args(), nil
}

// newLogger is the log every command writes: text lines on stderr.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("%w: --log-level %q: use debug, info, warn or error", errUsage, level)
	}
	// Long strings (a sender's 60 KB address) are cut: the line budget then
	// bounds the log's bytes too.
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l, ReplaceAttr: logs.Clip})), nil
}
