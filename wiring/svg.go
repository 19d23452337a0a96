package wiring

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"
)

// Geometry of the drawing, in SVG user units (px at scale 1).
const (
	rowH     = 30  // header pitch, one row of two pins
	pinR     = 9   // pin radius
	colHalf  = 15  // half the distance between the two columns of pins
	labelGap = 34  // from the header's centre line to the labels
	labelW   = 150 // the labels' width
	laneW    = 230 // one lane of parts
	margin   = 10
	top      = 84 // y of the first row
	boxW     = 170
	boxIn    = 24 // from a lane's edge to its boxes (the wire before them)
	lineH    = 11 // body text line height in boxes
)

// Colours.
const (
	col3V3  = "#e8890c"
	col5V   = "#d7191c"
	colGND  = "#222"
	colFree = "#c8c8c8"
	colUsed = "#2b8a3e"
	colBus  = "#7b4fa0"
	colWarn = "#d00000"
)

// block is what a lane holds: a part's terminals on one side of the header.
type block struct {
	part  int
	p     Part
	side  int // -1 left (odd pins), +1 right (even pins)
	terms []terminal
	box   bool // a box with labelled terminals (encoder, ADC); else a symbol on one row
	lines []string
	y0    int // top and bottom in px, for lane assignment
	y1    int
	lane  int
}

// rowY is the y of header position pos's row.
func rowY(pos int) int { return top + (pos-1)/2*rowH }

// sideOf is -1 for odd positions (drawn left), +1 for even (right).
func sideOf(pos int) int {
	if pos%2 == 1 {
		return -1
	}
	return 1
}

// layout is the drawing's plan: blocks in lanes, and the canvas size.
type layout struct {
	blocks []*block
	lanes  map[int]int // side -> lanes used (at least 1)
	cx     int         // x of the header's centre line
	width  int
	bottom int // lowest y drawn by the header and the blocks
}

// plan assigns every part's blocks to lanes.
func plan(parts []Part) *layout {
	l := &layout{lanes: map[int]int{-1: 1, 1: 1}}
	for i, p := range parts {
		bySide := map[int][]terminal{}
		for _, t := range p.terminals() {
			if t.pos < 1 || t.pos > len(header) {
				continue
			}
			bySide[sideOf(t.pos)] = append(bySide[sideOf(t.pos)], t)
		}
		for _, side := range []int{-1, 1} {
			ts := bySide[side]
			if len(ts) == 0 {
				continue
			}
			b := &block{part: i, p: p, side: side, terms: ts, box: p.Kind == Encoder || p.Kind == ADC}
			if b.box {
				b.lines = boxLines(p, len(ts) == len(p.terminals()) || sideMost(bySide) == side)
				lo, hi := rowY(ts[0].pos), rowY(ts[0].pos)
				for _, t := range ts {
					lo, hi = min(lo, rowY(t.pos)), max(hi, rowY(t.pos))
				}
				b.y0 = lo - 12
				b.y1 = max(hi+12, b.y0+18+lineH*len(b.lines))
			} else {
				y := rowY(ts[0].pos)
				b.y0, b.y1 = y-13, y+13
			}
			l.blocks = append(l.blocks, b)
		}
	}
	// Symbols nearest the header, then boxes; each in the first lane free
	// over its height.
	order := make([]*block, len(l.blocks))
	copy(order, l.blocks)
	sort.SliceStable(order, func(i, j int) bool {
		if order[i].box != order[j].box {
			return !order[i].box
		}
		return order[i].y0 < order[j].y0
	})
	taken := map[[2]int][][2]int{} // {side, lane} -> y ranges
	for _, b := range order {
		for lane := 0; ; lane++ {
			free := true
			for _, r := range taken[[2]int{b.side, lane}] {
				if b.y0 < r[1]+2 && r[0] < b.y1+2 {
					free = false
					break
				}
			}
			if free {
				b.lane = lane
				taken[[2]int{b.side, lane}] = append(taken[[2]int{b.side, lane}], [2]int{b.y0, b.y1})
				l.lanes[b.side] = max(l.lanes[b.side], lane+1)
				break
			}
		}
	}
	l.cx = margin + l.lanes[-1]*laneW + labelW + labelGap
	l.width = l.cx + labelGap + labelW + l.lanes[1]*laneW + margin
	l.bottom = rowY(39) + rowH/2
	for _, b := range l.blocks {
		l.bottom = max(l.bottom, b.y1)
	}
	return l
}

