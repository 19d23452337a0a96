package oscquery

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/oscmap"
	"github.com/oscgpio/oscgpio/oscmap/codec"
)

const statusGoingAway = websocket.StatusGoingAway

// maxReplies bounds the answers (/oscgpio/get...) waiting to be sent to one
// client; more are dropped and counted.
const maxReplies = 64

// isWebSocket reports whether r asks for a WebSocket.
func isWebSocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket") &&
		strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade")
}

// A client is one WebSocket connection: the paths it listens to, and the
// latest unsent value of each (never more: a newer value replaces it).
type client struct {
	s      *Server
	conn   *websocket.Conn
	peer   netip.AddrPort
	ctx    context.Context
	cancel context.CancelFunc

	listen map[string]bool // guarded by s.mu

	mu          sync.Mutex // guards what follows; taken after s.mu, never before
	raw         net.Conn   // conn's TCP connection, closed by Close when a client does not answer the closing handshake
	pending     map[string][]any
	last        map[string]time.Time // when a frame last went for a path
	changedPath string               // a PATH_CHANGED to send, "" when none
	replies     [][]byte
	wake        chan struct{}

	closeOnce sync.Once
}

// serveWS upgrades r and serves the client until it goes.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	peer, _ := netip.ParseAddrPort(r.RemoteAddr)
	if r.Header.Get("Origin") != "" && !s.hostAllowed(r.Host) {
		if s.rebound.CompareAndSwap(false, true) {
			s.log.Warn("oscquery: websocket refused to a web page that reached the bridge by a DNS name (it could be another site rebound to this address): give the name to the server's Hosts to allow it (this is said once)",
				"host", r.Host, "origin", r.Header.Get("Origin"), "peer", r.RemoteAddr)
		}
		http.Error(w, "a web page may open this WebSocket only at an address, localhost, a .local name or a configured host name, not "+r.Host, http.StatusForbidden)
		return
	}
	s.mu.Lock()
	if s.closed || len(s.clients) >= s.opt.MaxClients {
		full := !s.closed
		s.mu.Unlock()
		if full {
			s.refused.Add(1)
			s.connLine(slog.LevelWarn, "oscquery: websocket client refused: too many clients", "peer", r.RemoteAddr, "max", s.opt.MaxClients)
			http.Error(w, "too many OSCQuery WebSocket clients; try again later", http.StatusServiceUnavailable)
			return
		}
		http.Error(w, "the bridge is stopping", http.StatusServiceUnavailable)
		return
	}
	c := &client{s: s, peer: peer, listen: map[string]bool{}, pending: map[string][]any{}, last: map[string]time.Time{},
		wake: make(chan struct{}, 1)}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	s.clients[c] = struct{}{} // holds the slot during the handshake
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.clients, c)
		s.mu.Unlock()
	}()

	hw := &hijackWriter{ResponseWriter: w}
	conn, err := websocket.Accept(hw, r, nil) // same origin only: a web page elsewhere cannot drive the pins
	if err != nil {
		s.connLine(slog.LevelWarn, "oscquery: websocket handshake failed", "peer", r.RemoteAddr, "err", err)
		return
	}
	conn.SetReadLimit(s.opt.MaxMessage)
	c.mu.Lock()
	c.conn, c.raw = conn, hw.conn
	c.mu.Unlock()
	if c.ctx.Err() != nil { // Close came during the handshake
		conn.Close(statusGoingAway, "the bridge is stopping")
		return
	}
	s.connLine(slog.LevelInfo, "oscquery: websocket client connected", "peer", r.RemoteAddr, "path", r.URL.Path)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.writeLoop()
	}()
	err = c.readLoop()
	c.cancel() // the writer stops
	<-done
	c.close(websocket.StatusNormalClosure, "")
	s.connLine(slog.LevelInfo, "oscquery: websocket client gone", "peer", r.RemoteAddr, "reason", closeReason(err))
}

// connLine logs a line about one client (connected, gone, refused...)
// within the budget of such lines, so a client or a web page that retries
// in a loop cannot flood the log.
func (s *Server) connLine(level slog.Level, msg string, args ...any) {
	if s.log.Enabled(context.Background(), level) && s.lines.Allow() {
		s.log.Log(context.Background(), level, msg, args...)
	}
}

func closeReason(err error) string {
	if err == nil {
		return "closed"
	}
	if st := websocket.CloseStatus(err); st != -1 {
		return st.String()
	}
	return err.Error()
}

// hijackWriter is the ResponseWriter given to websocket.Accept: it keeps
// the connection that Accept takes over, so that Close can cut it.
type hijackWriter struct {
	http.ResponseWriter
	conn net.Conn
}

// Hijack takes the connection over, as the wrapped ResponseWriter does, and
// keeps it.
func (h *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	h.conn = conn
	return conn, rw, err
}

// Unwrap returns the wrapped ResponseWriter (for http.ResponseController).
func (h *hijackWriter) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// cut closes the client's TCP connection at once, without the closing
// handshake.
func (c *client) cut() {
	c.mu.Lock()
	raw := c.raw
	c.mu.Unlock()
	if raw != nil {
		raw.Close()
	}
}

