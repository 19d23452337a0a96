package wiring

import (
	"encoding/xml"
	"strings"
	"testing"
)

// esc escapes as encoding/xml's EscapeText does.
func FuzzEsc(f *testing.F) {
	for _, s := range []string{"", "GPIO17", `a<b>&"c'`, "tab\there\nnew\rline", "\x00\x1b[31m", "\xff\xfe", "é ☃ 𝄞", "\uFFFE\uD7FF"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want strings.Builder
		xml.EscapeText(&want, []byte(s))
		if got := esc(s); got != want.String() {
			t.Fatalf("esc(%q) = %q, encoding/xml: %q", s, got, want.String())
		}
	})
}
