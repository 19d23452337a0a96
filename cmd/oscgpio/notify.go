package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/oscgpio/oscgpio/oscmap"
)

// notifySystemd speaks systemd's notify protocol when the service manager
// asks for it (NOTIFY_SOCKET): READY=1 once the bridge listens, then, when
// WATCHDOG_USEC is set, WATCHDOG=1 at half that interval for as long as the
// engine answers (oscmap.Bridge.Alive): a bridge whose message handling is
// stuck stops pinging, and systemd restarts it. The protocol is one datagram
// on a unix socket; no library is needed.
func notifySystemd(ctx context.Context, b *oscmap.Bridge, log *slog.Logger) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return
	}
	if path[0] == '@' {
		path = "\x00" + path[1:] // an abstract socket
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		log.Warn("cannot reach systemd's notify socket", "socket", os.Getenv("NOTIFY_SOCKET"), "err", err)
		return
	}
	defer conn.Close()
	send := func(state string) {
		if _, err := conn.Write([]byte(state)); err != nil {
			log.Warn("systemd notify failed", "state", state, "err", err)
		}
	}
	send("READY=1\nSTATUS=listening on " + b.Addr().String())
	usec, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec <= 0 {
		return
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return
	}
	every := time.Duration(usec) * time.Microsecond / 2
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			send("STOPPING=1")
			return
		case <-t.C:
			alive, cancel := context.WithTimeout(ctx, every)
			if b.Alive(alive) {
				send("WATCHDOG=1")
			} else if ctx.Err() == nil {
				log.Error("the engine did not answer within half the watchdog interval: systemd's watchdog is not fed", "waited", every.String())
			}
			cancel()
		}
	}
}
