package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/oscmap"
	"github.com/oscgpio/oscgpio/oscmap/codec"
	"github.com/oscgpio/oscgpio/oscmap/oscquery"
	"github.com/oscgpio/oscgpio/oscmap/transport"
)

// sendRequest is the body of POST /oscgpio/ui/send: one OSC message.
// Each argument is a JSON number, boolean or string; a string is read as
// `oscgpio send` reads its arguments ("1" int32, "0.5" float32, "f:1"
// float32, "s:on" the string "on"), so the page can say the type.
type sendRequest struct {
	Address string            `json:"address"`
	Args    []json.RawMessage `json:"args"`
}

// sendAnswer is the POST's answer: the messages the bridge answered with
// (to /oscgpio/get, /oscgpio/stats), as log lines.
type sendAnswer struct {
	Answers []json.RawMessage `json:"answers"`
}

// send is POST /oscgpio/ui/send: it hands the message to Bridge.Inject as if
// it came over OSC from the HTTP client's address, which the mapping's allow
// list and rate_limit must let through as they would its UDP.
func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	if !s.opt.Control {
		http.Error(w, "the dashboard's controls are off: the bridge runs on the host's pins and the mapping does not say http: {control: true}", http.StatusForbidden)
		return
	}
	if why := s.crossSite(r); why != "" {
		http.Error(w, "refused: "+why, http.StatusForbidden)
		return
	}
	from, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		from = netip.AddrPortFrom(netip.IPv6Unspecified(), 0)
	}
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	if code, why := s.guard(from.Addr()); code != 0 {
		if code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		http.Error(w, why, code)
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		http.Error(w, "send takes Content-Type: application/json, like {\"address\": \"/led\", \"args\": [1]}", http.StatusUnsupportedMediaType)
		return
	}
	var req sendRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		http.Error(w, "send takes a JSON object like {\"address\": \"/led\", \"args\": [1]}: "+err.Error(), http.StatusBadRequest)
		return
	}
	m, err := message(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var ans sendAnswer
	ans.Answers = []json.RawMessage{}
	s.b.Inject(m, from, func(a *osc.Message) error {
		// Called under the bridge's lock: only copy.
		ans.Answers = append(ans.Answers, formatAnswer(a))
		return nil
	})
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(ans)
}

func formatAnswer(m *osc.Message) json.RawMessage {
	var a struct {
		Addr  string   `json:"addr"`
		Types string   `json:"types"`
		Args  []string `json:"args"`
	}
	a.Addr, a.Types, a.Args = fields(m)
	data, _ := json.Marshal(a)
	return data
}

// message builds the OSC message of a send request.
func message(req sendRequest) (*osc.Message, error) {
	if !strings.HasPrefix(req.Address, "/") {
		return nil, fmt.Errorf("address %q: an OSC address starts with /, like /led", req.Address)
	}
	m := osc.NewMessage(req.Address)
	for i, raw := range req.Args {
		raw = bytes.TrimSpace(raw)
		var text string
		switch {
		case len(raw) > 0 && raw[0] == '"':
			if err := json.Unmarshal(raw, &text); err != nil {
				return nil, fmt.Errorf("argument %d: %v", i+1, err)
			}
		case string(raw) == "true" || string(raw) == "false":
			m.Append(string(raw) == "true")
			continue
		case len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9'):
			text = string(raw)
		default:
			return nil, fmt.Errorf("argument %d is %s: give a number, true, false or a string", i+1, raw)
		}
		v, err := codec.ParseArg(text)
		if err != nil {
			return nil, fmt.Errorf("argument %d: %v", i+1, err)
		}
		m.Append(v)
	}
	return m, nil
}

// crossSite says why a control request is refused as coming from another
// site, or "" when it may go on. A page elsewhere cannot send JSON here
// without a CORS preflight this server never allows, but a form or a name
// that rebinds to this address could try: the Origin, when sent, must be
// this server, and the Host must be a name no other site can rebind to
// this machine (oscquery.LocalName: an IP address, localhost, a name without
// a dot or under a local suffix like raspberrypi.local), or this machine's
// own name.
func (s *Server) crossSite(r *http.Request) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	switch {
	case host == "", oscquery.LocalName(host):
	case s.host != "" && host == strings.ToLower(s.host):
	default:
		return fmt.Sprintf("the page was opened as %q, which is not this machine's name (%s) nor an IP address: open it by IP address or by the machine's name", r.Host, s.host)
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return fmt.Sprintf("the request comes from the page of %s, not from this dashboard", o)
		}
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return "the request comes from another site (Sec-Fetch-Site: " + site + ")"
	}
	return ""
}

// setGuard takes the allow list and the rate limits of cfg, read as the UDP
// socket reads them, for the control POST: a browser may drive the bridge
// only as much as its machine's OSC could. It calls no Bridge method.
func (s *Server) setGuard(cfg *config.Config) {
	var allow *transport.Allow
	var limit *transport.Limiter
	if cfg != nil {
		var err error
		if allow, limit, err = oscmap.Guard(cfg); err != nil {
			// The bridge refuses such a mapping; admit no one rather than everyone.
			s.log.Error("dashboard: the mapping's allow list is invalid: the controls are refused to everyone", "err", err)
			allow, limit = &transport.Allow{}, nil
		}
	}
	s.guardMu.Lock()
	s.allow, s.limit = allow, limit
	s.guardMu.Unlock()
}

// guard says whether the allow list and the rate limit let a control
// request from addr through: 0, or the HTTP status and why not.
func (s *Server) guard(addr netip.Addr) (int, string) {
	s.guardMu.Lock()
	defer s.guardMu.Unlock()
	if s.allow != nil && !s.allow.Allows(addr) {
		return http.StatusForbidden, fmt.Sprintf("refused: the mapping's allow list does not admit %s, so neither its OSC nor its controls may drive the bridge: add it to allow:", addr)
	}
	if s.limit != nil && !s.limit.Allow(addr) {
		return http.StatusTooManyRequests, fmt.Sprintf("refused: %s is over the mapping's rate_limit, as its OSC would be; send less often", addr)
	}
	return 0, ""
}
