package config

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a mapping file, at the key or value it concerns.
type Error struct {
	File      string
	Line, Col int
	Msg       string
	// More is set only on the last element of Errors cut at MaxErrors:
	// how many errors were left out. Its position is the first of them.
	More int
}

// Error returns "FILE:LINE:COL: Msg".
func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Errors is every problem found in a mapping file, in file order: at most
// MaxErrors of them, then, if there were more, one Error with More set
// ("... and N more errors").
type Errors []*Error

// Error returns the errors one per line.
func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the errors, for errors.As and errors.Is.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

func (es Errors) sort() {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].Line != es[j].Line {
			return es[i].Line < es[j].Line
		}
		return es[i].Col < es[j].Col
	})
}
