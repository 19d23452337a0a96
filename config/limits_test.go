package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// aliasBomb is the file of issue 9: a 1 000-key map under an anchor, then
// n aliases of it (79 KB for n = 10 000).
func aliasBomb(n int) []byte {
	var b strings.Builder
	b.WriteString("sim:\n  x: &m {")
	for i := range 1000 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "k%d: 1", i)
	}
	b.WriteString("}\noutputs:\n")
	for range n {
		b.WriteString("  - *m\n")
	}
	return []byte(b.String())
}

// laughs is the billion laughs: each level a list of ten aliases of the
// level before.
func laughs(levels int) []byte {
	var b strings.Builder
	b.WriteString("a0: &a0 [x]\n")
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	return []byte(b.String())
}

// limitErrors parses data and returns its Errors, failing if it has none.
func limitErrors(t *testing.T, data []byte) Errors {
	t.Helper()
	c, err := Parse("f.yaml", data)
	var es Errors
	if c != nil || !errors.As(err, &es) || len(es) == 0 {
		t.Fatalf("Parse = %v, %v; want Errors", c, err)
	}
	return es
}

func TestAliasBombRefused(t *testing.T) {
	for name, data := range map[string][]byte{
		"issue 9 bomb":   aliasBomb(10_000),
		"billion laughs": laughs(30),
	} {
		t.Run(name, func(t *testing.T) {
			es := limitErrors(t, data)
			if len(es) != 1 || !strings.Contains(es[0].Msg, "alias bomb") || !strings.HasPrefix(es[0].Msg, "alias *") {
				t.Fatalf("errors = %v, want one alias-bomb error", es)
			}
			// It is at an alias: the text there is "*name".
			line := strings.Split(string(data), "\n")[es[0].Line-1]
			if !strings.HasPrefix(line[es[0].Col-1:], "*") {
				t.Errorf("error at %d:%d, line %q: not at an alias", es[0].Line, es[0].Col, line)
			}
		})
	}
}

// A few aliases under the limit are decoded as if written out.
func TestAliasesUnderLimit(t *testing.T) {
	data := "destinations:\n  max: &d 127.0.0.1:9000\n  pd: *d\n" + strings.SplitN(base, "\n", 4)[3]
	c, err := Parse("f.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Destinations[1].Addr; got != "127.0.0.1:9000" {
		t.Errorf("pd = %q, want the aliased address", got)
	}
	// 49 aliases of a 2 001-node list (98 049 nodes) are within the limit:
	// refused for what they say, not for their number.
	list := "x: &m [" + strings.Repeat("1, ", 2000) + "1]\noutputs:\n" + strings.Repeat("  - *m\n", 49)
	for _, e := range limitErrors(t, []byte(list)) {
		if strings.Contains(e.Msg, "alias bomb") {
			t.Fatalf("under the limit: %v", e)
		}
	}
	// One more is over.
	if es := limitErrors(t, []byte(list+"  - *m\n")); len(es) != 1 || es[0].Line != 52 || !strings.Contains(es[0].Msg, "alias bomb") {
		t.Errorf("over the limit: %v", es)
	}
}

func TestFileSizeLimit(t *testing.T) {
	line := "# " + strings.Repeat("x", 97) + "\n" // 100 bytes
	data := []byte(strings.Repeat(line, MaxFileSize/100) + base)
	es := limitErrors(t, data)
	if len(es) != 1 || !strings.Contains(es[0].Msg, fmt.Sprintf("is %d bytes, over the limit of %d", len(data), MaxFileSize)) {
		t.Fatalf("errors = %v", es)
	}
	// The limit falls on this line and column.
	if off := lineColOffset(data, es[0].Line, es[0].Col); off != MaxFileSize {
		t.Errorf("error at %d:%d = offset %d, want %d", es[0].Line, es[0].Col, off, MaxFileSize)
	}
	// A file of exactly the limit is read.
	if _, err := Parse("f.yaml", append(data[:MaxFileSize-len(base)-1:MaxFileSize-len(base)-1], "\n"+base...)); err != nil {
		t.Errorf("a file under the limit: %v", err)
	}
}

// lineColOffset is the byte offset of line:col (1-based, ASCII).
func lineColOffset(data []byte, line, col int) int {
	off := 0
	for range line - 1 {
		off += strings.IndexByte(string(data[off:]), '\n') + 1
	}
	return off + col - 1
}

