package web

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// startHTTPD serves h on a free loopback port until the test ends; tune sets
// the server's bounds before it starts.
func startHTTPD(t *testing.T, h http.Handler, tune func(*httpd)) (*httpd, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newHTTPD(h, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if tune != nil {
		tune(s)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close(time.Second)
		if err := <-done; !errors.Is(err, errServerClosed) {
			t.Errorf("Serve returned %v, want errServerClosed", err)
		}
	})
	return s, "http://" + ln.Addr().String()
}

// get reads url's body with client, reporting whether the connection was
// one used before.
func get(t *testing.T, client *http.Client, method, url string, body io.Reader) (*http.Response, string, bool) {
	t.Helper()
	reused := false
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
	})
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return resp, string(b), reused
}

// Responses are framed so that Go's client keeps one connection: a length
// for what a handler wrote and returned, chunks for a stream, nothing for
// HEAD; the Content-Type is sniffed when the handler gave none.
func TestHTTPDFramingAndKeepAlive(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/text", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
	mux.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<!DOCTYPE html><p>x") })
	mux.HandleFunc("/sized", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "3")
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "[1]")
	})
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusTeapot)
	})
	_, url := startHTTPD(t, mux, nil)
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	cases := []struct {
		method, path, body, ctype string
		code                      int
		chunked                   bool
	}{
		{"GET", "/empty", "", "", 200, false},
		{"GET", "/text", "hello", "text/plain; charset=utf-8", 200, true},
		{"GET", "/html", "<!DOCTYPE html><p>x", "text/html; charset=utf-8", 200, true},
		{"GET", "/sized", "[1]", "application/json", 200, false},
		{"HEAD", "/text", "", "", 200, false},
		{"GET", "/status", "nope\n", "text/plain; charset=utf-8", http.StatusTeapot, true},
		{"GET", "/missing", "404 page not found\n", "text/plain; charset=utf-8", 404, true},
	}
	for i, c := range cases {
		resp, body, reused := get(t, client, c.method, url+c.path, nil)
		if resp.StatusCode != c.code || body != c.body || resp.Header.Get("Content-Type") != c.ctype {
			t.Errorf("%s %s: %d %q (%q), want %d %q (%q)", c.method, c.path, resp.StatusCode, body, resp.Header.Get("Content-Type"), c.code, c.body, c.ctype)
		}
		if chunked := len(resp.TransferEncoding) > 0; chunked != c.chunked {
			t.Errorf("%s %s: chunked %v, want %v", c.method, c.path, chunked, c.chunked)
		}
		if resp.Header.Get("Date") == "" {
			t.Errorf("%s %s: no Date", c.method, c.path)
		}
		if i > 0 && !reused {
			t.Errorf("%s %s: a new connection, want the one kept alive", c.method, c.path)
		}
	}
}

// A request body is read by the handler or discarded after it, and the
// connection is kept; a body too large to discard ends the connection; a
// client that asks to continue (Expect: 100-continue) is told to.
func TestHTTPDRequestBodies(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) { io.Copy(w, r.Body) })
	mux.HandleFunc("/ignore", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	_, url := startHTTPD(t, mux, nil)
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: 10 * time.Second}}
	defer client.CloseIdleConnections()

	get(t, client, "GET", url+"/ignore", nil)
	if _, body, reused := get(t, client, "POST", url+"/echo", strings.NewReader(`{"address": "/led"}`)); body != `{"address": "/led"}` || !reused {
		t.Errorf("POST /echo: %q, reused %v", body, reused)
	}
	if _, body, reused := get(t, client, "POST", url+"/ignore", strings.NewReader(strings.Repeat("x", 1000))); body != "ok" || !reused {
		t.Errorf("POST /ignore with a small body: %q, reused %v; want ok on the same connection", body, reused)
	}
	// Go's client sends Expect: 100-continue for a body it cannot rewind
	// and waits for the 100 (ExpectContinueTimeout) before sending it.
	req, _ := http.NewRequest("POST", url+"/echo", io.NopCloser(strings.NewReader("continued")))
	req.Header.Set("Expect", "100-continue")
	req.ContentLength = int64(len("continued"))
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "continued" || time.Since(start) > 5*time.Second {
		t.Errorf("Expect: 100-continue: %q after %v", b, time.Since(start))
	}
	if _, body, reused := get(t, client, "POST", url+"/ignore", strings.NewReader(strings.Repeat("x", maxDrain+10))); body != "ok" {
		t.Errorf("POST /ignore with a large body: %q (reused %v)", body, reused)
	}
	if _, _, reused := get(t, client, "GET", url+"/ignore", nil); reused {
		t.Error("the connection of a large unread body was kept, want it closed")
	}
}

