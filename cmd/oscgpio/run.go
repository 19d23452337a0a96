package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/gpio"
	"github.com/oscgpio/oscgpio/oscmap"
)

// runCmd runs the bridge until SIGINT, SIGTERM or SIGHUP, then leaves every
// output at its safe level and exits 0.
func runCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	file := fs.String("config", "", "mapping `FILE` (default: the embedded tutorial mapping)")
	kind := fs.String("gpio", "auto", "pin backend: auto (host on a Raspberry Pi, else sim), host or sim")
	listen := fs.String("listen", "", "receive OSC on `HOST:PORT` (default: the mapping's listen, 127.0.0.1:5005)")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("%w: unexpected argument %q (the mapping file goes after --config)", errUsage, rest[0])
	}
	log, err := newLogger(stderr, *level)
	if err != nil {
		return err
	}

	cfg := config.Default()
	if *file != "" {
		if cfg, err = config.Load(*file); err != nil {
			fmt.Fprintln(stderr, err)
			fmt.Fprintln(stderr, "oscgpio run: the mapping has errors; fix them (oscgpio check FILE lists them) and start again")
			return errQuiet
		}
	}

	// Signals are caught before any pin is touched, so a stop during start-up
	// still ends with the outputs safe. SIGHUP too: a closed terminal or ssh
	// session must not kill the bridge without putting them at their safe level.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()

	backend, err := gpio.Open(*kind, log)
	if err != nil {
		return err
	}
	b, err := oscmap.NewBridge(cfg, backend, oscmap.Options{Listen: *listen, Logger: log})
	if err != nil {
		backend.Close()
		return err
	}
	// A panic on this goroutine still leaves the outputs safe.
	defer func() {
		if r := recover(); r != nil {
			b.Close()
			panic(r)
		}
	}()
	if err := b.Run(ctx); err != nil {
		return err
	}
	return nil
}
