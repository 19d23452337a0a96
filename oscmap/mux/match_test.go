package mux

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/oscgpio/oscgpio/config"
)

var matchCases = []struct {
	pattern, address string
	want             bool
}{
	// Plain addresses: equal, anchored, part by part.
	{"/led", "/led", true},
	{"/led", "/ledger", false},
	{"/ledger", "/led", false},
	{"/led", "/led/1", false},
	{"/led/1", "/led", false},
	{"/led/1", "/led/1", true},
	{"/led", "/LED", false},
	{"/", "/", true},
	{"/", "/led", false},
	{"", "", false},
	{"led", "led", false},
	{"/led", "led", false},
	{"/a//b", "/a//b", true},

	// '?': exactly one character, never '/'.
	{"/l?d", "/led", true},
	{"/l?d", "/lid", true},
	{"/l?d", "/ld", false},
	{"/l?d", "/leed", false},
	{"/led?", "/led", false},
	{"/led?", "/led1", true},
	{"/led?", "/led/", false},
	{"/a?b", "/a/b", false},
	{"/???", "/led", true},
	{"/l?d", "/lÿd", true}, // one rune, two bytes
	{"/l??d", "/lÿd", false},

	// '*': any run within one part.
	{"/*", "/led", true},
	{"/*", "/", true},
	{"/*", "/led/1", false},
	{"/led*", "/led", true},
	{"/led*", "/ledger", true},
	{"/*led", "/led", true},
	{"/*led", "/redled", true},
	{"/*led", "/ledr", false},
	{"/l*d", "/led", true},
	{"/l*d", "/ld", true},
	{"/l*d", "/lead", true},
	{"/l*d", "/leda", false},
	{"/led/*", "/led/1", true},
	{"/led/*", "/led/2", true},
	{"/led/*", "/led", false},
	{"/led/*", "/led/1/x", false},
	{"/led/*", "/ledger/1", false},
	{"/*/*", "/led/1", true},
	{"/*/1", "/led/1", true},
	{"/*/1", "/led/2", false},
	{"/*", "/a/b", false},
	{"/a*b*c", "/abc", true},
	{"/a*b*c", "/axxbyyc", true},
	{"/a*b*c", "/axxbyy", false},
	{"/a**b", "/ab", true},
	{"/*a*a*a*a*a*a*a*b", "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	{"/*?", "/", false},
	{"/*?", "/a", true},
	{"/?*?", "/ab", true},
	{"/?*?", "/a", false},

	// Brackets.
	{"/led[123]", "/led1", true},
	{"/led[123]", "/led3", true},
	{"/led[123]", "/led4", false},
	{"/led[123]", "/led", false},
	{"/led[123]", "/led12", false},
	{"/led[1-3]", "/led2", true},
	{"/led[1-3]", "/led0", false},
	{"/led[3-1]", "/led2", true},
	{"/[a-z]", "/q", true},
	{"/[a-z]", "/Q", false},
	{"/[a-zA-Z]", "/Q", true},
	{"/[!a]", "/b", true},
	{"/[!a]", "/a", false},
	{"/[!a-z]", "/5", true},
	{"/[!a-z]", "/k", false},
	{"/[!]", "/x", true},
	{"/[]", "/x", false},
	{"/[]", "/", false},
	{"/[-a]", "/-", true},
	{"/[a-]", "/-", true},
	{"/[a-]", "/a", true},
	{"/[a-]", "/b", false},
	{"/[a!]", "/!", true},
	{"/[!!]", "/!", false},
	{"/[a-c-e]", "/-", true},
	{"/[a-c-e]", "/d", false},
	{"/[a-c-e]", "/e", true},
	{"/[*]", "/*", true},
	{"/[*]", "/a", false},
	{"/[?]", "/?", true},
	{"/[{]", "/{", true},
	{"/[[]", "/[", true},
	{"/[ÿé]", "/é", true},
	{"/[à-ü]", "/é", true},
	{"/[/]", "/", false},
	{"/a[/]b", "/a/b", false},

	// Braces.
	{"/{led,relay}", "/led", true},
	{"/{led,relay}", "/relay", true},
	{"/{led,relay}", "/lamp", false},
	{"/{led,relay}", "/ledrelay", false},
	{"/{led,relay}/1", "/relay/1", true},
	{"/led{,s}", "/led", true},
	{"/led{,s}", "/leds", true},
	{"/led{,s}", "/ledss", false},
	{"/{}", "/", true},
	{"/{}led", "/led", true},
	{"/{a,ab}c", "/abc", true},
	{"/{ab,a}bc", "/abc", true},
	{"/{a,b}{c,d}", "/bd", true},
	{"/{a,b}{c,d}", "/ba", false},
	{"/{*}", "/*", true},
	{"/{*}", "/led", false},
	{"/{a?}", "/a?", true},
	{"/{a?}", "/ab", false},
	{"/*{1,2}", "/led2", true},
	{"/*{1,2}", "/led3", false},
	{"/{l,r}*[0-9]", "/led7", true},

	// Malformed patterns match nothing.
	{"/led[", "/led", false},
	{"/led[", "/led[", false},
	{"/led[1", "/led1", false},
	{"/led[!", "/led", false},
	{"/{", "/", false},
	{"/{", "/{", false},
	{"/{led", "/led", false},
	{"/{led", "/{led", false},
	{"/led}", "/led}", false},
	{"/led]", "/led]", false},
	{"/l?d]", "/led]", false},
	{"/{a,{b}}", "/b", false},
	{"/{a/b}", "/a/b", false},
	{"/{a,b}/c]", "/a/c]", false},
	{"/*/[", "/a/[", false},
	{"/*]", "/]", false},
}

func TestMatch(t *testing.T) {
	for _, c := range matchCases {
		if got := Match(c.pattern, c.address); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.address, got, c.want)
		}
		if got := refMatch(c.pattern, c.address); got != c.want {
			t.Errorf("the reference matcher is wrong: refMatch(%q, %q) = %v, want %v", c.pattern, c.address, got, c.want)
		}
	}
}

func TestMatchLongParts(t *testing.T) {
	long := strings.Repeat("x", 1000)
	for _, c := range []struct {
		pattern, address string
		want             bool
	}{
		{"/" + long, "/" + long, true},
		{"/*", "/" + long, true},
		{"/*y", "/" + long, false},
		{"/" + long[:500] + "*" + long[:400], "/" + long, true},
		{"/" + strings.Repeat("?", 1000), "/" + long, true},
		{"/" + strings.Repeat("?", 999), "/" + long, false},
		{"/" + strings.Repeat("*x", 300) + "*", "/" + long, true},
		{"/" + strings.Repeat("*x", 1001), "/" + long, false},
		{"/{" + strings.Repeat("x,", 2000) + long + "}", "/" + long, true},
	} {
		if got := Match(c.pattern, c.address); got != c.want {
			t.Errorf("Match(%.40q..., %.40q...) = %v, want %v", c.pattern, c.address, got, c.want)
		}
	}
}

func TestMatchWordBoundaries(t *testing.T) {
	for n := 60; n <= 260; n++ {
		a := "/" + strings.Repeat("x", n)
		for _, c := range []struct {
			pattern string
			want    bool
		}{{"/*", true}, {"/*x", true}, {"/x*", true}, {"/*y", false}, {"/*x?", n >= 2}, {"/?*", true}, {"/" + strings.Repeat("?", n), true}} {
			if got := Match(c.pattern, a); got != c.want {
				t.Errorf("Match(%q, %d x's) = %v, want %v", c.pattern, n, got, c.want)
			}
		}
	}
}

func TestMatchAllocatesNothing(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		Match("/{led,relay}/[0-9]*", "/led/12")
		Match("/l?d", "/led")
		Match("/led", "/led")
	})
	if allocs != 0 {
		t.Errorf("Match allocated %v times per run, want 0", allocs)
	}
}

