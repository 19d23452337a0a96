// Package oscquery serves a bridge's namespace by Vidvox's OSCQuery protocol
// (github.com/Vidvox/OSCQueryProposal): the JSON description of every
// address over HTTP, attribute queries, HOST_INFO, and a WebSocket on the
// same port for LISTEN/IGNORE, value streaming, OSC input and PATH_CHANGED.
//
// The Server is an http.Handler that answers every path: the HTTP server
// that mounts it routes to it whatever is not its own (a dashboard).
package oscquery

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/oscmap"
	"github.com/oscgpio/oscgpio/oscmap/logs"
	"github.com/oscgpio/oscgpio/oscmap/transport"
)

// Options adjusts a Server.
type Options struct {
	// Name is HOST_INFO's NAME; empty means "oscgpio on <hostname>".
	Name string
	// Logger receives the server's log; nil means slog.Default().
	Logger *slog.Logger
	// MaxClients bounds the WebSocket clients at once; more are refused
	// with 503. 0 means 32.
	MaxClients int
	// MaxMessage bounds a message from a WebSocket client (a command or an
	// OSC packet), in bytes; a bigger one closes the connection. 0 means
	// 65536.
	MaxMessage int64
	// Rate is how many frames a second at most a client gets for one
	// listened path; between them the latest value wins. 0 means 30.
	Rate float64
	// WriteTimeout is how long a frame may take to reach a client before
	// the client is closed as too slow. 0 means 5 s.
	WriteTimeout time.Duration
	// Hosts are further names (DNS names with a dot, "pi.example.org") by
	// which a browser may reach the server and open its WebSocket. A web
	// page (a request with an Origin) may open it only when it reached the
	// server by an address, localhost, a name without a dot, a name under
	// .local, .lan, .home.arpa, .internal or .localdomain, or one of these: another name could be an attacker's rebound to the
	// bridge (DNS rebinding), whose page would then drive the pins.
	Hosts []string
}

// Stats are a Server's running totals.
type Stats struct {
	Clients   int    // WebSocket clients connected now
	Refused   uint64 // WebSocket clients refused: too many at once
	Sent      uint64 // value frames sent to listeners
	Coalesced uint64 // values replaced by a newer one before they were sent (the rate limit, a slow client)
	Dropped   uint64 // answers (/oscgpio/get...) dropped: 64 were already waiting for their client
	Slow      uint64 // clients closed because a frame took longer than WriteTimeout
	Injected  uint64 // OSC messages from clients handed to the bridge
	Denied    uint64 // OSC packets from clients the mapping's allow list refuses
	// RateLimited counts OSC packets (binary frames) dropped by the
	// mapping's rate_limit, applied to each client address as the UDP
	// socket applies it to each sender.
	RateLimited uint64
	Malformed   uint64 // binary frames that are not OSC, and text frames that are not a command
}

// A Server answers OSCQuery requests about one bridge. Create it with New,
// mount it as an http.Handler, and Close it before the bridge.
type Server struct {
	b    *oscmap.Bridge
	name string
	log  *slog.Logger
	opt  Options

	mu      sync.Mutex
	tree    *tree
	allow   *transport.Allow   // the mapping's allow list, read as the UDP socket reads it; nil admits everyone
	limit   *transport.Limiter // the mapping's rate_limit per client address; nil when it has none
	clients map[*client]struct{}
	last    map[string]any // the last value of each path with one, so an unchanged one is not sent again
	closed  bool

	cancelSub, cancelApply func()
	wg                     sync.WaitGroup

	refused, sent, coalesced, dropped, slow, injected, denied, limited, malformed atomic.Uint64
	rebound                                                                       atomic.Bool  // a web page was refused for its Host: said once
	lines                                                                         *logs.Budget // lines about single clients
}

// New makes a server for b's namespace, kept up to date across reloads.
func New(b *oscmap.Bridge, opt Options) *Server {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Name == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "localhost"
		}
		opt.Name = "oscgpio on " + host
	}
	if opt.MaxClients <= 0 {
		opt.MaxClients = 32
	}
	if opt.MaxMessage <= 0 {
		opt.MaxMessage = 64 << 10
	}
	if opt.Rate <= 0 {
		opt.Rate = 30
	}
	if opt.WriteTimeout <= 0 {
		opt.WriteTimeout = 5 * time.Second
	}
	s := &Server{b: b, name: opt.Name, log: opt.Logger, opt: opt, clients: map[*client]struct{}{}, last: map[string]any{}}
	s.lines = logs.NewBudget(connLinesPerSecond, func(n int) {
		s.log.Warn(fmt.Sprintf("oscquery: %d log lines about single websocket clients not shown in the last second (a client or a web page retrying in a loop?)", n), "not_shown", n)
	})
	s.cancelApply = b.OnApply(s.applied)
	s.setConfig(b.Config())
	s.cancelSub = b.SubscribePoints(s.changed)
	return s
}

