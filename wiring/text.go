package wiring

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// textWidth is the width Text wraps its sentences to.
const textWidth = 80

// Text writes the drawing of SVG for a terminal: the header as on the board
// (odd pins left, even right) with the part on each pin and its address
// beside it, then how to wire each part, pin by pin, then the warnings of
// Check, numbered; a pin with a warning is marked !N. Sentences are wrapped
// to 80 columns; the header's rows are as wide as the labels need.
func Text(w io.Writer, parts []Part) error {
	bw := bufio.NewWriter(w)
	warns := Check(parts)
	labels := map[int][]string{}
	for _, p := range parts {
		for _, t := range p.terminals() {
			n := p.Name
			if t.label != "" {
				n += " " + t.label
			}
			if p.Address != "" && (p.Kind != Encoder || t.label == "A") {
				n += " " + p.Address
			}
			labels[t.pos] = append(labels[t.pos], n)
		}
	}
	marks := map[int][]string{}
	for i, wn := range warns {
		for _, pos := range warnPositions(parts[wn.Part], wn.Pin) {
			marks[pos] = append(marks[pos], fmt.Sprintf("!%d", i+1))
		}
	}
	cell := func(pos int) string {
		s := strings.Join(labels[pos], "; ")
		if m := marks[pos]; len(m) > 0 {
			s = strings.Join(m, " ") + " " + s
		}
		return s
	}
	lw, rw := len("PARTS"), len("PARTS")
	for i := 0; i < len(header); i += 2 {
		lw = max(lw, utf8.RuneCountInString(cell(i+1)))
		rw = max(rw, utf8.RuneCountInString(cell(i+2)))
	}
	fmt.Fprintln(bw, "Wiring of the Raspberry Pi 40-pin header. Pin 1 has the square pad; odd pins")
	fmt.Fprintln(bw, "are the inner row, even pins the row along the board edge.")
	fmt.Fprintln(bw)
	row := func(lp, ln, lnum, rnum, rn, rp string) {
		pad := lw - utf8.RuneCountInString(lp)
		line := fmt.Sprintf("%s%s  %-6s %3s | %-3s %-6s  %s", strings.Repeat(" ", pad), lp, ln, lnum, rnum, rn, rp)
		fmt.Fprintln(bw, strings.TrimRight(line, " "))
	}
	row("PARTS", "NAME", "PIN", "PIN", "NAME", "PARTS")
	for i := 0; i < len(header); i += 2 {
		l, r := header[i], header[i+1]
		row(cell(l.Position), l.Name(), fmt.Sprint(l.Position), fmt.Sprint(r.Position), r.Name(), cell(r.Position))
	}
	if len(parts) == 0 {
		fmt.Fprintln(bw, "\nNothing is wired.")
		return bw.Flush()
	}
	fmt.Fprintln(bw, "\nHow to wire each part:")
	for _, p := range parts {
		head, steps := p.how()
		fmt.Fprintf(bw, "  %s:\n", head)
		for _, st := range steps {
			for _, line := range wrap(st, textWidth, "    - ", "      ") {
				fmt.Fprintln(bw, line)
			}
		}
	}
	if len(warns) > 0 {
		fmt.Fprintf(bw, "\nWarnings (%d):\n", len(warns))
		for i, wn := range warns {
			prefix := fmt.Sprintf("  !%d ", i+1)
			for _, line := range wrap(wn.Msg, textWidth, prefix, strings.Repeat(" ", len(prefix))) {
				fmt.Fprintln(bw, line)
			}
		}
	}
	return bw.Flush()
}

// wrap breaks s into lines of at most width runes (a longer word stays
// whole), the first starting with first, the others with rest.
func wrap(s string, width int, first, rest string) []string {
	var out []string
	line, empty := first, true
	for _, word := range strings.Fields(s) {
		if !empty && utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > width {
			out = append(out, line)
			line, empty = rest, true
		}
		if !empty {
			line += " "
		}
		line += word
		empty = false
	}
	return append(out, line)
}
