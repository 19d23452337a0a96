package codec

import (
	"math"
	"strings"
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

// An address that is not plain printable text is printed quoted with Go
// escapes; a plain one unchanged.
func TestFormatAddressEscaped(t *testing.T) {
	for _, c := range []struct{ addr, want string }{
		{"/led", "/led"},
		{"/a/b/c_1-2.x", "/a/b/c_1-2.x"},
		{"/{a,b}/*?[0-9]!#", "/{a,b}/*?[0-9]!#"},
		{"/été/ключ", "/été/ключ"},
		{"/a\n/button i 1", `"/a\n/button i 1"`},
		{"/x\x1b[2J\x1b]0;title\x07", `"/x\x1b[2J\x1b]0;title\a"`},
		{"/led\u200b", `"/led\u200b"`},
		{"/bad\xff\xfe", `"/bad\xff\xfe"`},
		{"/cr\r", `"/cr\r"`},
		{"/del\x7f", `"/del\x7f"`},
		{"/c1\u009b31m", `"/c1\u009b31m"`},
		{"/nbsp\u00a0", `"/nbsp\u00a0"`},
		{"/rtl\u202e", `"/rtl\u202e"`},
		{"/a i 1", `"/a i 1"`},
		{`/q"`, `"/q\""`},
		{`/b\n`, `"/b\\n"`},
		{"", ""},
	} {
		if got := FormatAddress(c.addr); got != c.want {
			t.Errorf("FormatAddress(%q) = %s, want %s", c.addr, got, c.want)
		}
		if got, want := Format(osc.NewMessage(c.addr, int32(1))), c.want+" i 1"; got != want {
			t.Errorf("Format(%q i 1) = %s, want %s", c.addr, got, want)
		}
	}
}

// A received address holding a newline cannot forge a second line, and an
// escape sequence in an address, a string or a value of another type does
// not reach the output.
func TestFormatForgesNothing(t *testing.T) {
	forged := osc.NewMessage("/x\n/button i 1", "a\n/led i 0", struct{ S string }{"\x1b[2J\n/z"})
	got := Format(forged)
	if strings.ContainsAny(got, "\n\r\x1b") {
		t.Fatalf("Format printed raw control characters: %q", got)
	}
	for _, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(line, "/button") || strings.HasPrefix(line, "/led") {
			t.Fatalf("forged line %q in %q", line, got)
		}
	}
	if want := `"/x\n/button i 1" s? "a\n/led i 0" "{\x1b[2J\n/z}"`; got != want {
		t.Errorf("Format = %s\nwant     %s", got, want)
	}
	el := FormatElement(Element{Msg: osc.NewMessage("/e\x1b[31m"), At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	if want := `@2026-01-02T03:04:05.000000Z "/e\x1b[31m"`; el != want {
		t.Errorf("FormatElement = %s, want %s", el, want)
	}
}
