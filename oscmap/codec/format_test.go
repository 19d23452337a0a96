package codec

import (
	"math"
	"testing"
	"time"

	"github.com/hypebeast/go-osc/osc"
)

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		m    *osc.Message
		want string
	}{
		{osc.NewMessage("/test", int32(0)), "/test i 0"},
		{osc.NewMessage("/x", float32(0.5)), "/x f 0.500000"},
		{osc.NewMessage("/s", "hi"), `/s s "hi"`},
		{osc.NewMessage("/b", []byte{1, 2, 3}), "/b b [3 bytes]"},
		{osc.NewMessage("/b", []byte{1}), "/b b [1 byte]"},
		{osc.NewMessage("/b", []byte{}), "/b b [0 bytes]"},
		{osc.NewMessage("/t", true), "/t T #T"},
		{osc.NewMessage("/f", false), "/f F #F"},
		{osc.NewMessage("/n", nil), "/n N Nil"},
		{osc.NewMessage("/h", int64(-5)), "/h h -5"},
		{osc.NewMessage("/d", 2.5), "/d d 2.500000"},
		{osc.NewMessage("/big", float32(1e20)), "/big f 100000002004087734272.000000"},
		{osc.NewMessage("/nan", float32(math.NaN()), math.Inf(1), math.Inf(-1), math.Copysign(0, -1)), "/nan fddd nan inf -inf -0.000000"},
		{osc.NewMessage("/tt", *osc.NewTimetagFromTimetag(0xeeafdebb<<32 | 1<<31)), "/tt t eeafdebb.80000000"},
		{osc.NewMessage("/q", "a\"b\nc"), `/q s "a\"b\nc"`},
		{osc.NewMessage("/types", int32(1), float32(1.5), true, false, "hello", int32(7), float32(2), "3", 1.25, int64(9)),
			`/types ifTFsifsdh 1 1.500000 #T #F "hello" 7 2.000000 "3" 1.250000 9`},
		{osc.NewMessage("/e"), "/e"},
		{osc.NewMessage("/go", 42), "/go ? 42"},
		{nil, ""},
	} {
		if got := Format(c.m); got != c.want {
			t.Errorf("Format = %s, want %s", got, c.want)
		}
	}
}

func TestFormatElement(t *testing.T) {
	m := osc.NewMessage("/led", int32(1))
	if got := FormatElement(Element{Msg: m}); got != "/led i 1" {
		t.Errorf("FormatElement(immediately) = %s", got)
	}
	at := time.Date(2026, 5, 6, 21, 0, 0, 300e6, time.UTC)
	if got, want := FormatElement(Element{Msg: m, At: at}), "@2026-05-06T21:00:00.300000Z /led i 1"; got != want {
		t.Errorf("FormatElement = %s, want %s", got, want)
	}
}
