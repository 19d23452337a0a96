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
func Clip(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindString {
		return a
	}
	s := a.Value.String()
	if len(s) <= MaxValue {
		return a
	}
	cut := MaxValue
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return slog.String(a.Key, fmt.Sprintf("%s…(%d bytes)", s[:cut], len(s)))
}
