package web

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// httpd serves HTTP/1.1 on a listener: the standard library reads each
// request (http.ReadRequest) and the handler is an http.Handler, as with
// net/http's Server, but without what the dashboard never uses: TLS and
// HTTP/2. net/http's Server links both in whether they are used or not (1.6
// MB of the bridge's 9 MB binary), and the binary's size is most of the
// bridge's resident memory.
//
// One request at a time per connection, keep-alive, chunked responses when
// the handler sets no Content-Length (so a stream can be flushed), Hijack for
// WebSocket, a request context cancelled when the client goes away, and
// bounds on what a client can hold: header size and time, idle time, open
// connections.
type httpd struct {
	handler http.Handler
	log     *slog.Logger

	// Bounds; zero takes the default.
	headerTimeout time.Duration // to read a request's header, from the connection or from its first byte
	bodyTimeout   time.Duration // to read a request's body, and to write a response before the handler refreshes it
	idleTimeout   time.Duration // between requests on one connection
	maxHeader     int           // bytes of a request line and header
	maxConns      int           // open connections; more get 503 and are closed
	maxPerClient  int           // open connections from one IP address

	base   context.Context // parent of every request's context
	cancel context.CancelFunc

	mu       sync.Mutex
	ln       net.Listener
	conns    map[net.Conn]netip.Addr // open and not hijacked, with the client's address
	perIP    map[netip.Addr]int      // open connections per client address
	refusing int                     // connections being answered 503
	closed   bool
	wg       sync.WaitGroup // connection goroutines
}

// Defaults of httpd's bounds.
const (
	defaultHeaderTimeout = 10 * time.Second
	defaultBodyTimeout   = 30 * time.Second
	defaultIdleTimeout   = 2 * time.Minute
	defaultMaxHeader     = 32 << 10
	defaultMaxConns      = 128
	defaultMaxPerClient  = 16
	maxDrain             = 256 << 10 // unread request body discarded to keep a connection
	drainTimeout         = time.Second
)

// errServerClosed is Serve's error after Close.
var errServerClosed = errors.New("web: server closed")

func newHTTPD(h http.Handler, log *slog.Logger) *httpd {
	ctx, cancel := context.WithCancel(context.Background())
	return &httpd{handler: h, log: log, base: ctx, cancel: cancel,
		conns: map[net.Conn]netip.Addr{}, perIP: map[netip.Addr]int{},
		headerTimeout: defaultHeaderTimeout, bodyTimeout: defaultBodyTimeout, idleTimeout: defaultIdleTimeout,
		maxHeader: defaultMaxHeader, maxConns: defaultMaxConns, maxPerClient: defaultMaxPerClient}
}

// Serve accepts connections on ln until Close, and returns errServerClosed
// then (or the listener's error).
func (s *httpd) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return errServerClosed
	}
	s.ln = ln
	s.mu.Unlock()
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return errServerClosed
			}
			if isTimeout(err) || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ECONNABORTED) {
				// Out of file descriptors or the like: wait, as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Debug("dashboard: accept failed; retrying", "err", err, "in", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		s.track(c)
	}
}

// track serves c, or refuses it (503, then closed) when there are
// maxConns open already, or maxPerClient from its address, or closes it when
// the server is closed. Its goroutine is counted in s.wg.
func (s *httpd) track(c net.Conn) {
	ip := clientIP(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return
	}
	if len(s.conns) >= s.maxConns || s.perIP[ip] >= s.maxPerClient {
		// Answered off the accept loop, at most maxConns at a time; beyond
		// that, closed at once.
		if s.refusing >= s.maxConns {
			c.Close()
			return
		}
		s.refusing++
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.reject(c, "503 Service Unavailable", "too many connections at once; try again later")
			c.Close()
			s.mu.Lock()
			s.refusing--
			s.mu.Unlock()
		}()
		return
	}
	s.conns[c] = ip
	s.perIP[ip]++
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.serveConn(c)
	}()
}