// close ends the connection once, with code and reason.
func (c *client) close(code websocket.StatusCode, reason string) {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		conn := c.conn
		c.mu.Unlock()
		if conn == nil { // in the handshake: serveWS sees the context
			c.cancel()
			return
		}
		// The closing handshake waits for the peer (5 s at most), whose
		// close frame ends readLoop: not on the caller's goroutine.
		c.s.wg.Add(1)
		go func() {
			defer c.s.wg.Done()
			conn.Close(code, reason)
			c.cancel()
		}()
	})
}

// command is a text frame from a client.
type command struct {
	Command string          `json:"COMMAND"`
	Data    json.RawMessage `json:"DATA"`
}

// readLoop takes the client's frames: commands and OSC packets.
func (c *client) readLoop() error {
	s := c.s
	for {
		typ, data, err := c.conn.Read(c.ctx)
		if err != nil {
			return err
		}
		if typ == websocket.MessageBinary {
			c.input(data)
			continue
		}
		var cmd command
		var path string
		if json.Unmarshal(data, &cmd) != nil || json.Unmarshal(cmd.Data, &path) != nil {
			s.malformed.Add(1)
			s.log.Debug("oscquery: text frame is not a command like {\"COMMAND\":\"LISTEN\",\"DATA\":\"/path\"}", "peer", c.peer.String())
			continue
		}
		path = cleanPath(path)
		switch strings.ToUpper(cmd.Command) {
		case "LISTEN":
			s.mu.Lock()
			if s.tree.byPath[path] != nil {
				c.listen[path] = true
			}
			s.mu.Unlock()
		case "IGNORE":
			s.mu.Lock()
			delete(c.listen, path)
			c.mu.Lock()
			delete(c.pending, path)
			delete(c.last, path)
			c.mu.Unlock()
			s.mu.Unlock()
		default:
			s.log.Debug("oscquery: unknown command ignored", "command", cmd.Command, "peer", c.peer.String())
		}
	}
}

// input hands the messages of an OSC packet to the bridge, if the mapping's
// allow list admits the client and its rate_limit lets the packet through.
// Answers go back over the WebSocket. A Nil argument is dropped (a method
// of TYPE N is sent without arguments), and a bundle's time tag is not
// waited for.
func (c *client) input(data []byte) {
	s := c.s
	if !s.allowed(c.peer.Addr()) {
		if s.denied.Add(1) == 1 {
			s.log.Warn("oscquery: OSC from a websocket client that the mapping's allow list does not admit: dropped (this is said once)", "peer", c.peer.String())
		}
		return
	}
	if !s.underLimit(c.peer.Addr()) {
		if s.limited.Add(1) == 1 {
			s.log.Warn("oscquery: OSC from a websocket client over the mapping's rate_limit: dropped (this is said once)", "peer", c.peer.String())
		}
		return
	}
	els, err := codec.Decode(data)
	if err != nil {
		s.malformed.Add(1)
		s.log.Debug("oscquery: binary frame is not OSC", "peer", c.peer.String(), "err", err)
		return
	}
	for _, e := range els {
		m := e.Msg
		args := m.Arguments[:0:0]
		for _, a := range m.Arguments {
			if a != nil {
				args = append(args, a)
			}
		}
		m.Arguments = args
		s.injected.Add(1)
		s.b.Inject(m, c.peer, c.reply)
	}
}

// localSuffixes end the names that no public DNS answers for (mDNS, and
// the names home routers and RFC 6761/8375 keep local): an attacker cannot
// make one resolve to the bridge.
var localSuffixes = []string{".localhost", ".local", ".lan", ".home.arpa", ".internal", ".localdomain"}

// hostAllowed reports whether host (a Host header, with or without a port)
// is a name a browser may use to open the WebSocket: an IP address,
// localhost, a name without a dot (the LAN's own), a name under one of
// localSuffixes (stage-pi.local), or one of Options.Hosts. Any other DNS
// name could be an attacker's that now resolves to the bridge (DNS
// rebinding): the page's Origin would then match its Host.
func (s *Server) hostAllowed(host string) bool {
	if LocalName(host) {
		return true
	}
	host = bareHost(host)
	for _, h := range s.opt.Hosts {
		if strings.EqualFold(strings.TrimSuffix(h, "."), host) {
			return true
		}
	}
	return false
}

// LocalName reports whether host (a Host header, with or without a port)
// is a name no other site can make resolve to this machine: an IP address,
// localhost, a name without a dot (the LAN's own), or a name under one of
// the local suffixes (.local, .lan, .home.arpa, .internal, .localdomain,
// .localhost). A page opened under any other DNS name could be an
// attacker's, rebound to the bridge (DNS rebinding). The dashboard's
// controls use the same rule.
func LocalName(host string) bool {
	host = bareHost(host)
	if host == "" {
		return false
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	if !strings.Contains(host, ".") {
		return true
	}
	for _, suffix := range localSuffixes {
		if strings.HasSuffix(host, suffix) {
			return true
		}
	}
	return false
}

// bareHost is host without its port, brackets and final dot, in lower case.
func bareHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
}

