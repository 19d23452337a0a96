package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Parse decodes and validates a mapping file. file names it in errors.
// On any problem it returns nil and Errors holding the problems found,
// sorted by position: the first MaxErrors, then a count of the rest. Data
// over MaxFileSize, or whose aliases stand for more than MaxAliasNodes
// nodes, is refused with one error.
func Parse(file string, data []byte) (*Config, error) {
	return parse(file, data, int64(len(data)))
}

// parse is Parse of data, the first bytes of a file of size bytes (-1:
// more than MaxFileSize, not known how many).
func parse(file string, data []byte, size int64) (*Config, error) {
	d := &decoder{file: file}
	if size > MaxFileSize || size < 0 {
		d.tooBig(data, size)
		return nil, d.errs
	}
	var spec fileSpec
	spec.setDefaults()
	if root := d.document(data); root != nil {
		if root.Kind != yaml.MappingNode {
			d.errAt(root, "the mapping file must be sections of key: value lines (%s), not %s",
				strings.Join(mainKeys(), ", "), describe(root))
		} else {
			d.section(root, reflect.ValueOf(&spec).Elem(), "at the top of the file", "", "", nil)
		}
	}
	c := spec.validate(d)
	d.oddScalars()
	if len(d.errs) > 0 {
		// yaml places an empty document after a lone "---" on the line
		// after the file's last: point at the last line instead.
		last := lineCount(data)
		for _, e := range d.errs {
			if e.Line > last {
				e.Line, e.Col = last, 1
			}
		}
		d.errs.sort()
		return nil, d.errs.dedupe().truncate()
	}
	return c, nil
}

func (d *decoder) errLine(line, col int, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

var yamlLine = regexp.MustCompile(`^line (\d+): (.*)$`)

// document decodes data to a node tree and returns the top node, or nil if
// the file is empty or has a syntax error (recorded).
func (d *decoder) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			d.syntax(data, err)
		}
		return nil
	}
	var second yaml.Node
	switch err := dec.Decode(&second); {
	case err == nil:
		at := &second
		if len(second.Content) > 0 {
			at = second.Content[0]
		}
		d.errAt(at, "a second YAML document (after ---): a mapping file is one document; remove the --- line or split the file")
	case !errors.Is(err, io.EOF):
		d.syntax(data, err)
	}
	if len(doc.Content) == 0 || !d.checkNodes(&doc) {
		return nil
	}
	return deref(doc.Content[0])
}

// syntax records a YAML syntax error, at the line yaml names (line 1 if it
// names none) and column 1 unless a tab explains it.
func (d *decoder) syntax(data []byte, err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line, col := 1, 1
	hint := ""
	lines := strings.Split(string(data), "\n")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil && n > 0 {
			line = n
			if parserProblem(m[2]) {
				// yaml v3 adds 1 to the 0-based line of scanner errors
				// only; its parser errors name the line before, and that
				// line starts the block where the problem is, which may
				// be further down.
				line++
				if odd := oddIndent(lines, line); odd > 0 {
					line = odd
					col = len(lines[odd-1]) - len(strings.TrimLeft(lines[odd-1], " ")) + 1
					hint = "; this line's indentation matches none of the lines above it"
				} else {
					hint = "; the problem is in the block that starts here: check the indentation of its lines"
				}
			}
		}
		msg = m[2]
	}
	// Invalid UTF-8: yaml names no line; point at the first bad byte.
	if strings.Contains(msg, "UTF-8") {
		for l, text := range lines {
			if !utf8.ValidString(text) {
				line, col = l+1, utf8.RuneCountInString(text[:firstInvalid(text)])+1
				hint = "; save the file as UTF-8"
				break
			}
		}
	}
	// A tab in the indentation: yaml names the line before it, or the line
	// itself; point at the tab.
	last := line
	if strings.Contains(msg, "tab") {
		last = line + 1
	}
	for l := line; l <= last && l <= len(lines); l++ {
		text := lines[l-1]
		indent := text[:len(text)-len(strings.TrimLeft(text, " \t"))]
		if i := strings.IndexByte(indent, '\t'); i >= 0 {
			line, col = l, i+1
			hint = "; indent with spaces, YAML does not allow tabs"
			break
		}
	}
	if hint == "" && strings.Contains(msg, "mapping values are not allowed") {
		hint = "; put quotes around a value that contains \": \", and check the indentation of the keys"
	}
	if line > len(lines) {
		// yaml names the line after the last one when the file ends
		// inside a block ("{"): point at the end of the file.
		line, col = len(lines), utf8.RuneCountInString(lines[len(lines)-1])+1
	}
	d.errLine(line, col, "YAML syntax error: %s%s", msg, hint)
}

// firstInvalid is the byte offset of the first invalid UTF-8 in s.
func firstInvalid(s string) int {
	for i, r := range s {
		if r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD") {
			return i
		}
	}
	return len(s)
}

// oddIndent finds, in the block that starts at line from (1-based), the
// first line indented to a column that none of the lines above it in the
// block uses and that does not open a nested block: where a key was indented
// one space too far or too short. 0 when there is none.
func oddIndent(lines []string, from int) int {
	seen := map[int]bool{}
	base, prev, opens := -1, -1, false
	for l := from; l <= len(lines); l++ {
		text := strings.TrimRight(lines[l-1], " \r")
		trimmed := strings.TrimLeft(text, " ")
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		ind := len(text) - len(trimmed)
		switch {
		case base < 0:
			base = ind
		case ind < base:
			return 0 // the block ended
		case !seen[ind] && !(opens && ind > prev):
			return l
		}
		seen[ind] = true
		if strings.HasPrefix(trimmed, "- ") {
			seen[ind+2] = true
		}
		if i := strings.Index(trimmed, " #"); i >= 0 {
			trimmed = strings.TrimRight(trimmed[:i], " ")
		}
		prev, opens = ind, strings.HasSuffix(trimmed, ":") || trimmed == "-"
	}
	return 0
}

// parserProblem reports whether msg is one of yaml's parser (not scanner)
// problems.
func parserProblem(msg string) bool {
	for _, pre := range []string{
		"did not find expected ',' or", "did not find expected '-' indicator", "did not find expected <",
		"did not find expected key", "did not find expected node content", "found duplicate %",
		"found incompatible YAML document", "found undefined tag handle",
	} {
		if strings.HasPrefix(msg, pre) {
			return true
		}
	}
	return false
}

// deref follows aliases (*name) to the node they stand for.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// describe names what kind of YAML a node is, for type errors.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping (key: value lines)"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "empty"
		}
		return fmt.Sprintf("the single value %q", n.Value)
	}
	return "something else"
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// quoted shows a scalar's text, or what kind of node it is.
func quoted(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		return strconv.Quote(n.Value)
	}
	return describe(n)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// mainKeys are the top keys most files have, for the message about a file
// that is not a mapping: every top key but adcs, reply_port, watchdog,
// allow, rate_limit, max_schedule_ahead and http.
func mainKeys() []string {
	var ks []string
	for _, k := range topKeys {
		if k != "adcs" && k != "reply_port" && k != "watchdog" && k != "allow" && k != "rate_limit" && k != "max_schedule_ahead" && k != "oscgpio_methods" && k != "http" {
			ks = append(ks, k)
		}
	}
	return ks
}

// lineCount is how many lines data has, counting YAML's line breaks (a
// lone CR is one).
func lineCount(data []byte) int {
	n := 1
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '\n':
			n++
		case '\r':
			if i+1 < len(data) && data[i+1] == '\n' {
				i++
			}
			n++
		}
	}
	return n
}
