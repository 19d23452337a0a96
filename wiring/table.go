package wiring

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteTable writes the header as it sits on the board, two pins a row
// (odd positions left, even right), with each GPIO's alternate functions
// beside it. It is what `oscgpio pins` prints and fits an 80-column
// terminal.
func WriteTable(w io.Writer) error {
	bw := bufio.NewWriter(w)
	funcs := func(p Pin) string { return strings.Join(p.Functions, ", ") }
	lw, rw := len("FUNCTIONS"), len("FUNCTIONS")
	for i := 0; i < len(header); i += 2 {
		lw = max(lw, len(funcs(header[i])))
		rw = max(rw, len(funcs(header[i+1])))
	}
	fmt.Fprintln(bw, "Raspberry Pi 40-pin header (J8/P1). Pin 1 has the square pad; odd pins are")
	fmt.Fprintln(bw, "the inner row, even pins the row along the board edge.")
	fmt.Fprintln(bw)
	row := func(lf, ln, lp, rp, rn, rf string) {
		line := fmt.Sprintf("%*s  %-6s %3s | %-3s %-6s  %s", lw, lf, ln, lp, rp, rn, rf)
		fmt.Fprintln(bw, strings.TrimRight(line, " "))
	}
	row("FUNCTIONS", "NAME", "PIN", "PIN", "NAME", "FUNCTIONS")
	for i := 0; i < len(header); i += 2 {
		l, r := header[i], header[i+1]
		row(funcs(l), l.Name(), fmt.Sprint(l.Position), fmt.Sprint(r.Position), r.Name(), funcs(r))
	}
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "A mapping file names a GPIO as GPIO17, 17 or pin 11 (the same pin). GPIO0 and")
	fmt.Fprintln(bw, "GPIO1 (pins 27, 28) are reserved for the HAT ID EEPROM: use GPIO2-GPIO27.")
	return bw.Flush()
}