// clientIP is the address c comes from (the zero Addr when it has none).
func clientIP(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// untrack forgets c: it closed or was hijacked.
func (s *httpd) untrack(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ip, ok := s.conns[c]
	if !ok {
		return
	}
	delete(s.conns, c)
	if s.perIP[ip]--; s.perIP[ip] <= 0 {
		delete(s.perIP, ip)
	}
}

func (s *httpd) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops accepting, cancels every request's context, closes every
// connection that was not hijacked, and waits at most wait for the handlers
// to return. Serve returns errServerClosed.
func (s *httpd) Close(wait time.Duration) {
	s.mu.Lock()
	s.closed = true
	ln := s.ln
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.cancel()
	if ln != nil {
		ln.Close()
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(wait):
		s.log.Warn("dashboard: a request was still running when the server stopped", "waited", wait)
	}
}

// limitReader is the connection as the request reader sees it: n bytes at
// most while a header is read (n < 0: no limit).
type limitReader struct {
	c net.Conn
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n == 0 {
		return 0, errHeaderTooLarge
	}
	if l.n > 0 && int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.c.Read(p)
	if l.n > 0 {
		l.n -= int64(n)
	}
	return n, err
}

var errHeaderTooLarge = errors.New("request header too large")

// serveConn serves the requests of one connection, one after another.
func (s *httpd) serveConn(c net.Conn) {
	hijacked := false
	defer func() {
		s.untrack(c)
		if !hijacked {
			c.Close()
		}
	}()
	lr := &limitReader{c: c}
	br := bufio.NewReaderSize(lr, 4096)
	bw := bufio.NewWriterSize(c, 4096)
	// A new connection has the header time for its first request, from
	// now; a kept one waits the idle time for the next, then has the header
	// time from its first byte.
	c.SetReadDeadline(time.Now().Add(s.headerTimeout))
	for first := true; ; first = false {
		if !first {
			c.SetReadDeadline(time.Now().Add(s.idleTimeout))
		}
		lr.n = -1
		if _, err := br.Peek(1); err != nil {
			return
		}
		if !first {
			c.SetReadDeadline(time.Now().Add(s.headerTimeout))
		}
		// What the header may take from the connection: what is buffered
		// already (at most the reader's 4 KiB) and maxHeader more.
		lr.n = int64(s.maxHeader)
		req, err := http.ReadRequest(br)
		lr.n = -1
		if err != nil {
			if errors.Is(err, errHeaderTooLarge) {
				s.reject(c, "431 Request Header Fields Too Large", "the request's header is too large")
			} else if !errors.Is(err, io.EOF) && !isTimeout(err) {
				s.reject(c, "400 Bad Request", "malformed HTTP request: "+err.Error())
			}
			return
		}
		if req.ProtoAtLeast(1, 1) && req.Host == "" { // ReadRequest moves the Host header there
			s.reject(c, "400 Bad Request", "an HTTP/1.1 request needs a Host header")
			return
		}
		// The body, whole, within the body time: a client cannot hold the
		// connection by sending it slowly. A request without one has no read
		// deadline while its handler runs (an event stream waits for ever).
		// The response has the body time too, each write of a stream
		// refreshing it (the hub does), so a client that stops reading
		// cannot hold the handler.
		if req.Body != http.NoBody {
			c.SetReadDeadline(time.Now().Add(s.bodyTimeout))
		} else {
			c.SetReadDeadline(time.Time{})
		}
		c.SetWriteDeadline(time.Now().Add(s.bodyTimeout))
		req.RemoteAddr = c.RemoteAddr().String()
		ctx, cancel := context.WithCancel(s.base)
		req = req.WithContext(ctx)

		keep, hj := s.serveRequest(c, br, bw, req, cancel)
		cancel()
		if hj {
			hijacked = true
			return
		}
		if !keep {
			return
		}
	}
}

// serveRequest runs the handler for req and finishes its response. It
// reports whether the connection can serve another request, and whether the
// handler took it over.
func (s *httpd) serveRequest(c net.Conn, br *bufio.Reader, bw *bufio.Writer, req *http.Request, cancel context.CancelFunc) (keep, hijacked bool) {
	w := &response{s: s, c: c, br: br, bw: bw, req: req, header: http.Header{}, contentLength: -1}
	switch e := req.Header.Get("Expect"); {
	case e == "":
	case strings.EqualFold(e, "100-continue") && !req.ProtoAtLeast(1, 1):
		// HTTP/1.0 knows no 100 Continue: the client sends its body anyway.
	case strings.EqualFold(e, "100-continue") && req.ContentLength != 0:
		io.WriteString(bw, "HTTP/1.1 100 Continue\r\n\r\n")
		bw.Flush()
	case !strings.EqualFold(e, "100-continue"):
		s.reject(c, "417 Expectation Failed", "only Expect: 100-continue is understood")
		return false, false
	}
	// A request without a body lets the connection be watched while the
	// handler runs: the client going away cancels the request's context
	// (an event stream ends at once).
	if req.ContentLength == 0 && len(req.TransferEncoding) == 0 {
		w.watch = startWatch(c, br, cancel)
	}
	panicked := true
	func() {
		defer func() {
			if p := recover(); p != nil && p != http.ErrAbortHandler {
				s.log.Error("dashboard: a request handler panicked; its connection is closed", "path", req.URL.Path, "panic", fmt.Sprint(p))
			}
		}()
		s.handler.ServeHTTP(w, req)
		panicked = false
	}()
	if w.hijacked {
		return false, true
	}
	if panicked {
		// As net/http does: no answer, or a cut one; the client sees the
		// connection close.
		w.stopWatch()
		return false, false
	}
	w.stopWatch()
	w.finish()
	if w.closeAfter || req.Close || w.watchFailed {
		return false, false
	}
	// Keep the connection only if the request body was read to its end (or
	// little enough is left to discard quickly).
	if req.Body != http.NoBody {
		c.SetReadDeadline(time.Now().Add(drainTimeout))
		if n, err := io.CopyN(io.Discard, req.Body, maxDrain+1); n > maxDrain || err != io.EOF {
			return false, false
		}
	}
	return true, false
}

// reject answers with status and text, then ends the connection so that
// the client reads the answer: what it is still sending is read and
// dropped for a moment first, as closing a socket with unread data resets
// the connection, and a reset can lose the answer on the client's side.
func (s *httpd) reject(c net.Conn, status, text string) {
	c.SetWriteDeadline(time.Now().Add(time.Second))
	text += "\n"
	fmt.Fprintf(c, "HTTP/1.1 %s\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", status, len(text), text)
	if tc, ok := c.(interface{ CloseWrite() error }); ok && tc.CloseWrite() == nil {
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		io.CopyN(io.Discard, c, maxDrain)
	}
}

// watch reads ahead on a connection while its handler runs, to see the
// client go away.
type watch struct {
	c    net.Conn
	done chan struct{}
	err  error // what the read ahead ended with
}

func startWatch(c net.Conn, br *bufio.Reader, cancel context.CancelFunc) *watch {
	w := &watch{c: c, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		_, w.err = br.Peek(1)
		if w.err != nil && !isTimeout(w.err) {
			cancel() // the client closed or reset the connection
		}
	}()
	return w
}

// stop ends the read ahead (bytes it read stay buffered for the next
// request) and reports whether the connection is still good.
func (w *watch) stop() bool {
	w.c.SetReadDeadline(time.Unix(1, 0))
	<-w.done
	w.c.SetReadDeadline(time.Time{})
	return w.err == nil || isTimeout(w.err)
}

// response is the http.ResponseWriter of one request. Its header is written
// when the body starts, when it is flushed, or when the handler returns; with
// no Content-Length from the handler, an HTTP/1.1 body is chunked.
type response struct {
	s   *httpd
	c   net.Conn
	br  *bufio.Reader
	bw  *bufio.Writer
	req *http.Request

	header        http.Header
	status        int   // 0 until WriteHeader
	headerSent    bool  // the status line and header are in bw
	chunked       bool  // the body is sent in chunks
	noBody        bool  // HEAD, 1xx, 204, 304: nothing after the header
	contentLength int64 // from the handler's header; -1: none
	written       int64 // body bytes the handler wrote
	closeAfter    bool  // the connection ends with this response
	hijacked      bool
	watch         *watch
	watchFailed   bool
}

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(code int) {
	if w.hijacked || w.status != 0 {
		return
	}
	if code < 100 || code > 999 {
		code = http.StatusInternalServerError
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		// An informational answer (103 Early Hints): sent now, with the
		// header so far; the final status comes later.
		fmt.Fprintf(w.bw, "HTTP/1.1 %03d %s\r\n", code, http.StatusText(code))
		w.header.Write(w.bw)
		w.bw.WriteString("\r\n")
		w.bw.Flush()
		return
	}
	w.status = code
}

// sendHeader writes the status line and header to bw, choosing how the body
// is framed; sniff is the body's first bytes, for a Content-Type the handler
// did not set.
func (w *response) sendHeader(sniff []byte, final bool) {
	if w.headerSent {
		return
	}
	w.headerSent = true
	if w.status == 0 {
		w.status = http.StatusOK
	}
	h := w.header
	code := w.status
	w.noBody = w.req.Method == http.MethodHead || code < 200 || code == http.StatusNoContent || code == http.StatusNotModified
	if cl := h.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			w.contentLength = n
		} else {
			h.Del("Content-Length")
		}
	}
	if code != http.StatusSwitchingProtocols {
		keepAlive := !w.req.Close // http.ReadRequest's reading of Connection and the version
		switch {
		case w.noBody || w.contentLength >= 0:
		case final:
			// The handler returned: its whole body is what it wrote.
			w.contentLength = int64(len(sniff))
			h.Set("Content-Length", strconv.Itoa(len(sniff)))
		case w.req.ProtoAtLeast(1, 1):
			w.chunked = true
			h.Set("Transfer-Encoding", "chunked")
		default:
			keepAlive = false // an HTTP/1.0 body ends with the connection
		}
		if headerHas(h.Values("Connection"), "close") {
			keepAlive = false // the handler asked for it
		}
		if !keepAlive || w.s.isClosed() {
			w.closeAfter = true
			h.Set("Connection", "close")
		} else if !w.req.ProtoAtLeast(1, 1) {
			h.Set("Connection", "keep-alive")
		}
		if !w.noBody && h.Get("Content-Type") == "" && len(sniff) > 0 {
			h.Set("Content-Type", http.DetectContentType(sniff))
		}
		if h.Get("Date") == "" {
			h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
		}
	}
	text := http.StatusText(code)
	if text == "" {
		text = "status code " + strconv.Itoa(code)
	}
	fmt.Fprintf(w.bw, "HTTP/1.1 %03d %s\r\n", code, text)
	h.Write(w.bw)
	w.bw.WriteString("\r\n")
}

