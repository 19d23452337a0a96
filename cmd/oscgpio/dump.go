package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"syscall"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/oscmap/codec"
	"github.com/oscgpio/oscgpio/oscmap/transport"
)

// dumpCmd prints every message received, one line each, like liblo's oscdump.
// Its default port is where the tutorial mapping sends its button.
func dumpCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dump", stderr)
	listen := fs.String("listen", "127.0.0.1:5006", "receive on `HOST:PORT`")
	from := fs.Bool("from", false, "also print the sender's address")
	level := fs.String("log-level", "warn", "debug, info, warn or error (the log goes to stderr)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, rest[0])
	}
	log, err := newLogger(stderr, *level)
	if err != nil {
		return err
	}
	srv, err := transport.ListenUDP(*listen, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintf(stderr, "oscgpio dump: listening on %s\n", srv.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Serve calls this from one goroutine, in arrival order.
	return srv.Serve(ctx, func(m *osc.Message, addr netip.AddrPort) {
		if *from {
			fmt.Fprintf(stdout, "%s %s\n", addr, codec.Format(m))
			return
		}
		fmt.Fprintln(stdout, codec.Format(m))
	})
}
