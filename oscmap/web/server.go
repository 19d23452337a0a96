// Package web is the bridge's HTTP server: a live dashboard of the 40-pin
// header (one embedded page, no files from elsewhere), its API under
// /oscgpio/ui/, and, on the same port, whatever answers OSCQuery.
//
// # Routing
//
// A request goes to the first of these that matches, like the patterns of
// net/http's ServeMux, most specific first:
//
//  1. A WebSocket upgrade (Connection: upgrade, Upgrade: websocket), on any
//     path, even under /oscgpio/ui/: Options.OSCQuery.
//  2. A path under /oscgpio/ui/: the dashboard's API.
//     GET /oscgpio/ui/ the page; GET /oscgpio/ui/events the Server-Sent
//     Events stream; GET /oscgpio/ui/state the snapshot as JSON; POST
//     /oscgpio/ui/send a message handled as if received over OSC (403 when
//     Options.Control is false or the mapping's allow list does not admit
//     the client, 429 over its rate_limit); GET /oscgpio/ui/wiring.svg the wiring
//     diagram (404 without Options.Wiring). One of these paths with another
//     method is 405; any other path there is 404.
//  3. GET or HEAD of / without a query whose Accept header prefers
//     text/html to application/json (a browser): the page.
//  4. Everything else, / for a JSON client and ?HOST_INFO included:
//     Options.OSCQuery, or 404 when it is nil.
//
// # Live updates
//
// GET /oscgpio/ui/events is one text/event-stream with these events, each a
// JSON object on one data: line:
//
//	state  the whole picture (header, points, counters, settings): first on
//	       every connection, and again after a reload of the mapping
//	change one point's new value: at most 30 a second per point, the latest
//	       value wins
//	log    one OSC message in or out: {t, dir, peer, addr, types, args}; or
//	       {dropped: N} when N lines were not sent (a slow client, a flood)
//	stats  the counters of /oscgpio/stats, once a second
//	ping   every 10 s, {t}
//
// A slow client never slows the bridge: each client has a bounded queue in
// which changes are coalesced per point and log lines dropped (and counted)
// when it is full; a client whose writes stall is disconnected.
package web

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/oscgpio/oscgpio/oscmap"
	"github.com/oscgpio/oscgpio/oscmap/oscquery"
	"github.com/oscgpio/oscgpio/oscmap/transport"
)

// Prefix is the path under which the dashboard's API lives.
const Prefix = "/oscgpio/ui/"

//go:embed page.html
var page []byte

// Options adjusts a Server.
type Options struct {
	// Control shows the controls and lets POST /oscgpio/ui/send drive the
	// bridge; when false the page only shows and the POST answers 403.
	Control bool
	// OSCQuery answers what the dashboard does not (see the package's
	// routing rules); nil answers 404.
	OSCQuery http.Handler
	// Wiring writes the wiring diagram as SVG; nil hides it.
	Wiring func(w io.Writer) error
	// Logger receives the server's log; nil means slog.Default().
	Logger *slog.Logger
	// MaxClients bounds the event streams open at once; 0 means 16. One more
	// is answered 503.
	MaxClients int
	// LogQueue bounds the log lines waiting for one client; 0 means 256.
	LogQueue int
}

// A Server is the bridge's HTTP server: an http.Handler, and Start, Rebind
// and Close to serve it on a TCP address.
type Server struct {
	b    *oscmap.Bridge
	opt  Options
	log  *slog.Logger
	hub  *hub
	host string // os.Hostname, for the control POST's Host check

	guardMu sync.Mutex
	allow   *transport.Allow   // the mapping's allow list for the control POST; nil admits everyone
	limit   *transport.Limiter // the mapping's rate_limit per client address; nil when it has none

	mu     sync.Mutex
	srv    *httpd
	ln     net.Listener
	done   chan struct{} // closed when srv's Serve returned
	closed bool          // Close was called: nothing is served again
}

// errClosed is Start's and Rebind's error after Close.
var errClosed = errors.New("dashboard: the server is closed (the bridge is stopping)")

