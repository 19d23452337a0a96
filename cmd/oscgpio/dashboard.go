package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/oscmap"
	"github.com/oscgpio/oscgpio/oscmap/oscquery"
	"github.com/oscgpio/oscgpio/oscmap/web"
	"github.com/oscgpio/oscgpio/wiring"
)

// dashboard is run's HTTP server: where it listens and whether it may
// drive the pins. Its socket is bound before the bridge opens any pin, so
// an address the user asked for that is taken stops run with nothing
// touched.
type dashboard struct {
	flagSet bool // --http gave the address: reloads do not move it
	control bool // the mapping says http: {control: true}
	log     *slog.Logger

	// mu guards what follows: a reload (reloaded) may still run while
	// run closes the dashboard.
	mu       sync.Mutex
	ln       net.Listener     // nil: no dashboard
	listen   string           // the address asked for
	srv      *web.Server      // nil before start and after close
	oscq     *oscquery.Server // OSCQuery, on the same port
	cancelFn func()
}

// defaultHTTP is config.DefaultHTTP; tests change it.
var defaultHTTP = config.DefaultHTTP

// openDashboard binds the dashboard's address: --http when given (off
// turns it off), else the mapping's http key, else config.DefaultHTTP. A
// taken address is an error when the user named it, and a warning (the
// bridge runs without a dashboard) when it is the default.
func openDashboard(flag string, cfg *config.Config, log *slog.Logger) (*dashboard, error) {
	d := &dashboard{log: log, control: cfg.HTTP.Control}
	asked := true
	switch {
	case strings.EqualFold(flag, "off"):
		return d, nil
	case flag != "":
		if _, _, err := net.SplitHostPort(flag); err != nil {
			return nil, fmt.Errorf("%w: --http %q: write HOST:PORT like %s, or off", errUsage, flag, config.DefaultHTTP)
		}
		d.listen, d.flagSet = flag, true
	case cfg.HTTP.Off:
		return d, nil
	case cfg.HTTP.Listen != "":
		d.listen = cfg.HTTP.Listen
	default:
		d.listen, asked = defaultHTTP, false
	}
	ln, err := web.Listen(d.listen)
	if err != nil {
		if asked {
			return nil, err
		}
		log.Warn("no dashboard: its default address is taken (give it another with --http HOST:PORT or http: in the mapping; --http off silences this)", "addr", d.listen, "err", err)
		return d, nil
	}
	d.ln = ln
	return d, nil
}

// start serves the dashboard of b on the bound socket and logs its URL. The
// controls are on for the sim, or when the mapping says so.
func (d *dashboard) start(b *oscmap.Bridge) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ln == nil {
		return
	}
	d.oscq = oscquery.New(b, oscquery.Options{Logger: d.log})
	d.srv = web.New(b, web.Options{Control: b.Simulated() || d.control, Logger: d.log, OSCQuery: d.oscq,
		Wiring: func(w io.Writer) error { return wiring.SVG(w, b.Config().Parts()) }})
	d.srv.Serve(d.ln)
	control := b.Simulated() || d.control
	d.log.Info("dashboard", "url", d.srv.URL(), "control", control)
	if a, ok := d.srv.Addr().(*net.TCPAddr); ok && control && !a.IP.IsLoopback() && len(b.Config().Allow) == 0 {
		d.log.Warn("the dashboard's controls are open to the network with no allow list: anyone who can reach it can drive the pins (add allow: to the mapping, or listen on 127.0.0.1)", "url", d.srv.URL())
	}
	d.cancelFn = b.OnApply(d.reloaded)
}

// reloaded follows a new mapping's http key: a new listen address moves the
// server (unless --http set it); turning it on or off, or changing control,
// needs a restart. After close it does nothing.
func (d *dashboard) reloaded(cfg *config.Config) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.flagSet || d.srv == nil {
		return
	}
	want := cfg.HTTP.Listen
	if want == "" {
		want = defaultHTTP
	}
	switch {
	case cfg.HTTP.Off:
		d.log.Warn("the mapping now says http: off; the dashboard stays until the bridge restarts", "url", d.srv.URL())
	case cfg.HTTP.Control != d.control:
		d.log.Warn("the mapping changes http control; that takes effect when the bridge restarts", "control", d.control)
	}
	if cfg.HTTP.Off || want == d.listen {
		return
	}
	if err := d.srv.Rebind(want); err != nil {
		d.log.Error("the dashboard stays where it was", "url", d.srv.URL(), "err", err)
		return
	}
	d.listen = want
	d.log.Info("dashboard moved", "url", d.srv.URL())
}

// startAttrs are the start line's words about the dashboard: its URL, or
// dashboard=off.
func (d *dashboard) startAttrs() []any {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ln == nil {
		return []any{"dashboard", "off"}
	}
	return []any{"dashboard", web.URL(d.ln.Addr())}
}

// addr is the dashboard's address, nil when there is none: what discovery
// advertises as _oscjson._tcp.
func (d *dashboard) addr() net.Addr {
	if d.srv == nil {
		return nil
	}
	return d.srv.Addr()
}

// close stops the dashboard, or closes its socket if it never started.
func (d *dashboard) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cancelFn != nil {
		d.cancelFn()
	}
	if d.oscq != nil {
		d.oscq.Close()
	}
	if d.srv != nil {
		d.srv.Close()
	} else if d.ln != nil {
		d.ln.Close()
	}
	d.cancelFn, d.srv, d.oscq, d.ln = nil, nil, nil, nil
}