// sideMost is the side holding most of a part's terminals (left on a tie).
func sideMost(bySide map[int][]terminal) int {
	if len(bySide[1]) > len(bySide[-1]) {
		return 1
	}
	return -1
}

// boxLines is the text of a box: its title, then, on the part's main
// side, its details.
func boxLines(p Part, main bool) []string {
	title := p.Kind.String() + " " + p.Name
	if p.Kind == ADC {
		title = strings.ToUpper(p.Chip) + " " + p.Name
	}
	lines := []string{title}
	if !main {
		return lines
	}
	switch p.Kind {
	case Encoder:
		if p.Address != "" {
			lines = append(lines, p.Address)
		}
		lines = append(lines, "C (common) to GND", p.pullText())
	case ADC:
		lines = append(lines, strings.TrimPrefix(p.chipText(), strings.ToUpper(p.Chip)+" "))
		for _, c := range p.Channels {
			lines = append(lines, fmt.Sprintf("%s%d %s %s", p.channelPrefix(), c.Number, c.Name, c.Address))
		}
	}
	return lines
}

// laneEdge is the x where lane n on side begins (its edge nearer the header).
func (l *layout) laneEdge(side, n int) int {
	return l.cx + side*(labelGap+labelW+n*laneW)
}

// svgWriter writes elements, escaping text.
type svgWriter struct {
	w *bufio.Writer
}

func (s *svgWriter) printf(format string, args ...any) { fmt.Fprintf(s.w, format, args...) }

