package mux

import (
	"math/bits"
	"strings"
	"unicode/utf8"
)

// patternChars are the characters with a meaning in an OSC 1.0 address pattern.
const patternChars = "?*[]{}"

// Match reports whether the OSC address pattern of a received message matches
// a plain address, such as one of the addresses of the mapping file.
//
// The rules are those of OSC 1.0 address patterns:
//
//   - Pattern and address both start with '/' and are split at every '/' into
//     parts. They match only if they have the same number of parts and each
//     part of the pattern matches the address part at the same place. So
//     "/led" matches neither "/ledger" nor "/led/1", and "/led/*" matches
//     "/led/1" and "/led/2" but neither "/led" nor "/led/1/x".
//   - '?' matches any one character.
//   - '*' matches any run of zero or more characters. It never reaches past
//     the '/' that ends its part.
//   - "[abc]" matches one character out of a, b and c; "[a-z]" one character
//     from a to z (inclusive; "[z-a]" is the same range); a '!' right after
//     the '[' negates the set: "[!0-9]" is any one character but a digit.
//     A '-' first or last in the brackets, and a '!' anywhere but first,
//     stand for themselves.
//   - "{foo,bar}" matches any one of the comma-separated strings, literally;
//     a string may be empty: "/led{,s}" matches "/led" and "/leds".
//   - Every other character matches itself. Characters are runes: '?' matches
//     one UTF-8 encoded character, not one byte.
//
// A malformed pattern matches nothing: a '[' or '{' that is not closed in its
// part (a '/' inside brackets or braces ends the part), a ']' or '}' that
// closes nothing, or a '{' inside braces. A pattern or address that does not
// start with '/' matches nothing either. The OSC 1.1 "//" path wildcard is not
// supported: an empty part matches only an empty part.
//
// Match builds no regular expression and never backtracks: it keeps the set
// of places in the address part that the pattern read so far can end at. Its
// time is at most proportional to the length of the pattern times the length
// of the address part (mapped addresses are short), and it allocates nothing
// for address parts shorter than 256 bytes.
func Match(pattern, address string) bool {
	if pattern == "" || pattern[0] != '/' || address == "" || address[0] != '/' {
		return false
	}
	if !strings.ContainsAny(pattern, patternChars) {
		return pattern == address
	}
	p, a := pattern[1:], address[1:]
	for {
		pi := strings.IndexByte(p, '/')
		ai := strings.IndexByte(a, '/')
		ps, as := p, a
		if pi >= 0 {
			ps = p[:pi]
		}
		if ai >= 0 {
			as = a[:ai]
		}
		if !matchPart(ps, as) {
			return false
		}
		if pi < 0 || ai < 0 {
			return pi < 0 && ai < 0
		}
		p, a = p[pi+1:], a[ai+1:]
	}
}

// posSet is a set of byte offsets 0..n into an address part, one bit each.
type posSet []uint64

func (s posSet) add(i int)      { s[i>>6] |= 1 << (uint(i) & 63) }
func (s posSet) del(i int)      { s[i>>6] &^= 1 << (uint(i) & 63) }
func (s posSet) has(i int) bool { return s[i>>6]&(1<<(uint(i)&63)) != 0 }
func (s posSet) first() int     { return s.next(0) }

// fill adds lo..n, where n is the last offset the set can hold.
func (s posSet) fill(lo, n int) {
	w := lo >> 6
	s[w] |= ^uint64(0) << (uint(lo) & 63)
	for w++; w < len(s); w++ {
		s[w] = ^uint64(0)
	}
	s[len(s)-1] &= 1<<(uint(n)&63+1) - 1
}

// next returns the smallest offset >= i in the set, or -1.
func (s posSet) next(i int) int {
	w := i >> 6
	if w >= len(s) {
		return -1
	}
	word := s[w] &^ (1<<(uint(i)&63) - 1)
	for {
		if word != 0 {
			return w<<6 + bits.TrailingZeros64(word)
		}
		w++
		if w >= len(s) {
			return -1
		}
		word = s[w]
	}
}

// matchPart matches one part of a pattern (no '/') against one part of an
// address. It runs the pattern as a set of positions in the address that the
// pattern read so far can end at, so it never backtracks.
func matchPart(p, a string) bool {
	n := len(a)
	words := (n + 1 + 63) / 64
	var buf1, buf2 [4]uint64
	var cur, nxt posSet
	if words <= len(buf1) {
		cur, nxt = buf1[:words], buf2[:words]
	} else {
		cur, nxt = make(posSet, words), make(posSet, words)
	}
	cur.add(0)
	for i := 0; i < len(p); {
		clear(nxt)
		switch p[i] {
		case '*':
			for i < len(p) && p[i] == '*' {
				i++
			}
			lo := cur.first()
			nxt.fill(lo, n)
			// '*' ends between characters, never inside a multi-byte one.
			for j := lo; j < n; j++ {
				if a[j]&0xC0 == 0x80 {
					nxt.del(j)
				}
			}
		case '?':
			i++
			for j := cur.first(); j >= 0; j = cur.next(j + 1) {
				if j < n {
					_, w := decodeRune(a, j)
					nxt.add(j + w)
				}
			}
		case '[':
			end := strings.IndexByte(p[i+1:], ']')
			if end < 0 {
				return false
			}
			set := p[i+1 : i+1+end]
			i += end + 2
			neg := false
			if set != "" && set[0] == '!' {
				neg, set = true, set[1:]
			}
			for j := cur.first(); j >= 0; j = cur.next(j + 1) {
				if j < n {
					r, w := decodeRune(a, j)
					if inSet(set, r) != neg {
						nxt.add(j + w)
					}
				}
			}
		case '{':
			end := strings.IndexByte(p[i+1:], '}')
			if end < 0 {
				return false
			}
			alts := p[i+1 : i+1+end]
			if strings.IndexByte(alts, '{') >= 0 {
				return false
			}
			i += end + 2
			for j := cur.first(); j >= 0; j = cur.next(j + 1) {
				rest := a[j:]
				for alts := alts; ; {
					k := strings.IndexByte(alts, ',')
					alt := alts
					if k >= 0 {
						alt = alts[:k]
					}
					if strings.HasPrefix(rest, alt) {
						nxt.add(j + len(alt))
					}
					if k < 0 {
						break
					}
					alts = alts[k+1:]
				}
			}
		case ']', '}':
			return false
		default:
			k := strings.IndexAny(p[i:], patternChars)
			if k < 0 {
				k = len(p) - i
			}
			lit := p[i : i+k]
			i += k
			for j := cur.first(); j >= 0; j = cur.next(j + 1) {
				if strings.HasPrefix(a[j:], lit) {
					nxt.add(j + len(lit))
				}
			}
		}
		cur, nxt = nxt, cur
		if cur.first() < 0 {
			return false
		}
	}
	return cur.has(n)
}

// decodeRune is utf8.DecodeRuneInString at offset j, fast for ASCII.
func decodeRune(s string, j int) (rune, int) {
	if c := s[j]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[j:])
}

// inSet reports whether r is in the bracket set (without its '!').
func inSet(set string, r rune) bool {
	for len(set) > 0 {
		lo, w := utf8.DecodeRuneInString(set)
		set = set[w:]
		if len(set) >= 2 && set[0] == '-' {
			hi, w2 := utf8.DecodeRuneInString(set[1:])
			set = set[1+w2:]
			if lo > hi {
				lo, hi = hi, lo
			}
			if lo <= r && r <= hi {
				return true
			}
			continue
		}
		if r == lo {
			return true
		}
	}
	return false
}
