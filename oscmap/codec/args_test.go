package codec

import (
	"strings"
	"testing"
)

func TestParseArg(t *testing.T) {
	for _, c := range []struct {
		in   string
		want any
	}{
		{"1", int32(1)},
		{"0", int32(0)},
		{"-7", int32(-7)},
		{"+3", int32(3)},
		{"2147483647", int32(2147483647)},
		{"-2147483648", int32(-2147483648)},
		{"2147483648", float32(2147483648)},
		{"1.5", float32(1.5)},
		{"-0.25", float32(-0.25)},
		{".5", float32(0.5)},
		{"1e3", float32(1000)},
		{"true", true},
		{"false", false},
		{"True", "True"},
		{"hello", "hello"},
		{"", ""},
		{"nan", "nan"},
		{"inf", "inf"},
		{"0x10", "0x10"},
		{"1_000", "1_000"},
		{"1.2.3", "1.2.3"},
		{"/led", "/led"},
		{"http://x", "http://x"},
		{"i:1", int32(1)},
		{"i:-2147483648", int32(-2147483648)},
		{"f:1", float32(1)},
		{"f:0.5", float32(0.5)},
		{"f:nan", nil}, // checked below: NaN != NaN
		{"d:1.25", 1.25},
		{"d:1e300", 1e300},
		{"h:9", int64(9)},
		{"h:-9223372036854775808", int64(-9223372036854775808)},
		{"s:1", "1"},
		{"s:true", "true"},
		{"s:", ""},
		{"s:i:1", "i:1"},
		{"x:1", "x:1"},
	} {
		got, err := ParseArg(c.in)
		if err != nil {
			t.Errorf("ParseArg(%q): %v", c.in, err)
			continue
		}
		if c.want == nil {
			if f, ok := got.(float32); !ok || f == f {
				t.Errorf("ParseArg(%q) = %T %v, want float32 NaN", c.in, got, got)
			}
			continue
		}
		if got != c.want {
			t.Errorf("ParseArg(%q) = %T %#v, want %T %#v", c.in, got, got, c.want, c.want)
		}
	}
}

func TestParseArgErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"i:x", "i:x: not an integer"},
		{"i:", "i:: not an integer"},
		{"i:1.5", "i:1.5: not an integer"},
		{"i:2147483648", "i:2147483648: out of range for a 32-bit integer (use h: for 64 bits)"},
		{"h:x", "h:x: not an integer"},
		{"h:9223372036854775808", "out of range for a 64-bit integer"},
		{"f:x", "f:x: not a number"},
		{"f:", "f:: not a number"},
		{"f:1e39", "f:1e39: out of range for a float32"},
		{"d:one", "d:one: not a number"},
		{"1e39", "1e39: too large for a float32 (force a double with d:1e39)"},
	} {
		got, err := ParseArg(c.in)
		if err == nil {
			t.Errorf("ParseArg(%q) = %T %v, want an error", c.in, got, got)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseArg(%q): %v\nwant an error with %q", c.in, err, c.want)
		}
	}
}
