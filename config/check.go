package config

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CheckAddress checks that addr can be an address of the mapping file: a
// plain OSC address, which received patterns are matched against. It must
// start with '/', be more than "/", have no empty part ("//" or a trailing
// '/'), and have none of: a space, '#' (OSC keeps it for bundles), the
// pattern characters ? * [ ] { }, ',' (OSC 1.0 forbids it in addresses),
// control or other non-printing characters (unicode.IsPrint false, such as a
// zero-width space), invalid UTF-8. It returns nil for a valid address, else
// an error reading `address "x" <why>: <what to do>`, the text the mapping
// errors use.
func CheckAddress(addr string) error {
	if why := addressProblem(addr); why != "" {
		return fmt.Errorf("address %q %s", addr, why)
	}
	return nil
}

// addressProblem is CheckAddress's reason, or "".
func addressProblem(a string) string {
	switch {
	case a == "":
		return "is empty: write one like /led"
	case a == "/":
		return "is only the root: write one like /led"
	case a[0] != '/':
		return "does not start with '/': write it like /" + strings.TrimLeft(a, " ")
	case !utf8.ValidString(a):
		return "is not valid UTF-8: write it in plain text, like /led"
	case strings.ContainsFunc(a, unicode.IsSpace):
		return "has a space: OSC addresses have none; use _ or another / part instead, like /my_led"
	case strings.ContainsRune(a, '#'):
		return "has '#', which OSC keeps for bundles: remove it"
	case strings.ContainsAny(a, "?*[]{}"):
		return "has pattern characters; a mapped address is plain, like /led"
	case strings.ContainsRune(a, ','):
		return "has ',', which OSC does not allow in an address: remove it"
	case strings.ContainsFunc(a, unicode.IsControl):
		return "has a control character: remove it"
	case strings.ContainsFunc(a, notPrint):
		r := []rune(a)[slices.IndexFunc([]rune(a), notPrint)]
		return fmt.Sprintf("has the non-printing character %U (invisible, often pasted with the text): retype the address", r)
	case strings.Contains(a, "//") || strings.HasSuffix(a, "/"):
		return "has an empty part between slashes (// or a trailing /): write it like /led/1"
	}
	return ""
}

func notPrint(r rune) bool { return !unicode.IsPrint(r) }

// Address prefixes that an output may not use: the bridge answers there itself.
var reserved = []struct{ prefix, why string }{
	{"/sim", "is under /sim/, which the bridge keeps for driving simulated inputs (/sim/GPIO27 1): choose another, like /led"},
	{"/oscgpio", "is under /oscgpio/, which the bridge keeps for its own methods (/oscgpio/stats and others): choose another, like /led"},
}

// checkOutputAddress is CheckAddress plus what only an output's address
// must avoid: the reserved prefixes /sim/ and /oscgpio/.
func checkOutputAddress(a string) error {
	if err := CheckAddress(a); err != nil {
		return err
	}
	for _, r := range reserved {
		if a == r.prefix || strings.HasPrefix(a, r.prefix+"/") {
			return fmt.Errorf("address %q %s", a, r.why)
		}
	}
	return nil
}

// hostPort says what is wrong with a host:port address, or "" if it is
// valid. The port must be 1-65535; the host may be an IP address or a
// hostname (not resolved here), and may be empty only when needHost is false.
func hostPort(s string, needHost bool) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		switch {
		case !strings.Contains(s, ":"):
			return "has no port"
		case strings.Count(s, ":") > 1 && !strings.HasPrefix(s, "["):
			return "has too many colons (put an IPv6 address in brackets, like [::1]:5006)"
		}
		return "is not host:port"
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || port != strconv.Itoa(n) {
		return "has port " + strconv.Quote(port) + ", not a number from 1 to 65535"
	}
	if host == "" {
		if needHost {
			return "has no host"
		}
		return ""
	}
	if net.ParseIP(host) != nil {
		return ""
	}
	for _, r := range host {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_') {
			return "has host " + strconv.Quote(host) + ", which is neither an IP address nor a hostname"
		}
	}
	return ""
}

// suggest returns the known word closest to s, if it is close enough to be
// a likely typo, or an alias's replacement; else "".
func suggest(s string, known []string) string {
	low := strings.ToLower(s)
	if a, ok := aliases[low]; ok && contains(known, a) {
		return a
	}
	best, bestD := "", 1<<30
	for _, k := range known {
		d := distance(low, k)
		if d < bestD {
			best, bestD = k, d
		}
	}
	limit := 2
	if len(best) <= 4 {
		limit = 1
	}
	if bestD <= limit {
		return best
	}
	return ""
}

// distance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of neighbours each cost 1.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
