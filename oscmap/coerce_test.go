package oscmap

import (
	"math"
	"strings"
	"testing"

	"github.com/hypebeast/go-osc/osc"
)

func TestBool(t *testing.T) {
	for _, c := range []struct {
		arg  any
		want bool
	}{
		{int32(1), true}, {int32(0), false}, {int32(-1), true}, {int32(255), true},
		{int64(1), true}, {int64(0), false}, {int64(math.MinInt64), true},
		{float32(1), true}, {float32(0), false}, {float32(math.Copysign(0, -1)), false}, {float32(0.5), true}, {float32(-0.001), true},
		{float64(1), true}, {float64(0), false}, {1e-300, true},
		{true, true}, {false, false},
		{"on", true}, {"off", false}, {"true", true}, {"false", false}, {"high", true}, {"low", false}, {"1", true}, {"0", false},
		{"ON", true}, {"Off", false}, {"TRUE", true}, {"False", false}, {"HIGH", true}, {"Low", false}, {" on ", true},
	} {
		got, err := Bool(c.arg)
		if err != nil || got != c.want {
			t.Errorf("Bool(%T %#v) = %v, %v; want %v", c.arg, c.arg, got, err, c.want)
		}
	}
}

func TestBoolErrors(t *testing.T) {
	for _, c := range []struct {
		arg  any
		want string
	}{
		{[]byte{1}, "cannot use a blob (b) as on/off"},
		{nil, "cannot use Nil (N) as on/off"},
		{*osc.NewTimetagFromTimetag(1), "cannot use a timetag (t) as on/off"},
		{osc.NewTimetagFromTimetag(1), "cannot use a timetag (t) as on/off"},
		{float32(math.NaN()), "cannot use the float nan (f) as on/off"},
		{float32(math.Inf(1)), "cannot use the float inf (f) as on/off"},
		{math.Inf(-1), "cannot use the double -inf (d) as on/off"},
		{math.NaN(), "cannot use the double nan (d) as on/off"},
		{"maybe", `cannot use the string "maybe" (s) as on/off: send on/off, true/false, high/low or 1/0`},
		{"", `the string "" (s)`},
		{"2", `the string "2" (s)`},
		{"1.0", `the string "1.0" (s)`},
		{"yes", `the string "yes" (s)`},
		{42, "cannot use a value of Go type int as on/off"},
		{uint8(1), "Go type uint8"},
	} {
		got, err := Bool(c.arg)
		if err == nil {
			t.Errorf("Bool(%T %#v) = %v, want an error", c.arg, c.arg, got)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("Bool(%T %#v): %v\nwant an error with %q", c.arg, c.arg, err, c.want)
		}
		if got {
			t.Errorf("Bool(%T %#v) returned true with its error", c.arg, c.arg)
		}
	}
}