// rawRequest sends text on a new connection and returns what the server
// answered until it closed the connection.
func rawRequest(t *testing.T, url, text string) string {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	if _, err := io.WriteString(c, text); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading the answer to %.80q: %v", text, err)
	}
	return string(b)
}

// What a client can make the server hold is bounded: a malformed request
// and a header too large (beyond maxHeader and the 4 KiB read ahead) are
// answered and the connection closed; HTTP/1.0 gets its body until the
// connection closes.
func TestHTTPDBadRequests(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "body") })
	_, url := startHTTPD(t, h, func(s *httpd) { s.maxHeader = 1024 })
	for _, c := range []struct{ req, want string }{
		{"NOT HTTP\r\n\r\n", "HTTP/1.1 400 Bad Request"},
		{"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 8000) + "\r\n\r\n", "HTTP/1.1 431 Request Header Fields Too Large"},
		{"GET / HTTP/1.1\r\nHost: x\r\nExpect: something\r\n\r\n", "HTTP/1.1 417 Expectation Failed"},
		{"GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request"}, // no Host
		{"GET / HTTP/1.0\r\n\r\n", "HTTP/1.1 200 OK"},
		{"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 OK"},
	} {
		got := rawRequest(t, url, c.req)
		if !strings.HasPrefix(got, c.want) {
			t.Errorf("%.40q: answered %.80q, want %q", c.req, got, c.want)
		}
		if strings.HasPrefix(c.want, "HTTP/1.1 200") {
			resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(got)), nil)
			if err != nil {
				t.Fatalf("%.40q: %v", c.req, err)
			}
			body, err := io.ReadAll(resp.Body)
			if string(body) != "body" || err != nil || !resp.Close {
				t.Errorf("%.40q: answered %q (%v), closing %v; want the body and Connection: close", c.req, body, err, resp.Close)
			}
		}
	}
}

// A client that sends nothing, sends its header or body too slowly, or
// keeps a connection idle too long, is disconnected: the header time runs
// from the connection on a new one, the idle time after a request.
func TestHTTPDTimeouts(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	})
	_, url := startHTTPD(t, h, func(s *httpd) {
		s.headerTimeout = 200 * time.Millisecond
		s.bodyTimeout = 300 * time.Millisecond
		s.idleTimeout = 400 * time.Millisecond
	})
	addr := strings.TrimPrefix(url, "http://")
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// closedWithin reports how long the server took to end c, failing the
	// test if it did not within wait.
	closedWithin := func(what string, c net.Conn) time.Duration {
		start := time.Now()
		c.SetReadDeadline(start.Add(wait))
		if _, err := io.ReadAll(c); err != nil {
			t.Errorf("%s: %v, want the server to close the connection", what, err)
		}
		return time.Since(start)
	}
	silent := dial()
	slowHeader := dial()
	io.WriteString(slowHeader, "GET / HTTP/1.1\r\nHost: x\r\n") // and never the end of the header
	slowBody := dial()
	io.WriteString(slowBody, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
	idle := dial()
	io.WriteString(idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(idle), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the request before the idle time: %v %v", resp, err)
	}
	resp.Body.Close()
	for _, c := range []struct {
		what string
		c    net.Conn
	}{{"silent new connection", silent}, {"slow header", slowHeader}, {"slow body", slowBody}, {"idle after a request", idle}} {
		if d := closedWithin(c.what, c.c); d > wait/2 {
			t.Errorf("%s: closed after %v", c.what, d)
		}
	}
}

// A client that stops reading a response cannot hold its handler: the write
// times out and the handler returns.
func TestHTTPDWriteTimeout(t *testing.T) {
	returned := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 64<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				returned <- err
				return
			}
		}
	})
	_, url := startHTTPD(t, h, func(s *httpd) { s.bodyTimeout = 300 * time.Millisecond })
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n") // and never read
	select {
	case err := <-returned:
		if !isTimeout(err) {
			t.Errorf("the handler's write failed with %v, want a timeout", err)
		}
	case <-time.After(wait):
		t.Fatal("the handler still writes to a client that does not read")
	}
}

// More open connections than maxConns, or than maxPerClient from one
// address: the extra one is answered 503 and closed, and the others are
// served.
func TestHTTPDConnectionBound(t *testing.T) {
	for _, tune := range []func(*httpd){
		func(s *httpd) { s.maxConns = 2 },
		func(s *httpd) { s.maxPerClient = 2 },
	} {
		connectionBound(t, tune)
	}
}

func connectionBound(t *testing.T, tune func(*httpd)) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	s, url := startHTTPD(t, h, tune)
	addr := strings.TrimPrefix(url, "http://")
	var open []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		open = append(open, c)
	}
	// Wait until the server holds both.
	deadline := time.Now().Add(wait)
	for {
		s.mu.Lock()
		n := len(s.conns)
		s.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server holds %d connections, want 2", n)
		}
		time.Sleep(time.Millisecond)
	}
	if got := rawRequest(t, url, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 503") {
		t.Errorf("a third connection: %.60q, want 503", got)
	}
	io.WriteString(open[0], "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(open[0]), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("a held connection: %v %v", resp, err)
	}
}

