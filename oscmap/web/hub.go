package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/oscmap"
	"github.com/oscgpio/oscgpio/oscmap/codec"
)

// Timings and bounds of the event stream.
const (
	changeGap    = time.Second / 30 // at most 30 change events a second per point
	statsEvery   = time.Second
	pingEvery    = 10 * time.Second
	writeTimeout = 10 * time.Second // a client that takes longer to take an event is dropped
	maxLogRate   = 500              // log lines a second formatted at most; beyond, counted as dropped
	tapLinger    = 10 * time.Second // the tap stays this long after the last client left
)

// hub feeds every event stream from the bridge's change feed, its tap, its
// reloads and its counters. The bridge's callbacks only mark what changed
// and queue log lines; the hub's goroutine reads the bridge and fills the
// clients' queues; each client's goroutine writes its own queue.
//
// Lock order: the bridge's lock (held in the callbacks), then hub.mu, then
// client.mu. No goroutine calls the Bridge while holding hub.mu or a
// client.mu.
type hub struct {
	s    *Server
	kick chan struct{} // something to do for the hub's goroutine
	quit chan struct{}
	done chan struct{}
	once sync.Once
	n    atomic.Int32 // clients connected, for the callbacks' quick return

	flushes atomic.Uint64 // times the goroutine woke to flush (for tests)

	cancelSub, cancelApply func()

	tapMu  sync.Mutex
	untap  func()      // ends the tap, nil when not tapping
	tapOff *time.Timer // ends the tap after the last client left

	mu       sync.Mutex
	clients  map[*client]bool
	dirty    map[string]bool      // points changed and not yet sent
	lastSent map[string]time.Time // when each point's last change event went
	logFrom  time.Time            // the second maxLogRate counts in
	logN     int
}

// client is one event stream's queue. Everything in it is bounded: one
// state, one pending change per point (the latest), at most LogQueue log
// lines (the rest counted in dropped), one stats.
type client struct {
	wake chan struct{}

	mu      sync.Mutex
	state   []byte
	order   []string          // points with a pending change, in order
	changes map[string][]byte // point -> its latest change event
	logs    [][]byte
	dropped int
	stats   []byte
	ping    bool

	needState bool // guarded by hub.mu
}

func newHub(s *Server) *hub {
	h := &hub{s: s, kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
		clients: map[*client]bool{}, dirty: map[string]bool{}, lastSent: map[string]time.Time{}}
	h.cancelSub = s.b.Subscribe(h.onChange)
	h.cancelApply = s.b.OnApply(h.onApply)
	go h.run()
	return h
}

func (h *hub) poke() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

func (c *client) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// onChange runs under the bridge's lock: it marks the point. Only a point
// not marked yet wakes the hub: one marked is due already, or waits for
// the hub's timer of the 30-a-second limit.
func (h *hub) onChange(c oscmap.Change) {
	if h.n.Load() == 0 {
		return
	}
	h.mu.Lock()
	was := h.dirty[c.Point]
	h.dirty[c.Point] = true
	h.mu.Unlock()
	if !was {
		h.poke()
	}
}

// onApply runs after a reload: the control POST takes the new allow list
// and rate limits, and every client gets a new state.
func (h *hub) onApply(cfg *config.Config) {
	h.s.setGuard(cfg)
	h.mu.Lock()
	for c := range h.clients {
		c.needState = true
	}
	for name, t := range h.lastSent { // points a reload removed
		if time.Since(t) > time.Second {
			delete(h.lastSent, name)
		}
	}
	h.mu.Unlock()
	h.poke()
}

// logLine is the log event's data.
type logLine struct {
	Time  string   `json:"t"`
	Dir   string   `json:"dir"` // in or out
	Peer  string   `json:"peer"`
	Addr  string   `json:"addr"`
	Types string   `json:"types"`
	Args  []string `json:"args"` // as oscdump prints them
}

// onTap runs under the bridge's lock: it formats the message (at most
// maxLogRate a second) and queues it for every client, or counts it.
func (h *hub) onTap(t oscmap.Traffic) {
	if h.n.Load() == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if t.Time.Sub(h.logFrom) >= time.Second || t.Time.Before(h.logFrom) {
		h.logFrom, h.logN = t.Time, 0
	}
	h.logN++
	var data []byte
	if h.logN <= maxLogRate {
		data = formatLog(t)
	}
	for c := range h.clients {
		c.addLog(data, h.s.opt.LogQueue)
	}
}

func formatLog(t oscmap.Traffic) []byte {
	l := logLine{Time: stamp(t.Time), Dir: "in", Peer: t.Peer}
	if t.Out {
		l.Dir = "out"
	}
	l.Addr, l.Types, l.Args = fields(t.Msg)
	data, _ := json.Marshal(l)
	return data
}