// FuzzMatch checks that Match never panics, that a plain address matches
// itself, that a pattern without pattern characters matches only itself, and
// that Match agrees with refMatch, a plain backtracking matcher.
func FuzzMatch(f *testing.F) {
	for _, c := range matchCases {
		f.Add(c.pattern, c.address)
	}
	f.Add("/led/*", "/led/1")
	f.Add("/{a,b,c}/[!x-z]?*", "/b/q12")
	f.Fuzz(func(t *testing.T, pattern, address string) {
		if len(pattern) > 2048 || len(address) > 2048 {
			t.Skip("Match's time grows with len(pattern) × len(address); keep each run short")
		}
		got := Match(pattern, address)
		if config.CheckAddress(address) == nil && !Match(address, address) {
			t.Fatalf("the plain address %q does not match itself", address)
		}
		slashed := strings.HasPrefix(pattern, "/") && strings.HasPrefix(address, "/")
		if slashed && !strings.ContainsAny(pattern, patternChars) && got != (pattern == address) {
			t.Fatalf("Match(%q, %q) = %v for a plain pattern", pattern, address, got)
		}
		if got && strings.Count(pattern, "/") != strings.Count(address, "/") {
			t.Fatalf("Match(%q, %q) = true across a different number of parts", pattern, address)
		}
		if len(pattern) <= 64 && len(address) <= 64 && utf8.ValidString(pattern) && utf8.ValidString(address) {
			if want := refMatch(pattern, address); got != want {
				t.Fatalf("Match(%q, %q) = %v, the reference says %v", pattern, address, got, want)
			}
		}
	})
}