// New makes the server of bridge b and starts following its changes,
// messages and reloads. It serves nothing until Start (or use it as an
// http.Handler); Close stops it.
func New(b *oscmap.Bridge, opt Options) *Server {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.MaxClients <= 0 {
		opt.MaxClients = 16
	}
	if opt.LogQueue <= 0 {
		opt.LogQueue = 256
	}
	s := &Server{b: b, opt: opt, log: opt.Logger, host: hostname()}
	s.setGuard(b.Config())
	s.hub = newHub(s)
	return s
}

// Start listens on addr (host:port; port 0 picks a free one) and serves in
// the background. It fails, serving nothing, when addr cannot be bound.
func (s *Server) Start(addr string) error {
	ln, err := Listen(addr)
	if err != nil {
		return err
	}
	if !s.serve(ln) {
		return errClosed
	}
	return nil
}

// Listen binds addr for Serve, with an error that says what to do when it
// is taken. Binding before the bridge opens any pin lets a command refuse to
// start without touching them.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dashboard: cannot listen on %s: %w (another program has the port? choose another with --http HOST:PORT, or --http off)", addr, err)
	}
	// OSCQuery clients may send "GET ?HOST_INFO": read it as "/?HOST_INFO".
	return oscquery.Listener(ln), nil
}

// Serve serves on ln in the background, replacing (and closing) what was
// served before. Close closes ln; after Close, Serve closes ln at once.
func (s *Server) Serve(ln net.Listener) { s.serve(ln) }

// serve is Serve; it reports false, having closed ln, after Close.
func (s *Server) serve(ln net.Listener) bool {
	srv := newHTTPD(s, s.log)
	done := make(chan struct{})
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return false
	}
	old, oldDone := s.srv, s.done
	s.srv, s.ln, s.done = srv, ln, done
	s.mu.Unlock()
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, errServerClosed) {
			s.log.Error("dashboard stopped serving", "addr", ln.Addr().String(), "err", err)
		}
	}()
	if old != nil {
		old.Close(time.Second)
		<-oldDone
	}
	return true
}

// Rebind moves the server to addr: it binds addr first, and only then stops
// serving the old address, so a busy addr leaves the server where it was
// (and returns the error). The same port on another interface
// (127.0.0.1:5080 -> 0.0.0.0:5080) is busy with the server's own socket:
// then it lets the port go and binds again, going back to the old address
// if that fails. The open event streams end; their pages reconnect. After
// Close it binds nothing and returns an error.
func (s *Server) Rebind(addr string) error {
	s.mu.Lock()
	closed, cur := s.closed, s.ln
	s.mu.Unlock()
	if closed {
		return errClosed
	}
	ln, err := Listen(addr)
	if err != nil && cur != nil && errors.Is(err, syscall.EADDRINUSE) && samePort(addr, cur.Addr()) {
		curAddr := cur.Addr().String()
		s.stop()
		if ln, err = Listen(addr); err != nil {
			back, again := Listen(curAddr)
			if again != nil {
				return fmt.Errorf("%w; and %s could not be bound again (%v): the dashboard is off until the bridge restarts", err, curAddr, again)
			}
			if !s.serve(back) {
				return errClosed
			}
			return fmt.Errorf("%w; still at %s", err, curAddr)
		}
	}
	if err != nil {
		return err
	}
	if !s.serve(ln) {
		return errClosed
	}
	return nil
}

// stop stops serving (the hub goes on) and waits until it has.
func (s *Server) stop() {
	s.mu.Lock()
	srv, done := s.srv, s.done
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close(time.Second)
		<-done
	}
}

// samePort reports whether addr (host:port) has the port of a.
func samePort(addr string, a net.Addr) bool {
	_, port, err := net.SplitHostPort(addr)
	t, ok := a.(*net.TCPAddr)
	return err == nil && ok && port == strconv.Itoa(t.Port)
}

// Addr is the address the server listens on, nil before Start.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// URL is the page's address, like http://127.0.0.1:5080/ ("" before
// Start). A server listening on every interface gives its loopback address.
func (s *Server) URL() string { return URL(s.Addr()) }