func (w *response) Write(p []byte) (int, error) {
	if w.hijacked {
		return 0, http.ErrHijacked
	}
	w.sendHeader(p, false)
	if w.noBody {
		if w.req.Method == http.MethodHead {
			return len(p), nil // as net/http: the body of a HEAD is dropped
		}
		return 0, http.ErrBodyNotAllowed
	}
	if w.contentLength >= 0 && w.written+int64(len(p)) > w.contentLength {
		return 0, http.ErrContentLength
	}
	if len(p) == 0 {
		return 0, nil
	}
	w.written += int64(len(p))
	if w.chunked {
		fmt.Fprintf(w.bw, "%x\r\n", len(p))
		w.bw.Write(p)
		_, err := w.bw.WriteString("\r\n")
		return len(p), err
	}
	return w.bw.Write(p)
}

// FlushError sends what was written so far (http.ResponseController's Flush).
func (w *response) FlushError() error {
	if w.hijacked {
		return http.ErrHijacked
	}
	w.sendHeader(nil, false)
	return w.bw.Flush()
}

// Flush is FlushError for http.Flusher.
func (w *response) Flush() { w.FlushError() }

// SetWriteDeadline bounds the writes of the response
// (http.ResponseController's SetWriteDeadline).
func (w *response) SetWriteDeadline(t time.Time) error { return w.c.SetWriteDeadline(t) }

