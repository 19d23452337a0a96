package config

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Limits of what Parse and Load read, so that no file, however written,
// makes check or run use unbounded memory or time, or print without end.
const (
	// MaxFileSize is the largest mapping file read, in bytes (1 MiB; the
	// largest example is a few KB).
	MaxFileSize = 1 << 20
	// MaxAliasNodes is how many YAML nodes the file's aliases (*name) may
	// stand for in all, counting each use of an alias as the whole of what
	// it repeats. A file over it is refused at the alias that crosses it.
	MaxAliasNodes = 100_000
	// MaxErrors is how many errors Errors holds; when there are more, one
	// more Error (with More set) says how many were left out.
	MaxErrors = 50
	// MaxMessage is the longest message of one Error, in bytes: a message
	// quoting a long value is cut there.
	MaxMessage = 1000
)

// tooBig records that the file is size bytes (-1: not known), over
// MaxFileSize, at the line and column where the limit falls in data (the
// part that was read).
func (d *decoder) tooBig(data []byte, size int64) {
	if len(data) > MaxFileSize {
		data = data[:MaxFileSize]
	}
	line := bytes.Count(data, []byte{'\n'}) + 1
	col := utf8.RuneCount(data[bytes.LastIndexByte(data, '\n')+1:]) + 1
	what := fmt.Sprintf("is %d bytes, over the limit of %d (1 MiB)", size, MaxFileSize)
	if size < 0 {
		what = fmt.Sprintf("goes on past the limit of %d bytes (1 MiB),", MaxFileSize)
	}
	d.errLine(line, col, "the mapping file %s that falls here; a mapping file is a few KB: check that this is the right file", what)
}

// aliasSizes counts the nodes that aliases stand for, so that a file
// repeating a large part many times (an alias bomb: 79 KB of YAML can stand
// for billions of nodes) is refused before it is decoded.
type aliasSizes struct {
	size  map[*yaml.Node]int // node -> nodes in it, aliases expanded (capped)
	busy  map[*yaml.Node]bool
	total int
	cycle bool // an alias stands inside its own anchor
}

// checkNodes walks the tree under n in file order. It records an error at
// the first alias whose use makes the nodes reached through aliases exceed
// MaxAliasNodes, or that stands inside its own anchor, and reports whether
// the file is within the limit. It also keeps, for oddScalars, every
// scalar that holds a non-printing character.
func (d *decoder) checkNodes(n *yaml.Node) bool {
	a := &aliasSizes{size: map[*yaml.Node]int{}, busy: map[*yaml.Node]bool{}}
	bad := a.walk(d, n)
	switch {
	case bad == nil:
		return true
	case a.cycle:
		d.errAt(bad, "alias *%s stands inside its own anchor &%s: it would repeat forever; remove the alias", bad.Value, bad.Value)
	default:
		d.errAt(bad, "alias *%s: the aliases of this file stand for more than %d YAML nodes in all (an alias bomb); write the repeated parts out, or repeat them fewer times", bad.Value, MaxAliasNodes)
	}
	return false
}

// walk adds up, in file order, the nodes each alias under n stands for and
// returns the alias at which the total passes the limit, or nil. It keeps
// non-printing scalars in d.odd.
func (a *aliasSizes) walk(d *decoder, n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	switch n.Kind {
	case yaml.AliasNode:
		a.total += a.sizeOf(n.Alias)
		if a.total > MaxAliasNodes {
			return n
		}
		return nil
	case yaml.ScalarNode:
		if _, ok := nonPrinting(n.Value); ok {
			d.odd = append(d.odd, n)
		}
	}
	for _, c := range n.Content {
		if bad := a.walk(d, c); bad != nil {
			return bad
		}
	}
	return nil
}

// nonPrinting returns the first rune of s that strconv.Quote would escape
// (a control or format character, a space other than ' ', invalid UTF-8).
func nonPrinting(s string) (rune, bool) {
	for _, r := range s {
		if !strconv.IsPrint(r) {
			return r, true
		}
	}
	return 0, false
}

// sizeOf is the number of nodes n stands for with its aliases expanded,
// capped just over MaxAliasNodes so that it cannot overflow. An alias
// inside its own anchor (yaml refuses those) counts as over the limit.
func (a *aliasSizes) sizeOf(n *yaml.Node) int {
	const over = MaxAliasNodes + 1
	if n == nil {
		return 1
	}
	if s, ok := a.size[n]; ok {
		return s
	}
	if a.busy[n] {
		a.cycle = true
		return over
	}
	a.busy[n] = true
	s := 1
	if n.Kind == yaml.AliasNode {
		s = a.sizeOf(n.Alias)
	} else {
		for _, c := range n.Content {
			if s += a.sizeOf(c); s > over {
				s = over
				break
			}
		}
	}
	delete(a.busy, n)
	a.size[n] = s
	return s
}

// dedupe drops the errors that repeat an earlier one (same place, same
// message): a node repeated by aliases is reported once.
func (es Errors) dedupe() Errors {
	type key struct {
		line, col int
		msg       string
	}
	seen := make(map[key]bool, len(es))
	out := es[:0]
	for _, e := range es {
		k := key{e.Line, e.Col, e.Msg}
		if !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}

// truncate keeps the first MaxErrors of es (sorted) and, if there were
// more, one Error more at the first one left out, saying how many. It cuts
// messages longer than MaxMessage.
func (es Errors) truncate() Errors {
	for _, e := range es {
		if len(e.Msg) > MaxMessage {
			cut := MaxMessage
			for cut > 0 && !utf8.RuneStart(e.Msg[cut]) {
				cut--
			}
			e.Msg = fmt.Sprintf("%s... (%d more bytes)", e.Msg[:cut], len(e.Msg)-cut)
		}
	}
	if len(es) <= MaxErrors {
		return es
	}
	first := es[MaxErrors]
	more := len(es) - MaxErrors
	noun := "errors"
	if more == 1 {
		noun = "error"
	}
	return append(es[:MaxErrors:MaxErrors], &Error{
		File: first.File, Line: first.Line, Col: first.Col, More: more,
		Msg: fmt.Sprintf("... and %d more %s from here on (the first %d are shown); fix these and check again", more, noun, MaxErrors),
	})
}

// oddScalars records an error at each scalar that holds a non-printing
// character (a control character, an escape sequence, a zero-width space),
// which a check table or a log line would otherwise print raw, unless an
// error at that place already says what is wrong with it.
func (d *decoder) oddScalars() {
	at := map[Pos]bool{}
	for _, e := range d.errs {
		at[Pos{e.Line, e.Col}] = true
	}
	for _, n := range d.odd {
		if at[Pos{n.Line, n.Column}] {
			continue
		}
		r, _ := nonPrinting(n.Value)
		d.errAt(n, "%s holds the non-printing character %s: a mapping file needs none (it would reach the terminal and the log as it is); remove it", strconv.Quote(n.Value), strconv.QuoteRune(r))
	}
}
