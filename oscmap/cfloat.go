package oscmap

import (
	"math"
	"strconv"
)

// cFloat formats f as C's printf("%f") does (as codec.Format prints floats),
// for the errors of Bool.
func cFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		if math.Signbit(f) {
			return "-nan"
		}
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'f', 6, 64)
}