// SetReadDeadline bounds the reads of the request body.
func (w *response) SetReadDeadline(t time.Time) error { return w.c.SetReadDeadline(t) }

// Hijack hands the connection to the handler, with what was read ahead of
// it and the header written so far (a 101 Switching Protocols).
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	w.stopWatch()
	if w.status != 0 {
		w.sendHeader(nil, false)
	}
	if err := w.bw.Flush(); err != nil {
		return nil, nil, err
	}
	w.hijacked = true
	w.s.untrack(w.c)
	w.c.SetDeadline(time.Time{})
	return w.c, bufio.NewReadWriter(w.br, w.bw), nil
}

func (w *response) stopWatch() {
	if w.watch != nil {
		if !w.watch.stop() {
			w.watchFailed = true
		}
		w.watch = nil
	}
}

// finish ends the response: the header if the handler wrote nothing, the
// last chunk, and everything flushed.
func (w *response) finish() {
	if !w.headerSent {
		w.sendHeader(nil, true)
	}
	if w.chunked {
		w.bw.WriteString("0\r\n\r\n")
	}
	if w.contentLength >= 0 && w.written < w.contentLength && !w.noBody {
		w.closeAfter = true // the body is short of what the header promised
	}
	w.c.SetWriteDeadline(time.Now().Add(w.s.headerTimeout))
	if err := w.bw.Flush(); err != nil {
		w.closeAfter = true
	}
	w.c.SetWriteDeadline(time.Time{})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