// A stream reaches the client as it is flushed; the client going away
// cancels the request's context.
func TestHTTPDStreamAndClientGone(t *testing.T) {
	gone := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: one\n\n")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		<-r.Context().Done()
		close(gone)
	})
	_, url := startHTTPD(t, h, nil)
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "data: one\n" {
		t.Fatalf("first line of the stream: %q, %v", line, err)
	}
	resp.Body.Close() // closes the connection: the stream was not read to its end
	select {
	case <-gone:
	case <-time.After(wait):
		t.Fatal("the handler's context was not cancelled when the client went away")
	}
}

// Hijack hands over the connection after the 101 header, with nothing lost
// of what the client sent after its request; the server no longer counts it.
func TestHTTPDHijack(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Upgrade", "echo")
		w.Header().Set("Connection", "Upgrade")
		w.WriteHeader(http.StatusSwitchingProtocols)
		c, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer c.Close()
		line, _ := rw.ReadString('\n')
		rw.WriteString("echo " + line)
		rw.Flush()
	})
	s, url := startHTTPD(t, h, nil)
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	// The request and the first bytes after it in one write.
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nhello\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != "echo" {
		t.Fatalf("upgrade answer: %v %v", resp, err)
	}
	if line, err := br.ReadString('\n'); line != "echo hello\n" {
		t.Errorf("after the upgrade: %q, %v", line, err)
	}
	s.mu.Lock()
	n := len(s.conns)
	s.mu.Unlock()
	if n != 0 {
		t.Errorf("the server still counts %d connections after the hijack", n)
	}
}

// A handler that panics loses its connection; the server goes on.
func TestHTTPDHandlerPanic(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/boom" {
			panic("kaboom")
		}
		io.WriteString(w, "ok")
	})
	_, url := startHTTPD(t, h, nil)
	if resp, err := http.Get(url + "/boom"); err == nil {
		resp.Body.Close()
		t.Error("GET /boom answered; want the connection closed")
	}
	resp, body, _ := get(t, http.DefaultClient, "GET", url+"/", nil)
	if resp.StatusCode != 200 || body != "ok" {
		t.Errorf("after a panic: %d %q", resp.StatusCode, body)
	}
}

// Close ends the open streams (their contexts) and idle connections, and
// Serve returns.
func TestHTTPDClose(t *testing.T) {
	started, ended := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).Flush()
		close(started)
		<-r.Context().Done()
		close(ended)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newHTTPD(h, slog.New(slog.NewTextHandler(io.Discard, nil)))
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	resp, err := http.Get("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	<-started
	s.Close(wait)
	select {
	case <-ended:
	default:
		t.Fatal("Close returned with the stream's handler still running")
	}
	if err := <-done; !errors.Is(err, errServerClosed) {
		t.Errorf("Serve: %v, want errServerClosed", err)
	}
	if _, err := io.ReadAll(resp.Body); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("reading the ended stream: %v", err)
	}
}

// A WebSocket (coder/websocket, as OSCQuery's) works through the server's
// Hijack, and a handler's own Connection: close ends the connection.
func TestHTTPDWebSocketAndHandlerClose(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		typ, data, err := c.Read(r.Context())
		if err == nil {
			c.Write(r.Context(), typ, append([]byte("echo "), data...))
		}
	})
	mux.HandleFunc("/close", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	})
	_, url := startHTTPD(t, mux, nil)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if err := ws.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, data, err := ws.Read(ctx); err != nil || string(data) != "echo hello" {
		t.Errorf("WebSocket echo: %q, %v", data, err)
	}
	// rawRequest reads until the server closes the connection.
	got := rawRequest(t, url, "GET /close HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(got)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if body, _ := io.ReadAll(resp.Body); string(body) != "bye" || !resp.Close {
		t.Errorf("a handler's Connection: close: %q, closing %v", body, resp.Close)
	}
}

// Behind the listener the dashboard uses (oscquery.Listener), an error
// answer still reaches the client whole, before the connection ends (not
// lost to a reset while the client is still sending).
func TestHTTPDRejectThroughListener(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newHTTPD(http.NotFoundHandler(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.maxHeader = 1024
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	defer func() {
		s.Close(time.Second)
		<-done
	}()
	got := rawRequest(t, "http://"+ln.Addr().String(), "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 8000)+"\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 431") || !strings.HasSuffix(got, "too large\n") {
		t.Errorf("answered %.80q, want the whole 431", got)
	}
}