// setConfig makes cfg's namespace the served one and returns the old. It
// calls the Bridge: never with s.mu held.
func (s *Server) setConfig(cfg *config.Config) *tree {
	live := map[string]bool{}
	for _, p := range s.b.Points() {
		live[p.Name] = true
	}
	t := buildTree(cfg, live)
	allow, limit, err := oscmap.Guard(cfg)
	if err != nil {
		// The bridge refuses such a mapping; admit no one rather than everyone.
		s.log.Error("oscquery: the mapping's allow list is invalid: OSC over the WebSocket is refused to everyone", "err", err)
		allow, limit = &transport.Allow{}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.tree
	s.tree, s.allow, s.limit = t, allow, limit
	// A path keeps its last value only if the same point still gives it the
	// same way: another point's would swallow the new one's first change.
	for p := range s.last {
		n := t.byPath[p]
		var o *node
		if old != nil {
			o = old.byPath[p]
		}
		if n == nil || n.m == nil || n.m.value == valueNone || o == nil || o.m == nil || o.m.point != n.m.point || o.m.value != n.m.value {
			delete(s.last, p)
		}
	}
	return old
}

// applied follows a reload: the new namespace is served, listens on paths
// that went away are dropped, and every client is told PATH_CHANGED with
// the highest path that changed.
func (s *Server) applied(cfg *config.Config) {
	old := s.setConfig(cfg)
	if old == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	path, changed := changedPaths(old, s.tree)
	if !changed {
		return
	}
	for c := range s.clients {
		c.pathChanged(path, s.tree)
	}
	s.log.Info("oscquery: the namespace changed", "path", path, "clients", len(s.clients))
}

// Stats returns the running totals.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	n := len(s.clients)
	s.mu.Unlock()
	return Stats{Clients: n, Refused: s.refused.Load(), Sent: s.sent.Load(), Coalesced: s.coalesced.Load(), Dropped: s.dropped.Load(), Slow: s.slow.Load(),
		Injected: s.injected.Load(), Denied: s.denied.Load(), RateLimited: s.limited.Load(), Malformed: s.malformed.Load()}
}

// Close ends the subscriptions and closes every WebSocket client, and
// waits for their goroutines: a client that has not answered the closing
// handshake within a second is cut off. Requests after it get 503.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	clients := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		clients = append(clients, c)
	}
	s.mu.Unlock()
	s.cancelSub()
	s.cancelApply()
	for _, c := range clients {
		c.close(statusGoingAway, "the bridge is stopping")
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(closeGrace):
		// A client that does not answer the closing handshake (gone from
		// the network) would hold Close for 5 to 10 s.
		for _, c := range clients {
			c.cut()
		}
		<-done
	}
	return nil
}

// connLinesPerSecond bounds the log lines about single WebSocket clients.
const connLinesPerSecond = 10

// closeGrace is how long Close waits for clients to answer the closing
// handshake before it cuts their connections.
const closeGrace = time.Second

// The attributes a node may be asked for (?VALUE ...).
var attributes = map[string]bool{"FULL_PATH": true, "CONTENTS": true, "TYPE": true, "VALUE": true, "RANGE": true,
	"ACCESS": true, "DESCRIPTION": true, "CLIPMODE": true, "OVERLOADS": true}

// ServeHTTP answers GET /path (the node and everything below it as JSON),
// GET /path?ATTRIBUTE ({"ATTRIBUTE": value}; 400 for an attribute this
// server does not know or support, 204 when the node has no such value, 404
// for an unknown path), ?HOST_INFO on any path, and upgrades a WebSocket
// request on any path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if isWebSocket(r) {
		s.serveWS(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "OSCQuery answers GET only", http.StatusMethodNotAllowed)
		return
	}
	s.mu.Lock()
	t, closed := s.tree, s.closed
	s.mu.Unlock()
	if closed {
		http.Error(w, "the bridge is stopping", http.StatusServiceUnavailable)
		return
	}
	attr := attribute(r.URL.RawQuery)
	if attr == "HOST_INFO" {
		s.writeJSON(w, r, s.hostInfo())
		return
	}
	path := cleanPath(r.URL.Path)
	n := t.byPath[path]
	if n == nil {
		http.Error(w, fmt.Sprintf("no OSC container or method at %s (GET / lists them)", path), http.StatusNotFound)
		return
	}
	if attr != "" && !attributes[attr] {
		http.Error(w, fmt.Sprintf("unknown or unsupported attribute %q: this server answers HOST_INFO, FULL_PATH, CONTENTS, TYPE, VALUE, RANGE, ACCESS, DESCRIPTION, CLIPMODE, OVERLOADS", attr), http.StatusBadRequest)
		return
	}
	var points map[string]oscmap.Point
	if attr == "" || attr == "VALUE" || attr == "CONTENTS" {
		points = map[string]oscmap.Point{}
		for _, p := range s.b.Points() {
			points[p.Name] = p
		}
	}
	j := n.render(points)
	if attr == "" {
		s.writeJSON(w, r, j)
		return
	}
	var v any
	switch attr {
	case "FULL_PATH":
		v = j.FullPath
	case "DESCRIPTION":
		v = j.Description
	case "ACCESS":
		v = j.Access
	case "CONTENTS":
		if j.Contents != nil {
			v = *j.Contents
		}
	case "TYPE":
		if j.Type != "" {
			v = j.Type
		}
	case "VALUE":
		if j.Access&accessRead != 0 && j.Value != nil {
			v = j.Value
		}
	case "RANGE":
		if j.Range != nil {
			v = j.Range
		}
	case "CLIPMODE":
		if j.ClipMode != nil {
			v = j.ClipMode
		}
	case "OVERLOADS":
		if j.Overloads != nil {
			v = j.Overloads
		}
	}
	if v == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.writeJSON(w, r, map[string]any{attr: v})
}

