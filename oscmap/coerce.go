package oscmap

import (
	"fmt"
	"math"
	"strings"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/oscmap/codec"
)

// Bool reads one OSC argument as on (true) or off (false), leniently, since
// every sender has its own habit: Max and QLab send int32, Pd and TouchOSC
// float32 (0.0 and 1.0), others int64, double, T/F or a word.
//
//   - int32, int64, float32, float64: zero is off, any other number is on
//     (so 0.5 from a fader is on, and so is -1). NaN and ±Inf are errors.
//   - bool (OSC T and F): itself.
//   - string: "on", "true", "high", "1" are on; "off", "false", "low", "0" are
//     off, in any case and with surrounding spaces ignored. Other words are
//     errors.
//
// Anything else (a blob, Nil, a timetag, any other Go type) is an error that
// names what was received, with its OSC type tag, e.g.
// "cannot use a blob (b) as on/off". Nothing is ever guessed.
func Bool(arg any) (bool, error) {
	switch v := arg.(type) {
	case bool:
		return v, nil
	case int32:
		return v != 0, nil
	case int64:
		return v != 0, nil
	case float32:
		return floatBool(float64(v), "float", 'f')
	case float64:
		return floatBool(v, "double", 'd')
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "on", "true", "high", "1":
			return true, nil
		case "off", "false", "low", "0":
			return false, nil
		}
		return false, fmt.Errorf("cannot use the string %q (s) as on/off: send on/off, true/false, high/low or 1/0", v)
	case []byte:
		return false, fmt.Errorf("cannot use a blob (b) as on/off")
	case nil:
		return false, fmt.Errorf("cannot use Nil (N) as on/off")
	case osc.Timetag, *osc.Timetag:
		return false, fmt.Errorf("cannot use a timetag (t) as on/off")
	}
	return false, fmt.Errorf("cannot use a value of Go type %T as on/off", arg)
}

func floatBool(v float64, name string, tag byte) (bool, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return false, fmt.Errorf("cannot use the %s %s (%c) as on/off", name, codec.FormatFloat(v), tag)
	}
	return v != 0, nil
}

// Number reads one OSC argument as a number: int32, int64, float32, float64,
// or T and F as 1 and 0. NaN and ±Inf are errors, as is anything else.
func Number(arg any) (float64, error) {
	var v float64
	switch x := arg.(type) {
	case int32:
		v = float64(x)
	case int64:
		v = float64(x)
	case float32:
		v = float64(x)
	case float64:
		v = x
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	default:
		return 0, fmt.Errorf("cannot use %s as a number", describeArg(arg))
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("cannot use %s as a number", codec.FormatFloat(v))
	}
	return v, nil
}

func describeArg(arg any) string {
	switch arg.(type) {
	case string:
		return "a string (s)"
	case []byte:
		return "a blob (b)"
	case nil:
		return "Nil (N)"
	}
	return fmt.Sprintf("a value of Go type %T", arg)
}