// underLimit takes a token from addr's bucket of the mapping's rate_limit
// (its allow entry's, or the file's), as the UDP socket does for each
// datagram, and reports whether there was one.
func (s *Server) underLimit(addr netip.Addr) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limit == nil || s.limit.Allow(addr)
}

// allowed reports whether the mapping's allow list admits addr, as the
// UDP socket does (IPv4-mapped networks are IPv4 ones, zones are ignored).
func (s *Server) allowed(addr netip.Addr) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.allow == nil || s.allow.Allows(addr)
}

// reply queues an answer of the bridge for the client. It runs under the
// bridge's lock: it never blocks.
func (c *client) reply(m *osc.Message) error {
	data, err := codec.Encode(m)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.replies) >= maxReplies {
		c.s.dropped.Add(1)
		return errors.New("the websocket client is not reading its answers")
	}
	c.replies = append(c.replies, data)
	c.signal()
	return nil
}

func (c *client) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// changed is the bridge's subscriber: the new value of every listened path
// of the point waits for its client's writer, replacing an unsent one. It
// runs under the bridge's lock and takes s.mu and each client's mu briefly.
func (s *Server) changed(ch oscmap.Change, p oscmap.Point) {
	if p.Name == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tree == nil {
		return
	}
	if len(s.clients) == 0 {
		// Nobody listens: nothing to format or remember. The values last
		// sent are forgotten, so a later listener gets every change.
		clear(s.last)
		return
	}
	for _, path := range s.tree.byPoint[ch.Point] {
		m := s.tree.byPath[path].m
		if !m.sends(ch) {
			continue
		}
		args := m.oscArgs(p)
		// A change that leaves the value as it was (the release of a
		// latch or a counter) is not sent; a hold's repeats are.
		if last, ok := s.last[path]; ok && m.value != valueHeld && last == args[0] {
			continue
		}
		s.last[path] = args[0]
		for c := range s.clients {
			if !c.listen[path] {
				continue
			}
			c.mu.Lock()
			if _, waiting := c.pending[path]; waiting {
				s.coalesced.Add(1)
			}
			c.pending[path] = args
			c.signal()
			c.mu.Unlock()
		}
	}
}

// pathChanged queues PATH_CHANGED and drops the listens on paths that t no
// longer has. The caller holds s.mu.
func (c *client) pathChanged(path string, t *tree) {
	for p := range c.listen {
		if t.byPath[p] == nil {
			delete(c.listen, p)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.changedPath != "" {
		path = commonPrefix([]string{c.changedPath, path})
	}
	c.changedPath = path
	for p := range c.pending {
		if !c.listen[p] {
			delete(c.pending, p)
		}
	}
	c.signal()
}

// writeLoop sends what waits: PATH_CHANGED, answers, then each path's
// latest value once its slot (1/Rate after the last) has come. A write that
// takes longer than WriteTimeout closes the client.
func (c *client) writeLoop() {
	s := c.s
	interval := time.Duration(float64(time.Second) / s.opt.Rate)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	type frame struct {
		typ  websocket.MessageType
		data []byte
	}
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.wake:
		case <-timer.C:
		}
		var frames []frame
		c.mu.Lock()
		now := time.Now()
		if c.changedPath != "" {
			data, _ := json.Marshal(map[string]string{"COMMAND": "PATH_CHANGED", "DATA": c.changedPath})
			frames = append(frames, frame{websocket.MessageText, data})
			c.changedPath = ""
		}
		for _, r := range c.replies {
			frames = append(frames, frame{websocket.MessageBinary, r})
		}
		c.replies = nil
		var next time.Time
		values := 0
		for path, args := range c.pending {
			if due := c.last[path].Add(interval); now.Before(due) {
				if next.IsZero() || due.Before(next) {
					next = due
				}
				continue
			}
			data, err := codec.Encode(osc.NewMessage(path, args...))
			delete(c.pending, path)
			if err != nil {
				s.log.Error("oscquery: cannot encode a value", "path", path, "err", err)
				continue
			}
			c.last[path] = now
			frames = append(frames, frame{websocket.MessageBinary, data})
			values++
		}
		c.mu.Unlock()
		if !next.IsZero() {
			timer.Reset(next.Sub(now))
		}
		for _, f := range frames {
			ctx, cancel := context.WithTimeout(c.ctx, s.opt.WriteTimeout)
			err := c.conn.Write(ctx, f.typ, f.data)
			timedOut := ctx.Err() == context.DeadlineExceeded
			cancel()
			if err != nil {
				if timedOut {
					s.slow.Add(1)
					s.connLine(slog.LevelWarn, "oscquery: websocket client too slow: closed", "peer", c.peer.String(), "timeout", s.opt.WriteTimeout)
					c.close(websocket.StatusPolicyViolation, "too slow")
				} else {
					c.close(websocket.StatusInternalError, "write failed")
				}
				return
			}
		}
		s.sent.Add(uint64(values))
	}
}