// URL is the page's address for a server listening on addr ("" when addr
// is not TCP); an address on every interface gives its loopback one.
func URL(addr net.Addr) string {
	a, ok := addr.(*net.TCPAddr)
	if !ok {
		return ""
	}
	ip := a.IP
	if ip.IsUnspecified() {
		if ip.To4() != nil {
			ip = net.IPv4(127, 0, 0, 1)
		} else {
			ip = net.IPv6loopback
		}
	}
	return "http://" + net.JoinHostPort(ip.String(), strconv.Itoa(a.Port)) + "/"
}

// Close stops serving, ends every event stream and stops following the
// bridge. It waits at most a second for the connections to end. Nothing is
// served after it.
func (s *Server) Close() error {
	s.hub.close()
	s.mu.Lock()
	srv, done := s.srv, s.done
	s.srv, s.ln, s.closed = nil, nil, true
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	srv.Close(time.Second)
	<-done
	return nil
}

// ServeHTTP routes r as the package documentation says.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case isWebSocket(r):
		s.oscquery(w, r)
	case strings.HasPrefix(r.URL.Path, Prefix):
		s.api(w, r)
	case r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.URL.RawQuery == "":
		w.Header().Add("Vary", "Accept")
		if prefersHTML(r.Header.Values("Accept")) {
			s.page(w, r)
			return
		}
		s.oscquery(w, r)
	default:
		s.oscquery(w, r)
	}
}

func (s *Server) oscquery(w http.ResponseWriter, r *http.Request) {
	if s.opt.OSCQuery == nil {
		http.Error(w, "not found: this server has the dashboard only (open / in a browser)", http.StatusNotFound)
		return
	}
	s.opt.OSCQuery.ServeHTTP(w, r)
}

// api serves the paths under Prefix.
func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	get := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch p := strings.TrimPrefix(r.URL.Path, Prefix); {
	case p == "" && get:
		s.page(w, r)
	case p == "events" && r.Method == http.MethodGet:
		s.hub.serveEvents(w, r)
	case p == "state" && get:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(s.snapshot())
	case p == "send":
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "send takes POST", http.StatusMethodNotAllowed)
			return
		}
		s.send(w, r)
	case p == "wiring.svg" && get && s.opt.Wiring != nil:
		s.wiring(w)
	case p == "" || p == "events" || p == "state" || p == "wiring.svg" && s.opt.Wiring != nil:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	default:
		http.Error(w, "not found: the dashboard has /oscgpio/ui/ (the page), events, state, send and wiring.svg", http.StatusNotFound)
	}
}

// page serves the embedded page.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("Content-Length", strconv.Itoa(len(page)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(page)
}

// wiring serves Options.Wiring's drawing.
func (s *Server) wiring(w http.ResponseWriter) {
	var sb strings.Builder
	if err := s.opt.Wiring(&sb); err != nil {
		s.log.Warn("dashboard: the wiring diagram could not be drawn", "err", err)
		http.Error(w, "the wiring diagram could not be drawn: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/svg+xml")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	io.WriteString(w, sb.String())
}

// isWebSocket reports whether r asks to upgrade to a WebSocket.
func isWebSocket(r *http.Request) bool {
	return headerHas(r.Header.Values("Connection"), "upgrade") && headerHas(r.Header.Values("Upgrade"), "websocket")
}

// headerHas reports whether a comma-separated header holds token (any case).
func headerHas(values []string, token string) bool {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// prefersHTML reports whether an Accept header gives text/html a higher
// quality than application/json (each taking its most specific match:
// text/html, then text/*, then */*). No Accept header, or */* alone, prefers
// neither: JSON, for OSCQuery clients and curl.
func prefersHTML(accept []string) bool {
	html, json := quality(accept, "text", "html"), quality(accept, "application", "json")
	return html > 0 && html > json
}

// quality is the q of type/sub in an Accept header: that of its most
// specific matching range, 0 when none matches.
func quality(accept []string, typ, sub string) float64 {
	best, q := -1, 0.0
	for _, v := range accept {
		for _, part := range strings.Split(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			t, st, _ := strings.Cut(mt, "/")
			spec := -1
			switch {
			case t == typ && st == sub:
				spec = 2
			case t == typ && st == "*":
				spec = 1
			case t == "*" && st == "*":
				spec = 0
			}
			if spec <= best {
				continue
			}
			best, q = spec, 1
			if s, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 && f <= 1 {
					q = f
				}
			}
		}
	}
	return q
}
