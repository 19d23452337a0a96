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

// dumpCmd prints every message received, one line each, like liblo's oscdump,
// with anything that is not plain printable text escaped (see dumpLine).
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
		fmt.Fprintln(stdout, dumpLine(m, addr, *from))
	})
}

// dumpLine is the line dump prints for m, received from addr: codec.Format
// (the sender's address in front with from), so nothing received is
// printed raw: an address holding a newline or an escape sequence is
// printed quoted and escaped, and one message is always one line.
func dumpLine(m *osc.Message, addr netip.AddrPort, from bool) string {
	if from {
		return addr.String() + " " + codec.Format(m)
	}
	return codec.Format(m)
}