// attribute is the attribute a query names: its first key, in capitals
// ("VALUE" for "VALUE", "value" or "VALUE&x=1"); "" when there is none.
func attribute(rawQuery string) string {
	q, _, _ := strings.Cut(rawQuery, "&")
	q, _, _ = strings.Cut(q, "=")
	return strings.ToUpper(q)
}

// cleanPath is the OSC address of a URL path: without a fragment that a
// client left in it, without a trailing slash, "/" when empty.
func cleanPath(p string) string {
	p, _, _ = strings.Cut(p, "#")
	if p == "" {
		return "/"
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	for len(p) > 1 && strings.HasSuffix(p, "/") {
		p = p[:len(p)-1]
	}
	return p
}

// hostInfo is the HOST_INFO object. OSC_IP is given only when the OSC
// socket is bound to one address; WS_IP and WS_PORT are left out, as the
// WebSocket is on this same port.
func (s *Server) hostInfo() map[string]any {
	info := map[string]any{
		"NAME":          s.name,
		"OSC_TRANSPORT": "UDP",
		"EXTENSIONS": map[string]bool{
			"ACCESS": true, "VALUE": true, "RANGE": true, "DESCRIPTION": true, "CLIPMODE": true,
			"OVERLOADS": true, "LISTEN": true, "PATH_CHANGED": true,
			"TAGS": false, "UNIT": false, "CRITICAL": false, "EXTENDED_TYPE": false, "HTML": false,
			"PATH_RENAMED": false, "PATH_ADDED": false, "PATH_REMOVED": false,
		},
	}
	if ap, err := netip.ParseAddrPort(s.b.Addr().String()); err == nil {
		info["OSC_PORT"] = ap.Port()
		if !ap.Addr().IsUnspecified() {
			info["OSC_IP"] = ap.Addr().Unmap().String()
		}
	}
	return info
}

// writeJSON sends v as the JSON body (not for HEAD).
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		s.log.Error("oscquery: cannot encode an answer", "path", r.URL.Path, "err", err)
		http.Error(w, "cannot encode the answer", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(data)
}

func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// Listener wraps l for the HTTP server that mounts a Server, so that a
// request whose target starts with '?' ("GET ?HOST_INFO HTTP/1.1", what a
// client may send for http://host:port?HOST_INFO) is read as "/?HOST_INFO":
// Go's server would answer 400 before any handler runs. Only the first
// request of each connection is looked at (clients that send this form open
// a connection per request).
func Listener(l net.Listener) net.Listener { return fixListener{l} }

type fixListener struct{ net.Listener }

func (l fixListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &fixConn{Conn: c}, nil
}

// fixConn inserts '/' before a request target that starts with '?'.
type fixConn struct {
	net.Conn
	checked bool
	pending []byte
}

// CloseWrite shuts the writing side of the connection when it has one
// (TCP), so that a server's error answer reaches the client before the
// connection ends.
func (c *fixConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

func (c *fixConn) Read(p []byte) (int, error) {
	if !c.checked {
		c.checked = true
		// The method (at most 8 bytes, "OPTIONS"), a space, and the
		// target's first byte.
		buf := make([]byte, 0, 16)
		var rerr error
		for len(buf) < cap(buf) {
			n, err := c.Conn.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if i := bytes.IndexByte(buf, ' '); (i >= 0 && len(buf) > i+1) || err != nil {
				rerr = err
				break
			}
		}
		if i := bytes.IndexByte(buf, ' '); i > 0 && len(buf) > i+1 && buf[i+1] == '?' {
			buf = append(buf[:i+1:i+1], append([]byte{'/'}, buf[i+1:]...)...)
		}
		c.pending = buf
		if len(buf) == 0 {
			return 0, rerr
		}
	}
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
