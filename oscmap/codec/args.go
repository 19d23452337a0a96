package codec

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// ParseArg reads one command-line argument of `oscgpio send` as an OSC
// argument value.
//
// Without a prefix the type is inferred: "true" and "false" are bool (sent as
// T and F); a decimal integer that fits in 32 bits is int32 (i); any other
// number ("1.5", "-2e3", "3000000000") is float32 (f); everything else,
// including "nan", "inf" and "True", is a string (s).
//
// A one-letter prefix forces the type: "i:1" int32, "f:1" float32, "d:1"
// float64, "h:1" int64, "s:1" the string "1" ("s:" is the empty string, and
// "s:true" the string "true"). A forced value that does not fit its type is
// an error, e.g. `i:x: not an integer`.
func ParseArg(s string) (any, error) {
	if len(s) >= 2 && s[1] == ':' {
		v := s[2:]
		switch s[0] {
		case 's':
			return v, nil
		case 'i':
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil {
				return nil, intError(s, 32, err)
			}
			return int32(n), nil
		case 'h':
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, intError(s, 64, err)
			}
			return n, nil
		case 'f':
			f, err := strconv.ParseFloat(v, 32)
			if err != nil {
				return nil, floatError(s, "float32", err)
			}
			return float32(f), nil
		case 'd':
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, floatError(s, "float64", err)
			}
			return f, nil
		}
	}
	switch s {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	if n, err := strconv.ParseInt(s, 10, 32); err == nil {
		return int32(n), nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && isNumeral(s) {
		if math.Abs(f) > math.MaxFloat32 {
			return nil, fmt.Errorf("%s: too large for a float32 (force a double with d:%s)", s, s)
		}
		return float32(f), nil
	}
	return s, nil
}

// isNumeral reports whether a string that ParseFloat accepted is written in
// digits, not "inf", "NaN" or a hex float.
func isNumeral(s string) bool {
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9', c == '.', c == '-', c == '+', c == 'e', c == 'E':
		default:
			return false
		}
	}
	return true
}

func intError(s string, size int, err error) error {
	if errors.Is(err, strconv.ErrRange) {
		if size == 32 {
			return fmt.Errorf("%s: out of range for a 32-bit integer (use h: for 64 bits)", s)
		}
		return fmt.Errorf("%s: out of range for a 64-bit integer", s)
	}
	return fmt.Errorf("%s: not an integer", s)
}

func floatError(s, typ string, err error) error {
	if errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("%s: out of range for a %s", s, typ)
	}
	return fmt.Errorf("%s: not a number", s)
}
