package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/oscmap/codec"
)

// sendCmd sends one message, or --count messages --interval apart with {i}
// replaced by the index: `oscgpio send --count 5 --interval 1s /test {i}` is
// the python-osc tutorial's client.
func sendCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("send", stderr)
	to := fs.String("to", "127.0.0.1:5005", "send to `HOST:PORT`")
	count := fs.Int("count", 1, "number of messages to send")
	interval := fs.Duration("interval", time.Second, "time between two messages")
	wait := fs.Duration("wait", 0, "after sending, print for this long what comes back to the sending socket (the answers to /oscgpio/get, /oscgpio/stats)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return fmt.Errorf("%w: give an OSC address, like /test", errUsage)
	}
	if *count < 1 {
		return fmt.Errorf("%w: --count %d: send at least one message", errUsage, *count)
	}
	if *interval < 0 {
		return fmt.Errorf("%w: --interval %v: use 0 or more", errUsage, *interval)
	}
	// Check every argument once before anything is sent.
	if _, err := buildMessage(rest, 0); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	// One socket for every message, not connected (so a "port unreachable"
	// from a receiver that is not running yet does not fail the next send);
	// the destination is looked up once.
	dst, err := net.ResolveUDPAddr("udp", *to)
	if err != nil {
		return fmt.Errorf("send to %s: %w (want host:port, like 127.0.0.1:5005)", *to, err)
	}
	conn, err := net.ListenUDP("udp", nil)
	if err != nil {
		return fmt.Errorf("open a UDP socket to send OSC: %w", err)
	}
	defer conn.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for i := 0; i < *count; i++ {
		if i > 0 && *interval > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(*interval):
			}
		}
		m, err := buildMessage(rest, i)
		if err != nil {
			return err
		}
		data, err := codec.Encode(m)
		if err != nil {
			return err
		}
		if _, err := conn.WriteToUDP(data, dst); err != nil {
			return fmt.Errorf("send %s to %s: %w", m.Address, *to, err)
		}
		fmt.Fprintf(stdout, "sent %s to %s\n", codec.Format(m), *to)
	}
	if *wait > 0 {
		return printReplies(ctx, conn, *wait, stdout)
	}
	return nil
}

// printReplies prints every message that arrives at conn for d (or until
// ctx is done), one line each, like dump: "/led i 1".
func printReplies(ctx context.Context, conn *net.UDPConn, d time.Duration, stdout io.Writer) error {
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	conn.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 65536)
	for {
		n, _, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil
			}
			return fmt.Errorf("waiting for answers: %w", err)
		}
		els, err := codec.Decode(buf[:n])
		if err != nil {
			fmt.Fprintf(stdout, "malformed answer (%d bytes): %v\n", n, err)
			continue
		}
		for _, e := range els {
			fmt.Fprintln(stdout, codec.Format(e.Msg))
		}
	}
}

// buildMessage makes message i from the address and arguments, {i} replaced by i.
func buildMessage(words []string, i int) (*osc.Message, error) {
	idx := strconv.Itoa(i)
	addr := strings.ReplaceAll(words[0], "{i}", idx)
	if !strings.HasPrefix(addr, "/") {
		return nil, fmt.Errorf("address %q must start with /", addr)
	}
	m := osc.NewMessage(addr)
	for _, w := range words[1:] {
		a, err := codec.ParseArg(strings.ReplaceAll(w, "{i}", idx))
		if err != nil {
			return nil, err
		}
		m.Append(a)
	}
	return m, nil
}
