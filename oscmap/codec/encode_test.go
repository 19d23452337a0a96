package codec

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hypebeast/go-osc/osc"
)

func TestEncode(t *testing.T) {
	m := osc.NewMessage("/all", int32(-3), float32(0.25), "hi", []byte{1, 2, 3}, int64(1)<<40, 2.5, true, false, nil)
	p, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := m.MarshalBinary()
	if !bytes.Equal(p, want) {
		t.Errorf("Encode = %q, want go-osc's %q", p, want)
	}
	els, err := Decode(p)
	if err != nil || Format(els[0].Msg) != Format(m) {
		t.Errorf("Decode(Encode(%s)) = %v, %v", Format(m), els, err)
	}
}

func TestEncodeErrors(t *testing.T) {
	for _, c := range []struct {
		m    *osc.Message
		want string
	}{
		{nil, "nil OSC message"},
		{osc.NewMessage("x"), "must start with '/'"},
		{osc.NewMessage("/x", 42), "/x: cannot encode"},
		{osc.NewMessage("/x", make([]byte, 70000)), "more than the 65507"},
	} {
		if _, err := Encode(c.m); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Encode(%s) = %v, want an error with %q", Format(c.m), err, c.want)
		}
	}
	// "/x", ",b", the blob's length and the blob: 12 bytes and the blob.
	if p, err := Encode(osc.NewMessage("/x", make([]byte, MaxDatagram-12-3))); err != nil || len(p) != MaxDatagram-3 {
		t.Errorf("Encode of a message of %d bytes: %d bytes, %v", MaxDatagram-3, len(p), err)
	}
}
