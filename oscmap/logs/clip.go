package logs

import (
	"fmt"
	"log/slog"
	"unicode/utf8"
)

// MaxValue is the longest string value Clip lets into a log line, in bytes.
const MaxValue = 300

// Clip is a slog.HandlerOptions.ReplaceAttr that cuts every string value
// longer than MaxValue bytes (at a character boundary) and says how long it
// was: "/aaaa…(60000 bytes)". A sender's 60 KB address then costs a log line
// of a few hundred bytes, so the line budget bounds the log's bytes too.
// An error value is cut the same way: its text often quotes what a sender
// sent ("cannot use the string ... as on/off").
func Clip(_ []string, a slog.Attr) slog.Attr {
	var s string
	switch a.Value.Kind() {
	case slog.KindString:
		s = a.Value.String()
	case slog.KindAny:
		err, ok := a.Value.Any().(error)
		if !ok {
			return a
		}
		s = err.Error()
	default:
		return a
	}
	if len(s) <= MaxValue {
		return a
	}
	cut := MaxValue
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return slog.String(a.Key, fmt.Sprintf("%s…(%d bytes)", s[:cut], len(s)))
}
