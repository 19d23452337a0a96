package mux

import (
	"slices"
	"testing"

	"github.com/hypebeast/go-osc/osc"
)

// rec is a handler that records the addresses it was called with.
type rec struct {
	name string
	log  *[]string
}

func (h *rec) ServeOSC(r *Request) { *h.log = append(*h.log, h.name+" "+r.Msg.Address) }

func dispatch(m *Mux, addr string) int {
	return m.Dispatch(&Request{Msg: osc.NewMessage(addr)})
}

func TestDispatch(t *testing.T) {
	var got []string
	led := &rec{"led", &got}
	relay := &rec{"relay", &got}
	sim := &rec{"sim", &got}
	self := &rec{"self", &got}
	m := New()
	for _, reg := range []struct {
		addr string
		h    Handler
	}{{"/led", led}, {"/test", led}, {"/relay", relay}, {"/led/1", relay}} {
		if err := m.Handle(reg.addr, reg.h); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.HandlePrefix("/sim/", sim); err != nil {
		t.Fatal(err)
	}
	if err := m.HandlePrefix("/oscgpio/", self); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		addr string
		want []string
	}{
		{"/led", []string{"led /led"}},
		{"/test", []string{"led /test"}},
		{"/ledger", nil},
		{"/{led,test}", []string{"led /{led,test}"}}, // one output, two of its addresses: runs once
		{"/*", []string{"led /*", "relay /*"}},       // registration order
		{"/led/*", []string{"relay /led/*"}},
		{"/sim/GPIO27", []string{"sim /sim/GPIO27"}},
		{"/sim", []string{"sim /sim"}},
		{"/*/GPIO27", nil}, // no pattern reaches a reserved subtree
		{"/oscgpio/stats", []string{"self /oscgpio/stats"}},
		{"/oscgpio*", nil},
		{"/led[", nil},
	} {
		got = got[:0]
		n := dispatch(m, c.addr)
		if n != len(c.want) || !slices.Equal(got, c.want) {
			t.Errorf("Dispatch(%s) ran %d: %q, want %q", c.addr, n, got, c.want)
		}
	}
}

func TestHandleRefuses(t *testing.T) {
	var got []string
	h := &rec{"h", &got}
	m := New()
	if err := m.HandlePrefix("/sim/", h); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"/sim/GPIO1", "/sim", "led", "/led*", "/a//b", ""} {
		if err := m.Handle(addr, h); err == nil {
			t.Errorf("Handle(%q) = nil, want an error", addr)
		}
	}
	if err := m.Handle("/led", nil); err == nil {
		t.Error("Handle with a nil handler = nil, want an error")
	}
	if err := m.Handle("/simulator", h); err != nil {
		t.Errorf("Handle(/simulator) = %v: only /sim/ itself is reserved", err)
	}
	m2 := New()
	if err := m2.Handle("/oscgpio/x", h); err != nil {
		t.Fatal(err)
	}
	if err := m2.HandlePrefix("/oscgpio/", h); err == nil {
		t.Error("HandlePrefix over a registered address = nil, want an error")
	}
	for _, p := range []string{"sim/", "/sim", "/", ""} {
		if err := New().HandlePrefix(p, h); err == nil {
			t.Errorf("HandlePrefix(%q) = nil, want an error", p)
		}
	}
}

func TestHandleSameTwiceIsOnce(t *testing.T) {
	var got []string
	h := &rec{"h", &got}
	m := New()
	m.Handle("/led", h)
	m.Handle("/led", h)
	if n := dispatch(m, "/led"); n != 1 || len(got) != 1 {
		t.Errorf("a handler registered twice for /led ran %d times", n)
	}
	if a := m.Addresses(); !slices.Equal(a, []string{"/led"}) {
		t.Errorf("Addresses = %q", a)
	}
}

func BenchmarkDispatch(b *testing.B) {
	var got []string
	m := New()
	for i, a := range []string{"/led", "/relay", "/heat", "/fan", "/smoke", "/led/1", "/led/2"} {
		m.Handle(a, &rec{string(rune('a' + i)), &got})
	}
	for _, c := range []struct{ name, addr string }{{"plain", "/fan"}, {"pattern", "/led/*"}} {
		r := &Request{Msg: osc.NewMessage(c.addr)}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				got = got[:0]
				m.Dispatch(r)
			}
		})
	}
}

func TestHandleLiteral(t *testing.T) {
	var got []string
	led, pulse := &rec{"led", &got}, &rec{"pulse", &got}
	m := New()
	m.Handle("/led", led)
	if err := m.HandleLiteral("/led/pulse", pulse); err != nil {
		t.Fatal(err)
	}
	if err := m.HandleLiteral("/led[", pulse); err == nil {
		t.Error("HandleLiteral of a pattern = nil, want an error")
	}
	for _, c := range []struct {
		addr string
		want []string
	}{
		{"/led/pulse", []string{"pulse /led/pulse"}},
		{"/led/*", nil},
		{"/*/pulse", nil},
		{"/*", []string{"led /*"}},
	} {
		got = got[:0]
		if n := dispatch(m, c.addr); n != len(c.want) || !slices.Equal(got, c.want) {
			t.Errorf("Dispatch(%s) ran %d: %q, want %q", c.addr, n, got, c.want)
		}
	}
}
