package bench

import (
	"encoding/binary"
	"reflect"
	"testing"
	"time"

	"github.com/hypebeast/go-osc/osc"
)

func marshal(t *testing.T, p osc.Packet) []byte {
	t.Helper()
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type seen struct {
	addr string
	args []any
}

func walkAll(t *testing.T, b []byte) ([]seen, error) {
	t.Helper()
	var out []seen
	err := walkPacket(b, func(addr string, args []any) { out = append(out, seen{addr, args}) })
	return out, err
}

func TestWalkPacketMessage(t *testing.T) {
	m := osc.NewMessage("/oscgpio/stats", "kernel_drops", int32(3), "packets", int64(1<<40), float32(0.5), 2.5, true, false, nil, []byte{1, 2, 3})
	got, err := walkAll(t, marshal(t, m))
	if err != nil {
		t.Fatal(err)
	}
	want := []seen{{"/oscgpio/stats", []any{"kernel_drops", int32(3), "packets", int64(1 << 40), float32(0.5), 2.5, true, false, nil, []byte{1, 2, 3}}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
}

func TestWalkPacketBundle(t *testing.T) {
	inner := osc.NewBundle(time.Time{})
	inner.Append(osc.NewMessage("/button", int32(0)))
	outer := osc.NewBundle(time.Time{})
	outer.Append(osc.NewMessage("/button", int32(1)))
	outer.Append(inner)
	got, err := walkAll(t, marshal(t, outer))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].args[0] != int32(1) || got[1].args[0] != int32(0) {
		t.Errorf("bundle gave %#v, want /button 1 then /button 0", got)
	}
}

func TestWalkPacketDefects(t *testing.T) {
	good := marshal(t, osc.NewMessage("/button", int32(1)))
	bundle := marshal(t, func() *osc.Bundle {
		b := osc.NewBundle(time.Time{})
		b.Append(osc.NewMessage("/button", int32(1)))
		return b
	}())
	oversize := append([]byte(nil), bundle...)
	binary.BigEndian.PutUint32(oversize[16:], 1000)
	for name, b := range map[string][]byte{
		"empty":                  {},
		"no leading slash":       []byte("led\x00,i\x00\x00\x00\x00\x00\x01"),
		"address without NUL":    []byte("/button"),
		"int cut short":          good[:len(good)-2],
		"unknown type tag":       []byte("/b\x00\x00,X\x00\x00"),
		"type tags without ,":    []byte("/b\x00\x00ii\x00\x00\x00\x00\x00\x01\x00\x00\x00\x01"),
		"bundle header cut":      []byte("#bundle\x00\x00\x00"),
		"element past the end":   oversize,
		"element size cut":       append(bundle[:16:16], 0, 0),
		"blob size past the end": []byte("/b\x00\x00,b\x00\x00\x00\x00\x00\x09abcd"),
	} {
		if _, err := walkAll(t, b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestWalkPacketNoTypeTags(t *testing.T) {
	got, err := walkAll(t, []byte("/ping\x00\x00\x00"))
	if err != nil || len(got) != 1 || got[0].addr != "/ping" || len(got[0].args) != 0 {
		t.Errorf("an old-style message without type tags: %#v, %v", got, err)
	}
}

func TestReportValue(t *testing.T) {
	tests := []struct {
		args []any
		v    int32
		ok   bool
	}{
		{[]any{int32(1)}, 1, true},
		{[]any{int32(0), "x"}, 0, true},
		{[]any{float32(1)}, 1, true},
		{[]any{float32(0.5)}, 0, false},
		{[]any{2.0}, 2, true},
		{[]any{int64(1)}, 1, true},
		{[]any{int64(1 << 40)}, 0, false},
		{[]any{true}, 1, true},
		{[]any{false}, 0, true},
		{[]any{"1"}, 0, false},
		{nil, 0, false},
	}
	for _, tt := range tests {
		v, ok := reportValue(tt.args)
		if ok != tt.ok || (ok && v != tt.v) {
			t.Errorf("reportValue(%#v) = %d, %v; want %d, %v", tt.args, v, ok, tt.v, tt.ok)
		}
	}
}

func TestParseCounters(t *testing.T) {
	got := parseCounters([]any{"kernel_drops", int32(0), "packets", int64(123), int32(5), int32(6), "bad", "x", "odd"})
	want := map[string]int64{"kernel_drops": 0, "packets": 123}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseCounters = %v, want %v", got, want)
	}
}

func TestEncodeIsInt32(t *testing.T) {
	b, err := encode("/led", int32(1))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "/led\x00\x00\x00\x00,i\x00\x00\x00\x00\x00\x01" {
		t.Errorf("encode(/led, 1) = %q", b)
	}
}