// Load refuses a 10 MB file having read only one byte more than the limit,
// and names its real size.
func TestLoadHugeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.yaml")
	if err := os.WriteFile(path, []byte(strings.Repeat("#\n", 5<<20)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	want := fmt.Sprintf("%s:524289:1: the mapping file is %d bytes, over the limit of %d", path, 10<<20, MaxFileSize)
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("Load = %v\nwant prefix %s", err, want)
	}
}

// A file with thousands of errors shows the first MaxErrors, then one line
// with the count of the rest, at the first of them.
func TestErrorsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("outputs:\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "  - {name: o%d, pin: GPIO17, address: /o, colour: red}\n", i)
	}
	es := limitErrors(t, []byte(b.String()))
	if len(es) != MaxErrors+1 {
		t.Fatalf("%d errors, want %d", len(es), MaxErrors+1)
	}
	last := es[MaxErrors]
	if last.More < 1000 || !strings.HasPrefix(last.Msg, fmt.Sprintf("... and %d more errors", last.More)) {
		t.Errorf("last = %+v", last)
	}
	if last.Line < es[MaxErrors-1].Line {
		t.Errorf("summary at line %d, before the last error shown (%d)", last.Line, es[MaxErrors-1].Line)
	}
	for _, e := range es[:MaxErrors] {
		if e.More != 0 {
			t.Errorf("More set on %v", e)
		}
	}
	if n := strings.Count(es.Error(), "\n") + 1; n != MaxErrors+1 {
		t.Errorf("Error() has %d lines, want %d", n, MaxErrors+1)
	}
}

func TestAliasInsideItsAnchor(t *testing.T) {
	es := limitErrors(t, []byte("a: &x [*x]\n"))
	if len(es) != 1 || es[0].Line != 1 || es[0].Col != 8 || !strings.Contains(es[0].Msg, "alias *x stands inside its own anchor &x") {
		t.Fatalf("errors = %v", es)
	}
}

// A name holding an escape sequence or a newline would print raw in check's
// table and in the log: it is refused, quoted.
func TestNonPrintingScalars(t *testing.T) {
	src := strings.Replace(base, "  max:", "  \"m\\e[2J\\n/button i 1\":", 1)
	src = strings.Replace(src, "to: [max]", "to: [\"m\\e[2J\\n/button i 1\"]", 1)
	es := limitErrors(t, []byte(src))
	if len(es) != 2 {
		t.Fatalf("errors = %v, want the key and its use", es)
	}
	for _, e := range es {
		if !strings.Contains(e.Msg, `"m\x1b[2J\n/button i 1" holds the non-printing character '\x1b'`) {
			t.Errorf("error %v", e)
		}
		if strings.ContainsAny(e.Error(), "\x1b\n") {
			t.Errorf("error printed raw: %q", e.Error())
		}
	}
}

// A node repeated by aliases is reported once, not once per alias.
func TestAliasedErrorsOnce(t *testing.T) {
	src := "outputs:\n  - &o {name: a, pin: GPIO17, address: /a, colour: red}\n  - *o\n  - *o\n"
	es := limitErrors(t, []byte(src))
	n := 0
	for _, e := range es {
		if strings.Contains(e.Msg, `unknown key "colour"`) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the unknown key is reported %d times: %v", n, es)
	}
}

// A message quoting a long value is cut.
func TestLongMessageCut(t *testing.T) {
	es := limitErrors(t, []byte("destinations:\n  max: "+strings.Repeat("é", 100_000)+"\n"))
	if len(es) != 1 || len(es[0].Msg) > MaxMessage+30 || !strings.HasSuffix(es[0].Msg, " more bytes)") || !utf8.ValidString(es[0].Msg) {
		t.Errorf("errors = %.200v (%d bytes)", es, len(es[0].Msg))
	}
}

// A stream that does not end (not a regular file) is refused after the
// limit, without its size.
func TestLoadEndlessStream(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	_, err := Load("/dev/zero")
	if err == nil || !strings.Contains(err.Error(), "the mapping file goes on past the limit of 1048576 bytes (1 MiB), that falls here") {
		t.Errorf("Load(/dev/zero) = %v", err)
	}
}
