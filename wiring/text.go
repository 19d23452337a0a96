package wiring

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode"
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
		lw = max(lw, width(cell(i+1)))
		rw = max(rw, width(cell(i+2)))
	}
	fmt.Fprintln(bw, "Wiring of the Raspberry Pi 40-pin header. Pin 1 has the square pad; odd pins")
	fmt.Fprintln(bw, "are the inner row, even pins the row along the board edge.")
	fmt.Fprintln(bw)
	row := func(lp, ln, lnum, rnum, rn, rp string) {
		pad := lw - width(lp)
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

// wrap breaks s into lines of at most cols terminal columns (a longer word
// stays whole), the first starting with first, the others with rest.
func wrap(s string, cols int, first, rest string) []string {
	var out []string
	line, empty := first, true
	for _, word := range strings.Fields(s) {
		if !empty && width(line)+1+width(word) > cols {
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

// width is how many terminal columns s takes: two for a wide (CJK,
// fullwidth, emoji) character, none for a combining mark or a zero-width
// format character, one for the others.
func width(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf):
		case wide(r):
			n += 2
		default:
			n++
		}
	}
	return n
}

// wide reports whether a terminal gives r two columns: the East Asian Wide
// and Fullwidth blocks (Unicode's EastAsianWidth W and F, by block).
func wide(r rune) bool {
	switch {
	case r < 0x1100:
		return false
	case r <= 0x115f, // Hangul Jamo initials
		r >= 0x2e80 && r <= 0x303e, // CJK radicals, punctuation
		r >= 0x3041 && r <= 0x33ff, // kana, CJK symbols
		r >= 0x3400 && r <= 0x4dbf, // CJK extension A
		r >= 0x4e00 && r <= 0x9fff, // CJK ideographs
		r >= 0xa000 && r <= 0xa4cf, // Yi
		r >= 0xac00 && r <= 0xd7a3, // Hangul syllables
		r >= 0xf900 && r <= 0xfaff, // CJK compatibility ideographs
		r >= 0xfe30 && r <= 0xfe4f, // CJK compatibility forms
		r >= 0xff00 && r <= 0xff60, // fullwidth forms
		r >= 0xffe0 && r <= 0xffe6,
		r >= 0x1f300 && r <= 0x1f64f, // pictographs, emoticons
		r >= 0x1f900 && r <= 0x1f9ff,
		r >= 0x20000 && r <= 0x3fffd: // CJK extensions B and on
		return true
	}
	return false
}