// esc escapes s for XML text and attributes as encoding/xml's EscapeText
// does: the five markup characters and tab, newline and carriage return as
// character references, and what XML cannot hold (invalid UTF-8, control
// characters) as U+FFFD. (encoding/xml itself would add its package's
// initialisation to every program that draws a diagram.)
func esc(s string) string {
	var b strings.Builder
	for _, r := range s { // invalid UTF-8 comes as U+FFFD
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&#34;")
		case '\'':
			b.WriteString("&#39;")
		case '\t':
			b.WriteString("&#x9;")
		case '\n':
			b.WriteString("&#xA;")
		case '\r':
			b.WriteString("&#xD;")
		default:
			if !xmlChar(r) {
				r = '\uFFFD'
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// xmlChar reports whether XML 1.0 can hold r (its Char production).
func xmlChar(r rune) bool {
	return r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// clip shortens s to n characters, ending it with "…" when cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// text writes a text element. anchor is "start", "middle" or "end".
func (s *svgWriter) text(x, y int, anchor, class, t string) {
	s.printf(`<text x="%d" y="%d" text-anchor="%s" class="%s">%s</text>`+"\n", x, y, anchor, cls(class), esc(t))
}

func (s *svgWriter) line(x1, y1, x2, y2 int, class string) {
	s.printf(`<line x1="%d" y1="%d" x2="%d" y2="%d" class="%s"/>`+"\n", x1, y1, x2, y2, cls(class))
}

// away is the text anchor that makes text run away from the header on side.
func away(side int) string {
	if side < 0 {
		return "end"
	}
	return "start"
}

// style is the drawing's only style sheet: no external fonts or files. Its
// rules apply under the root's class only, and its classes start with
// "wg-": the drawing can be put inline in an HTML page (whose style sheet
// a <style> in an inline <svg> joins) without either changing the other.
const style = `<style>
.oscgpio-wiring text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;font-size:11px;fill:#222}
.oscgpio-wiring .wg-t{font-size:16px;font-weight:bold}.oscgpio-wiring .wg-s{font-size:11px;fill:#555}
.oscgpio-wiring .wg-pn{font-size:8px;fill:#fff;font-weight:bold}.oscgpio-wiring .wg-dk{fill:#333}
.oscgpio-wiring .wg-free{fill:#999}.oscgpio-wiring .wg-nm{font-weight:bold}
.oscgpio-wiring .wg-addr{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:10px;fill:#1f5fbf}
.oscgpio-wiring .wg-sm{font-size:9px;fill:#444}.oscgpio-wiring .wg-bt{font-weight:bold;font-size:11px}
.oscgpio-wiring .wg-warn{fill:#d00000}.oscgpio-wiring .wg-wt{fill:#d00000;font-weight:bold}
.oscgpio-wiring .wg-wire{stroke:#333;stroke-width:1.6;fill:none}.oscgpio-wiring .wg-bus{stroke:#7b4fa0;stroke-width:1.6;fill:none}
.oscgpio-wiring .wg-pwr{stroke:#e8890c;stroke-width:1.6;fill:none}.oscgpio-wiring .wg-gnd{stroke:#222;stroke-width:1.6;fill:none}
.oscgpio-wiring .wg-part{fill:#fff;stroke:#333;stroke-width:1.4}.oscgpio-wiring .wg-ring{fill:none;stroke:#d00000;stroke-width:3}
</style>
`

// cls prefixes each class name with "wg-", so that a page holding the
// drawing inline keeps its own classes apart.
func cls(names string) string {
	f := strings.Fields(names)
	for i := range f {
		f[i] = "wg-" + f[i]
	}
	return strings.Join(f, " ")
}

// SVG writes a drawing of the 40-pin header, as on the board (two columns,
// pin 1 the square pad at top left, odd pins the inner row on the left),
// with every part of parts drawn at its pins: each wired pin labelled with
// the part's name and OSC address, an LED with its resistor to GND, a
// button to GND or 3V3 with its pull, a relay board, a servo, an encoder
// with its common pin to GND, an ADC with its bus, supply and ground pins.
// Power and ground pins are coloured. The warnings of Check are drawn as a
// red ring on the pin and listed, numbered, under the header.
//
// The drawing is a self-contained SVG document (no external fonts, styles
// or scripts) with a viewBox, so it scales to a phone's screen; the same
// parts always give the same bytes. Each pin's shape has id "wg-pin-N" (N the
// header position) and each part's drawing a <title> saying how to wire it;
// the root has class "oscgpio-wiring", and the drawing's own classes start
// with "wg-", so that it can be put inline in an HTML page.
// SVG writes only to w, which makes it usable from an HTTP handler.
func SVG(w io.Writer, parts []Part) error {
	bw := bufio.NewWriter(w)
	s := &svgWriter{w: bw}
	l := plan(parts)
	warns := Check(parts)

	// Which parts use each position, and the warnings on it.
	users := map[int][]*block{}
	for _, b := range l.blocks {
		for _, t := range b.terms {
			users[t.pos] = append(users[t.pos], b)
		}
	}
	warnAt := map[int][]int{} // position -> warning numbers (1-based)
	for i, wn := range warns {
		for _, pos := range warnPositions(parts[wn.Part], wn.Pin) {
			warnAt[pos] = append(warnAt[pos], i+1)
		}
	}

	notesW := l.width - 2*margin
	noteLines := wrapWarnings(warns, notesW)
	height := l.bottom + 40 + 18 // legend
	if len(noteLines) > 0 {
		height += 22 + 15*len(noteLines)
	}
	s.printf(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" style="max-width:100%%;height:auto" role="img" aria-labelledby="wg-title" class="oscgpio-wiring">`+"\n",
		l.width, height, l.width, height)
	s.printf("<title id=\"wg-title\">Wiring of the Raspberry Pi 40-pin header: %d parts, %d warnings</title>\n", len(parts), len(warns))
	s.printf("%s", style)
	s.printf(`<rect width="%d" height="%d" fill="#fff"/>`+"\n", l.width, height)
	s.text(margin, 24, "start", "t", "Raspberry Pi 40-pin header: wiring")
	s.text(margin, 42, "start", "s", "Pin 1 is the square pad. Odd pins (left) are the inner row, even pins (right) the row along the board edge.")
	s.text(l.cx-colHalf, top-24, "middle", "sm", "odd")
	s.text(l.cx+colHalf, top-24, "middle", "sm", "even")

	// The header's body.
	s.printf(`<rect x="%d" y="%d" width="%d" height="%d" rx="4" fill="#1b1b1b"/>`+"\n",
		l.cx-2*colHalf, top-rowH/2, 4*colHalf, 20*rowH)

	// Wires, under everything else.
	for _, b := range l.blocks {
		for _, t := range b.terms {
			y := rowY(t.pos)
			x0 := l.cx + b.side*(colHalf+pinR)
			x1 := l.laneEdge(b.side, b.lane) + b.side*8
			if b.box {
				x1 = l.laneEdge(b.side, b.lane) + b.side*boxIn
			}
			s.line(x0, y, x1, y, wireClass(t.pos, b))
		}
	}

	// Pins and their labels.
	for _, h := range header {
		y := rowY(h.Position)
		x := l.cx + sideOf(h.Position)*colHalf
		fill := pinColour(h, users[h.Position])
		if h.Position == 1 {
			s.printf(`<rect id="wg-pin-1" x="%d" y="%d" width="%d" height="%d" fill="%s" stroke="#fff" stroke-width="1"/>`+"\n",
				x-pinR, y-pinR, 2*pinR, 2*pinR, fill)
		} else {
			s.printf(`<circle id="wg-pin-%d" cx="%d" cy="%d" r="%d" fill="%s" stroke="#fff" stroke-width="1"/>`+"\n",
				h.Position, x, y, pinR, fill)
		}
		pn := "pn"
		if fill == colFree {
			pn = "pn dk"
		}
		s.text(x, y+3, "middle", pn, fmt.Sprint(h.Position))
		mark := ""
		if ns := warnAt[h.Position]; len(ns) > 0 {
			s.printf(`<circle cx="%d" cy="%d" r="%d" class="wg-ring"/>`+"\n", x, y, pinR+3)
			for _, n := range ns {
				mark += fmt.Sprintf("!%d ", n)
			}
		}
		s.pinLabel(l, h, users[h.Position], mark)
	}

	// Parts.
	for _, b := range l.blocks {
		s.printf("<g id=\"wg-part-%d-%s\">\n<title>%s</title>\n", b.part, sideName(b.side), esc(b.p.howLine()))
		if b.box {
			s.box(l, b)
		} else {
			s.symbol(l, b)
		}
		s.printf("</g>\n")
	}

	// Legend and warnings.
	y := l.bottom + 30
	x := margin
	for _, k := range []struct{ colour, name string }{
		{col3V3, "3V3"}, {col5V, "5V"}, {colGND, "GND"}, {colUsed, "GPIO in use"}, {colBus, "bus pin in use"}, {colFree, "free GPIO"},
	} {
		s.printf(`<circle cx="%d" cy="%d" r="6" fill="%s"/>`+"\n", x+6, y-4, k.colour)
		s.text(x+16, y, "start", "sm", k.name)
		x += 26 + 6*len(k.name)
	}
	s.printf(`<circle cx="%d" cy="%d" r="8" class="wg-ring"/>`+"\n", x+6, y-4)
	s.text(x+20, y, "start", "sm", "warning")
	if len(noteLines) > 0 {
		y += 28
		s.text(margin, y, "start", "wt", fmt.Sprintf("Warnings (%d)", len(warns)))
		for _, nl := range noteLines {
			y += 15
			x := margin
			if strings.HasPrefix(nl, " ") { // a continued warning
				x += 14
			}
			s.text(x, y, "start", "warn", strings.TrimSpace(nl))
		}
	}
	s.printf("</svg>\n")
	return bw.Flush()
}

func sideName(side int) string {
	if side < 0 {
		return "left"
	}
	return "right"
}

// warnPositions is where a warning about pin of part p is drawn: the pin,
// or for a 5 V ADC its bus pins.
func warnPositions(p Part, pin Pin) []int {
	if (p.Kind == ADC || p.Kind == Encoder) && p.fiveVolts() {
		var ps []int
		for _, q := range p.Pins {
			ps = append(ps, q.Position)
		}
		return ps
	}
	return []int{pin.Position}
}

// wrapWarnings numbers the warnings and wraps them to width px.
func wrapWarnings(ws []Warning, width int) []string {
	perLine := max(40, width/6)
	var out []string
	for i, w := range ws {
		prefix := fmt.Sprintf("%d. ", i+1)
		out = append(out, wrap(w.Msg, perLine, prefix, strings.Repeat(" ", len(prefix)))...)
	}
	return out
}

// wireClass is the style of the wire from position pos to block b.
func wireClass(pos int, b *block) string {
	h := header[pos-1]
	switch h.Kind {
	case Power3V3, Power5V:
		return "pwr"
	case Ground:
		return "gnd"
	}
	if b.p.Kind == ADC {
		return "bus"
	}
	return "wire"
}

// pinColour is a pin's fill: its supply's colour, or whether a part uses it.
func pinColour(h Pin, users []*block) string {
	switch h.Kind {
	case Power3V3:
		return col3V3
	case Power5V:
		return col5V
	case Ground:
		return colGND
	}
	if len(users) == 0 {
		return colFree
	}
	for _, b := range users {
		if b.p.Kind != ADC {
			return colUsed
		}
	}
	return colBus
}

// pinLabel writes the label beside a pin: its name, then the parts on it
// and their addresses.
func (s *svgWriter) pinLabel(l *layout, h Pin, users []*block, mark string) {
	side := sideOf(h.Position)
	x := l.cx + side*labelGap
	y := rowY(h.Position)
	anchor := "start"
	if side < 0 {
		anchor = "end"
	}
	if len(users) == 0 {
		class := "free"
		switch h.Kind {
		case Power3V3, Power5V, Ground:
			class = "nm"
		}
		s.text(x, y+4, anchor, class, h.Name())
		return
	}
	var names, addrs []string
	for _, b := range users {
		for _, t := range b.terms {
			if t.pos != h.Position {
				continue
			}
			n := b.p.Name
			if t.label != "" {
				n += " " + t.label
			}
			names = append(names, n)
			if b.p.Address != "" && !contains(addrs, b.p.Address) {
				addrs = append(addrs, b.p.Address)
			}
		}
	}
	class := "nm"
	if mark != "" {
		class = "wt"
	}
	s.text(x, y-4, anchor, class, clip(mark+h.Name()+" · "+strings.Join(names, ", "), 26))
	if len(addrs) > 0 {
		s.text(x, y+11, anchor, "addr", clip(strings.Join(addrs, ", "), 26))
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// box draws a block as a box with its terminals labelled on the header's
// side and its lines of text.
func (s *svgWriter) box(l *layout, b *block) {
	edge := l.laneEdge(b.side, b.lane)
	near := edge + b.side*boxIn
	far := near + b.side*boxW
	x := min(near, far)
	s.printf(`<rect x="%d" y="%d" width="%d" height="%d" rx="3" class="wg-part"/>`+"\n", x, b.y0, boxW, b.y1-b.y0)
	for _, t := range b.terms {
		s.text(near+b.side*4, rowY(t.pos)+4, away(b.side), "sm", t.label)
	}
	tx := near + b.side*44
	for i, line := range b.lines {
		class := "sm"
		if i == 0 {
			class = "bt"
		}
		s.text(tx, b.y0+14+i*lineH, away(b.side), class, clip(line, 22))
	}
}

// symbol draws a one-pin part on its row: the symbol, then its name and a
// note.
func (s *svgWriter) symbol(l *layout, b *block) {
	y := rowY(b.terms[0].pos)
	e := l.laneEdge(b.side, b.lane) + b.side*8 // where the wire arrives
	X := func(dx int) int { return e + b.side*dx }
	p := b.p
	var note string
	switch p.Kind {
	case LED:
		s.line(X(0), y, X(10), y, "wire")
		s.printf(`<rect x="%d" y="%d" width="28" height="8" class="wg-part"/>`+"\n", min(X(10), X(38)), y-4)
		s.text(X(24), y-7, "middle", "sm", "330Ω")
		s.line(X(38), y, X(50), y, "wire")
		if p.ActiveLow { // anode away from the pin, towards 3V3
			s.printf(`<path d="M%d %dL%d %dL%d %dZ" fill="#f2c500" stroke="#333"/>`+"\n", X(62), y-6, X(62), y+6, X(50), y)
			s.line(X(50), y-6, X(50), y+6, "wire")
		} else {
			s.printf(`<path d="M%d %dL%d %dL%d %dZ" fill="#f2c500" stroke="#333"/>`+"\n", X(50), y-6, X(50), y+6, X(62), y)
			s.line(X(62), y-6, X(62), y+6, "wire")
		}
		s.line(X(53), y-9, X(57), y-14, "wire")
		s.line(X(58), y-8, X(62), y-13, "wire")
		s.line(X(62), y, X(74), y, "wire")
		if p.ActiveLow {
			s.supply(X(74), y, b.side, "3V3")
			note = "on = low"
		} else {
			s.supply(X(74), y, b.side, "GND")
			note = "to GND"
		}
		if p.PWM {
			note = "PWM, " + note
		}
	case Button:
		s.line(X(0), y, X(14), y, "wire")
		s.printf(`<circle cx="%d" cy="%d" r="2.5" class="wg-part"/><circle cx="%d" cy="%d" r="2.5" class="wg-part"/>`+"\n", X(16), y, X(40), y)
		s.line(X(16), y-2, X(38), y-10, "wire")
		s.line(X(42), y, X(74), y, "wire")
		to := "GND"
		if p.Pull == "down" || p.Pull != "up" && !p.ActiveLow {
			to = "3V3"
		}
		s.supply(X(74), y, b.side, to)
		note = map[string]string{"up": "pull-up", "down": "pull-down"}[p.Pull]
		if note == "" {
			note = "no pull: add 10k"
		}
	case Relay, Servo, Sensor:
		word := map[PartKind]string{Relay: "RELAY", Servo: "SERVO", Sensor: "SENSOR"}[p.Kind]
		pinName := map[PartKind]string{Relay: "IN", Servo: "sig", Sensor: "OUT"}[p.Kind]
		s.line(X(0), y, X(14), y, "wire")
		s.printf(`<rect x="%d" y="%d" width="70" height="20" rx="3" class="wg-part"/>`+"\n", min(X(14), X(84)), y-10)
		s.text(X(49), y+4, "middle", "bt", word)
		s.text(X(7), y-4, "middle", "sm", pinName)
		switch p.Kind {
		case Relay:
			note = "VCC 5V"
			if p.Volts > 0 && !p.fiveVolts() {
				note = "VCC 3V3"
			}
			if p.ActiveLow {
				note = "on = low, " + note
			}
		case Servo:
			note = "V+ 5V supply"
		case Sensor:
			note = "VCC 3V3"
			if p.fiveVolts() {
				note = "VCC 5V"
			}
		}
	default:
		s.line(X(0), y, X(14), y, "wire")
		s.printf(`<rect x="%d" y="%d" width="70" height="20" rx="3" class="wg-part"/>`+"\n", min(X(14), X(84)), y-10)
		s.text(X(49), y+4, "middle", "bt", p.Kind.String())
	}
	if p.fiveVolts() {
		note = "5 V! " + note
	}
	s.text(X(108), y-2, away(b.side), "bt", clip(p.Kind.String()+" "+p.Name, 16))
	s.text(X(108), y+10, away(b.side), "sm", clip(note, 20))
}

// supply draws the end of a wire at x: a ground symbol, or a bar for 3V3,
// with its name.
func (s *svgWriter) supply(x, y, side int, name string) {
	if name == "GND" {
		s.line(x, y-7, x, y+7, "gnd")
		s.line(x+side*3, y-4, x+side*3, y+4, "gnd")
		s.line(x+side*6, y-2, x+side*6, y+2, "gnd")
	} else {
		s.line(x, y-7, x, y+7, "pwr")
	}
	s.text(x+side*9, y+4, away(side), "sm", name)
}