// Bounds of a log line: a message can be 64 KiB, a client's queue holds
// LogQueue lines.
const (
	maxArgs    = 32  // arguments shown; then "… N more"
	maxArgText = 200 // bytes of each argument, and of the address, shown
)

// fields are a message's address, type tags and arguments as oscdump
// prints them, clipped to maxArgs arguments of maxArgText bytes.
func fields(m *osc.Message) (addr, types string, args []string) {
	args = []string{}
	if m == nil {
		return "", "", args
	}
	tags := make([]byte, 0, len(m.Arguments))
	for i, a := range m.Arguments {
		if i == maxArgs {
			args = append(args, fmt.Sprintf("… %d more", len(m.Arguments)-maxArgs))
			break
		}
		// Format prints "/ i 1": the type tag, then the value.
		f := codec.Format(&osc.Message{Address: "/", Arguments: []any{a}})
		if len(f) >= 4 {
			tags = append(tags, f[2])
			args = append(args, clip(f[4:]))
		}
	}
	return clip(m.Address), string(tags), args
}

// clip cuts s to maxArgText bytes, at a character's start, marking the cut.
func clip(s string) string {
	if len(s) <= maxArgText {
		return s
	}
	i := maxArgText
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// addLog queues a log line, or counts it as dropped (data nil, or the
// queue full). Only a queued line wakes the client: a count goes out with
// its next event (the counters come every second), so a flood does not
// wake it, and have it write a dropped event, per message.
func (c *client) addLog(data []byte, limit int) {
	c.mu.Lock()
	queued := data != nil && len(c.logs) < limit
	if queued {
		c.logs = append(c.logs, data)
	} else {
		c.dropped++
	}
	c.mu.Unlock()
	if queued {
		c.poke()
	}
}

func (c *client) setState(data []byte) {
	c.mu.Lock()
	c.state = data
	c.order, c.changes = c.order[:0], map[string][]byte{} // older than the state
	c.mu.Unlock()
	c.poke()
}

func (c *client) addChange(name string, data []byte) {
	c.mu.Lock()
	if _, ok := c.changes[name]; !ok {
		c.order = append(c.order, name)
	}
	c.changes[name] = data
	c.mu.Unlock()
	c.poke()
}

func (c *client) setStats(data []byte) {
	c.mu.Lock()
	c.stats = data
	c.mu.Unlock()
	c.poke()
}

// take empties the queue into buf as SSE events and reports whether there
// was anything. A count of dropped lines alone is kept for the next event:
// in a flood, a stream that has just written would otherwise write a
// dropped event after another for as long as the flood lasts.
func (c *client) take(buf *bytes.Buffer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == nil && len(c.order) == 0 && len(c.logs) == 0 && c.stats == nil && !c.ping {
		return false
	}
	start := buf.Len()
	if c.state != nil {
		event(buf, "state", c.state)
		c.state = nil
	}
	for _, name := range c.order {
		event(buf, "change", c.changes[name])
	}
	c.order = c.order[:0]
	clear(c.changes)
	for _, l := range c.logs {
		event(buf, "log", l)
	}
	c.logs = c.logs[:0]
	if c.dropped > 0 {
		buf.WriteString("event: log\ndata: {\"dropped\":")
		buf.WriteString(strconv.Itoa(c.dropped))
		buf.WriteString("}\n\n")
		c.dropped = 0
	}
	if c.stats != nil {
		event(buf, "stats", c.stats)
		c.stats = nil
	}
	if c.ping {
		buf.WriteString("event: ping\ndata: {\"t\":\"" + stamp(time.Now()) + "\"}\n\n")
		c.ping = false
	}
	return buf.Len() > start
}

func event(buf *bytes.Buffer, name string, data []byte) {
	buf.WriteString("event: ")
	buf.WriteString(name)
	buf.WriteString("\ndata: ")
	buf.Write(data) // JSON: one line
	buf.WriteString("\n\n")
}

// run is the hub's goroutine.
func (h *hub) run() {
	defer close(h.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	// The counters go out once a second while a page is open; with none,
	// no ticker runs, so an idle bridge has nothing to wake for.
	var stats *time.Ticker
	var statsC <-chan time.Time
	defer func() {
		if stats != nil {
			stats.Stop()
		}
	}()
	for {
		if stats == nil && h.n.Load() > 0 {
			stats = time.NewTicker(statsEvery)
			statsC = stats.C
		}
		select {
		case <-h.quit:
			return
		case <-h.kick:
		case <-timer.C:
		case <-statsC:
			if h.n.Load() == 0 {
				stats.Stop()
				stats, statsC = nil, nil
				continue
			}
			data, _ := json.Marshal(counters(h.s.b.Counters(), h.s.b.TopSenders(3)))
			h.mu.Lock()
			for c := range h.clients {
				c.setStats(data)
			}
			h.mu.Unlock()
			continue
		}
		h.flushes.Add(1)
		if wait := h.flush(); wait > 0 {
			timer.Reset(wait)
		}
	}
}

// flush sends the states asked for and the changes due; it returns how long
// until the next change is due (0: none waits).
func (h *hub) flush() time.Duration {
	now := time.Now()
	h.mu.Lock()
	var fresh []*client
	for c := range h.clients {
		if c.needState {
			c.needState = false
			fresh = append(fresh, c)
		}
	}
	var ready []string
	var wait time.Duration
	for name := range h.dirty {
		if gap := now.Sub(h.lastSent[name]); gap >= changeGap {
			ready = append(ready, name)
			delete(h.dirty, name)
			h.lastSent[name] = now
		} else if w := changeGap - gap; wait == 0 || w < wait {
			wait = w
		}
	}
	h.mu.Unlock()

	if len(fresh) > 0 {
		data := h.s.snapshot()
		for _, c := range fresh {
			c.setState(data)
		}
	}
	if len(ready) > 0 {
		byName := map[string]oscmap.Point{}
		for _, p := range h.s.b.Points() {
			byName[p.Name] = p
		}
		events := map[string][]byte{}
		for _, name := range ready {
			if p, ok := byName[name]; ok { // else a reload removed it: its state follows
				events[name], _ = json.Marshal(live(p))
			}
		}
		h.mu.Lock()
		for c := range h.clients {
			for _, name := range ready {
				if e := events[name]; e != nil {
					c.addChange(name, e)
				}
			}
		}
		h.mu.Unlock()
	}
	return wait
}

// add registers a client, unless there are MaxClients already.
func (h *hub) add(c *client) bool {
	h.mu.Lock()
	if len(h.clients) >= h.s.opt.MaxClients {
		h.mu.Unlock()
		return false
	}
	c.needState = true
	h.clients[c] = true
	h.n.Add(1)
	h.mu.Unlock()
	h.tapMu.Lock()
	if h.tapOff != nil {
		h.tapOff.Stop()
		h.tapOff = nil
	}
	select {
	case <-h.quit: // closing: close has untapped, or will
	default:
		if h.untap == nil {
			h.untap = h.s.b.Tap(h.onTap)
		}
	}
	h.tapMu.Unlock()
	h.poke()
	return true
}

// remove unregisters a client; the tap ends tapLinger after the last one
// left (a page reloading comes back at once).
func (h *hub) remove(c *client) {
	h.mu.Lock()
	delete(h.clients, c)
	n := h.n.Add(-1)
	h.mu.Unlock()
	if n > 0 {
		return
	}
	h.tapMu.Lock()
	defer h.tapMu.Unlock()
	if h.tapOff != nil {
		h.tapOff.Stop()
	}
	h.tapOff = time.AfterFunc(tapLinger, func() {
		h.tapMu.Lock()
		defer h.tapMu.Unlock()
		if h.n.Load() == 0 && h.untap != nil {
			h.untap()
			h.untap = nil
		}
	})
}

// close stops the hub: the streams end, the callbacks are removed.
func (h *hub) close() {
	h.once.Do(func() {
		close(h.quit)
		<-h.done
		h.cancelSub()
		h.cancelApply()
		h.tapMu.Lock()
		if h.tapOff != nil {
			h.tapOff.Stop()
		}
		if h.untap != nil {
			h.untap()
			h.untap = nil
		}
		h.tapMu.Unlock()
	})
}

// serveEvents is GET /oscgpio/ui/events.
func (h *hub) serveEvents(w http.ResponseWriter, r *http.Request) {
	select {
	case <-h.quit:
		http.Error(w, "the dashboard is stopping", http.StatusServiceUnavailable)
		return
	default:
	}
	c := &client{wake: make(chan struct{}, 1), changes: map[string][]byte{}}
	if !h.add(c) {
		w.Header().Set("Retry-After", "5")
		http.Error(w, "too many dashboards open at once: close one (the limit bounds the bridge's work)", http.StatusServiceUnavailable)
		return
	}
	defer h.remove(c)
	rc := http.NewResponseController(w)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	var buf bytes.Buffer
	buf.WriteString("retry: 1000\n\n") // reconnect after 1 s
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	for {
		if buf.Len() > 0 || c.take(&buf) {
			rc.SetWriteDeadline(time.Now().Add(writeTimeout))
			if _, err := w.Write(buf.Bytes()); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
			buf.Reset()
			continue
		}
		select {
		case <-r.Context().Done():
			return
		case <-h.quit:
			return
		case <-c.wake:
		case <-ping.C:
			c.mu.Lock()
			c.ping = true
			c.mu.Unlock()
		}
	}
}