// refMatch is a second, independent reading of the OSC 1.0 rules: split at
// '/', then backtrack over runes (memoised).
func refMatch(pattern, address string) bool {
	if !strings.HasPrefix(pattern, "/") || !strings.HasPrefix(address, "/") {
		return false
	}
	ps, as := strings.Split(pattern[1:], "/"), strings.Split(address[1:], "/")
	for _, p := range ps {
		if refMalformed([]rune(p)) {
			return false
		}
	}
	if len(ps) != len(as) {
		return false
	}
	for i := range ps {
		p, a := []rune(ps[i]), []rune(as[i])
		memo := map[[2]int]bool{}
		if !refPart(p, a, memo) {
			return false
		}
	}
	return true
}

func refMalformed(p []rune) bool {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case ']', '}':
			return true
		case '[':
			j := i + 1
			for j < len(p) && p[j] != ']' {
				j++
			}
			if j == len(p) {
				return true
			}
			i = j
		case '{':
			j := i + 1
			for j < len(p) && p[j] != '}' {
				if p[j] == '{' {
					return true
				}
				j++
			}
			if j == len(p) {
				return true
			}
			i = j
		}
	}
	return false
}

func refPart(p, a []rune, memo map[[2]int]bool) bool {
	key := [2]int{len(p), len(a)}
	if v, ok := memo[key]; ok {
		return v
	}
	v := refPart1(p, a, memo)
	memo[key] = v
	return v
}

func refPart1(p, a []rune, memo map[[2]int]bool) bool {
	if len(p) == 0 {
		return len(a) == 0
	}
	switch p[0] {
	case '*':
		for k := 0; k <= len(a); k++ {
			if refPart(p[1:], a[k:], memo) {
				return true
			}
		}
		return false
	case '?':
		return len(a) > 0 && refPart(p[1:], a[1:], memo)
	case '[':
		end := 1
		for p[end] != ']' {
			end++
		}
		set := p[1:end]
		neg := len(set) > 0 && set[0] == '!'
		if neg {
			set = set[1:]
		}
		if len(a) == 0 {
			return false
		}
		in := false
		for i := 0; i < len(set); i++ {
			if i+2 < len(set) && set[i+1] == '-' {
				lo, hi := min(set[i], set[i+2]), max(set[i], set[i+2])
				in = in || (lo <= a[0] && a[0] <= hi)
				i += 2
				continue
			}
			in = in || set[i] == a[0]
		}
		return in != neg && refPart(p[end+1:], a[1:], memo)
	case '{':
		end := 1
		for p[end] != '}' {
			end++
		}
		for _, alt := range strings.Split(string(p[1:end]), ",") {
			r := []rune(alt)
			if len(r) <= len(a) && string(a[:len(r)]) == alt && refPart(p[end+1:], a[len(r):], memo) {
				return true
			}
		}
		return false
	}
	return len(a) > 0 && a[0] == p[0] && refPart(p[1:], a[1:], memo)
}

func BenchmarkMatch(b *testing.B) {
	for _, c := range []struct{ name, pattern, address string }{
		{"plain", "/led/1", "/led/1"},
		{"plain-miss", "/ledger", "/led"},
		{"star", "/led/*", "/led/12"},
		{"set", "/led/[0-9]", "/led/7"},
		{"braces", "/{relay,led}/{1,2,3}", "/led/3"},
		{"mixed", "/*/{a,b}[!x]?*z", "/controller/bq12345z"},
		{"long", "/" + strings.Repeat("*a", 50), "/" + strings.Repeat("a", 200)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Match(c.pattern, c.address)
			}
		})
	}
}

// '*' stops between characters: what follows it never starts inside a
// multi-byte character.
func TestMatchStarStopsAtCharacters(t *testing.T) {
	for _, c := range []struct {
		pattern, address string
		want             bool
	}{
		{"/*[!é]", "/é", false},
		{"/x*[!é]", "/xé", false},
		{"/*?", "/é", true},
		{"/*é", "/aé", true},
		{"/*[é]", "/abé", true},
		{"/*??", "/é", false},
		{"/é*?", "/éü", true},
	} {
		if got := Match(c.pattern, c.address); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.address, got, c.want)
		}
	}
}
