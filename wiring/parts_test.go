package wiring

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

func gpio(t testing.TB, n int) Pin {
	t.Helper()
	p, ok := ByBCM(n)
	if !ok {
		t.Fatalf("no GPIO%d", n)
	}
	return p
}

// i2c and spi are ADC parts on the header's buses.
func i2c(t testing.TB, name string) Part {
	return Part{Kind: ADC, Name: name, Chip: "ads1115", ChipAddr: "0x48", Pins: []Pin{gpio(t, 2), gpio(t, 3)}}
}

func spi(t testing.TB, name string, ce int) Part {
	cs := 8
	if ce == 1 {
		cs = 7
	}
	return Part{Kind: ADC, Name: name, Chip: "mcp3008", Pins: []Pin{gpio(t, 10), gpio(t, 9), gpio(t, 11), gpio(t, cs)}}
}

func TestCheck(t *testing.T) {
	button := func(n int) Part {
		return Part{Kind: Button, Name: "b", Address: "/b", Pins: []Pin{gpio(t, n)}, Pull: "up", ActiveLow: true}
	}
	led := func(n int) Part { return Part{Kind: LED, Name: "led", Address: "/led", Pins: []Pin{gpio(t, n)}} }
	for _, c := range []struct {
		name  string
		parts []Part
		want  []string // "part index: message prefix"
	}{
		{"button on I2C SDA", []Part{button(2), i2c(t, "knobs")},
			[]string{`0: GPIO2 (pin 3) is I2C1 SDA, which adc "knobs" needs for its bus: move button "b" to another GPIO`}},
		{"ADC listed first", []Part{i2c(t, "knobs"), led(3)},
			[]string{`1: GPIO3 (pin 5) is I2C1 SCL, which adc "knobs" needs for its bus: move LED "led" to another GPIO`}},
		{"button beside the I2C bus", []Part{button(4), i2c(t, "knobs")}, nil},
		{"button on SPI CE0", []Part{spi(t, "faders", 0), button(8)},
			[]string{`1: GPIO8 (pin 24) is SPI0 CE0, which adc "faders" needs for its bus`}},
		{"button on CE0 while the chip uses CE1", []Part{spi(t, "faders", 1), button(8)}, nil},
		{"button on SPI MISO", []Part{spi(t, "faders", 1), button(9)},
			[]string{`1: GPIO9 (pin 21) is SPI0 MISO, which adc "faders" needs`}},
		{"pin used twice", []Part{led(17), button(17)},
			[]string{`1: GPIO17 (pin 11) is wired to button "b" to LED "led" too: each GPIO drives or reads one part`}},
		{"encoder on one pin twice", []Part{{Kind: Encoder, Name: "jog", Pins: []Pin{gpio(t, 5), gpio(t, 5)}}},
			[]string{`0: GPIO5 (pin 29) is wired to encoder "jog" twice`}},
		{"two pins, two parts", []Part{led(17), button(27)}, nil},
		{"two I2C chips share the bus", []Part{i2c(t, "a"), i2c(t, "b")}, nil},
		{"two SPI chips on one chip select", []Part{spi(t, "a", 0), spi(t, "b", 0)},
			[]string{`1: GPIO8 (pin 24) is CE0 of adc "a" too: give one of them the other chip select`}},
		{"two SPI chips, two chip selects", []Part{spi(t, "a", 0), spi(t, "b", 1)}, nil},
		{"5 V LED", []Part{{Kind: LED, Name: "l", Pins: []Pin{gpio(t, 17)}, Volts: 5}},
			[]string{`0: LED "l" is marked volts: 5, but GPIO17 (pin 11) drives 3.3 V: a 5 V input may not see it as high`}},
		{"5 V relay", []Part{{Kind: Relay, Name: "r", Pins: []Pin{gpio(t, 22)}, Volts: 5}},
			[]string{`0: relay "r" is marked volts: 5, but GPIO22 (pin 15) drives 3.3 V: a 5 V relay board may not switch from it`}},
		{"5 V button", []Part{{Kind: Button, Name: "b", Pins: []Pin{gpio(t, 27)}, Volts: 5}},
			[]string{`0: button "b" is marked volts: 5, but GPIO27 (pin 13) takes 3.3 V at most: 5 V on it can damage the Pi`}},
		{"5 V encoder", []Part{{Kind: Encoder, Name: "e", Pins: []Pin{gpio(t, 5), gpio(t, 6)}, Volts: 5}},
			[]string{`0: encoder "e" is marked volts: 5, but GPIO5 (pin 29) and GPIO6 (pin 31) take 3.3 V at most: 5 V on them`}},
		{"5 V ADC", []Part{func() Part { p := spi(t, "f", 0); p.Volts = 5; return p }()},
			[]string{`0: adc "f" is marked volts: 5, but its bus pins GPIO10 (pin 19), GPIO9 (pin 21), GPIO11 (pin 23) and GPIO8 (pin 24) are 3.3 V`}},
		{"3.3 V and unsaid", []Part{{Kind: Sensor, Name: "s", Pins: []Pin{gpio(t, 24)}, Volts: 3.3}, i2c(t, "k"), led(17)}, nil},
		{"none", nil, nil},
	} {
		ws := Check(c.parts)
		var got []string
		for _, w := range ws {
			got = append(got, fmt.Sprintf("%d: %s", w.Part, w.Msg))
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: warnings\n%s\nwant\n%s", c.name, strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			continue
		}
		for i := range got {
			if !strings.HasPrefix(got[i], c.want[i]) {
				t.Errorf("%s: warning %d\n got: %s\nwant: %s...", c.name, i, got[i], c.want[i])
			}
			if ws[i].String() != ws[i].Msg {
				t.Errorf("String() = %q", ws[i].String())
			}
		}
	}
}

// Check lists warnings in the order of the parts, whatever found them.
func TestCheckOrder(t *testing.T) {
	parts := []Part{
		{Kind: Button, Name: "first", Pins: []Pin{gpio(t, 2)}, Volts: 5},
		{Kind: LED, Name: "second", Pins: []Pin{gpio(t, 17)}, Volts: 5},
		i2c(t, "bus"),
	}
	var got []int
	for _, w := range Check(parts) {
		got = append(got, w.Part)
	}
	if fmt.Sprint(got) != "[0 0 1]" {
		t.Errorf("parts of the warnings %v, want [0 0 1]", got)
	}
}

// wellFormed decodes the whole document with encoding/xml.
func wellFormed(t *testing.T, doc []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	depth, roots := 0, 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, doc)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if e.Name.Local != "svg" || e.Name.Space != "http://www.w3.org/2000/svg" {
					t.Errorf("root %v", e.Name)
				}
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if roots != 1 || depth != 0 {
		t.Errorf("%d roots, depth %d at the end", roots, depth)
	}
}

// every kind of part, with a name that needs escaping, a warning, and parts
// that must share lanes.
func everyPart(t testing.TB) []Part {
	return []Part{
		{Kind: LED, Name: `a<b>&"c"`, Address: "/led", Pins: []Pin{gpio(t, 17)}},
		{Kind: LED, Name: "dim", Address: "/dim", Pins: []Pin{gpio(t, 18)}, PWM: true, ActiveLow: true},
		{Kind: Relay, Name: "smoke", Address: "/cue/relay/1", Pins: []Pin{gpio(t, 22)}, ActiveLow: true},
		{Kind: Servo, Name: "arm", Address: "/arm", Pins: []Pin{gpio(t, 19)}},
		{Kind: Button, Name: "go", Address: "/go", Pins: []Pin{gpio(t, 4)}, Pull: "up", ActiveLow: true},
		{Kind: Button, Name: "down", Address: "/down", Pins: []Pin{gpio(t, 23)}, Pull: "down"},
		{Kind: Button, Name: "float", Address: "/float", Pins: []Pin{gpio(t, 25)}, Pull: "none"},
		{Kind: Sensor, Name: "pir", Address: "/pir", Pins: []Pin{gpio(t, 24)}, Pull: "down", Volts: 5},
		{Kind: Encoder, Name: "jog", Address: "/jog", Pins: []Pin{gpio(t, 5), gpio(t, 6)}, Pull: "up"},
		{Kind: Encoder, Name: "split", Address: "/split", Pins: []Pin{gpio(t, 13), gpio(t, 16)}, Pull: "up"},
		{Kind: ADC, Name: "knobs", Chip: "ads1115", ChipAddr: "0x48", Pins: []Pin{gpio(t, 2), gpio(t, 3)},
			Channels: []Channel{{0, "cutoff", "/cutoff"}, {1, "res", "/res"}}},
		{Kind: ADC, Name: "faders", Chip: "mcp3008", Pins: []Pin{gpio(t, 10), gpio(t, 9), gpio(t, 11), gpio(t, 8)},
			Channels: []Channel{{7, "f8", "/fader/8"}}},
	}
}

func TestSVG(t *testing.T) {
	parts := everyPart(t)
	var a, b bytes.Buffer
	if err := SVG(&a, parts); err != nil {
		t.Fatal(err)
	}
	if err := SVG(&b, parts); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two drawings of the same parts differ")
	}
	doc := a.String()
	wellFormed(t, a.Bytes())
	for _, want := range []string{
		`viewBox="0 0 `, `<rect id="wg-pin-1" `, `<circle id="wg-pin-40" `,
		`a&lt;b&gt;&amp;`,      // escaped
		`class="wg-ring"`,      // the warning of the 5 V sensor
		`sensor &#34;pir&#34;`, // in its note
		`>Warnings (1)</text>`,
		`>MCP3008 faders</text>`, `>CH7 f8 /fader/8</text>`, `>A0 cutoff /cutoff</text>`,
		`>RELAY</text>`, `>SERVO</text>`, `>SENSOR</text>`,
		`>GPIO2 · knobs SDA</text>`, `>3V3 · knobs VDD</text>`, `>3V3 · faders VDD</text>`,
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("the drawing has no %s", want)
		}
	}
	for pos := 1; pos <= 40; pos++ {
		if !strings.Contains(doc, fmt.Sprintf(`id="wg-pin-%d" `, pos)) {
			t.Errorf("no wg-pin-%d", pos)
		}
	}
	for _, no := range []string{"http://", "https://", "<script", "@import", "url(", "<image"} {
		if strings.Contains(strings.Replace(doc, `xmlns="http://www.w3.org/2000/svg"`, "", 1), no) {
			t.Errorf("the drawing refers to something outside it: %s", no)
		}
	}
	// Parts as a caller might build them wrong: no pins, a zero Pin, no
	// kind. They are drawn as far as they can be, without a panic.
	var odd bytes.Buffer
	oddParts := []Part{{Kind: LED, Name: "none"}, {Kind: Button, Pins: []Pin{{}}}, {Name: "kindless", Pins: []Pin{gpio(t, 17)}},
		{Kind: ADC, Name: "busless", Pins: []Pin{gpio(t, 4)}, Volts: 5}}
	if err := SVG(&odd, oddParts); err != nil {
		t.Fatal(err)
	}
	wellFormed(t, odd.Bytes())
	if err := Text(&odd, oddParts); err != nil {
		t.Fatal(err)
	}
	// The empty mapping: the header alone.
	var empty bytes.Buffer
	if err := SVG(&empty, nil); err != nil {
		t.Fatal(err)
	}
	wellFormed(t, empty.Bytes())
	if strings.Contains(empty.String(), "Warnings") || strings.Count(empty.String(), `id="wg-pin-`) != 40 {
		t.Errorf("empty drawing:\n%s", empty.String())
	}
}

// The layout puts parts where they fit: no two blocks of one lane overlap,
// and a part alone on its rows stays in the lane by the header.
func TestPlan(t *testing.T) {
	l := plan(everyPart(t))
	for i, a := range l.blocks {
		for _, b := range l.blocks[i+1:] {
			if a.side == b.side && a.lane == b.lane && a.y0 < b.y1 && b.y0 < a.y1 {
				t.Errorf("%s and %s overlap in lane %d of side %d", a.p.Name, b.p.Name, a.lane, a.side)
			}
		}
	}
	for _, b := range l.blocks {
		if b.p.Name == "dim" && b.lane != 0 {
			t.Errorf("dim in lane %d", b.lane)
		}
		if b.p.Name == "knobs" && b.lane == 0 {
			t.Errorf("the I2C box is in lane 0 over the LED on GPIO4's row")
		}
	}
	if l.width <= 0 || l.bottom < rowY(40) {
		t.Errorf("canvas %d wide, bottom %d", l.width, l.bottom)
	}
}

func TestWriteErrors(t *testing.T) {
	if err := SVG(failWriter{}, everyPart(t)); err == nil || err.Error() != "disk full" {
		t.Errorf("SVG to a failing writer: %v", err)
	}
	if err := Text(failWriter{}, everyPart(t)); err == nil || err.Error() != "disk full" {
		t.Errorf("Text to a failing writer: %v", err)
	}
}

func TestText(t *testing.T) {
	var b bytes.Buffer
	if err := Text(&b, everyPart(t)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"         knobs VDD  3V3      1 | 2   5V\n",
		"        faders VDD  3V3     17 | 18  GPIO24  !1 pir /pir\n",
		"  LED \"dim\" /dim:\n    - 3V3 (pin 17) -> LED long leg (anode)\n    - LED short leg (cathode) -> 330 ohm resistor -> GPIO18 (pin 12)\n    - on drives the pin low\n    - PWM: the duty cycle sets the brightness\n",
		"  relay \"smoke\" /cue/relay/1:\n    - relay board IN -> GPIO22 (pin 15)\n    - VCC -> 5V (pin 2)\n",
		"  button \"down\" /down:\n    - GPIO23 (pin 16) -> button -> 3V3 (pin 17)\n    - internal pull-down, pressed reads high\n",
		"    - add a 10k resistor from the pin to the other supply, or set pull:\n",
		"  encoder \"jog\" /jog:\n    - A -> GPIO5 (pin 29)\n    - B -> GPIO6 (pin 31)\n    - C (common) -> GND (pin 30)\n",
		"  adc \"faders\" (MCP3008 on SPI0 CE0):\n    - VDD -> 3V3 (pin 17)\n    - DIN -> GPIO10 (pin 19)\n",
		"    - CH7: f8 /fader/8\n",
		"\nWarnings (1):\n  !1 sensor \"pir\" is marked volts: 5, but GPIO24 (pin 18) takes 3.3 V at most: 5\n     V on it",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the text has no\n%s", want)
		}
	}
	// Sentences wrap at 80 columns; the header's rows may be wider.
	for _, line := range strings.Split(out, "\n") {
		if utf8.RuneCountInString(line) > textWidth && !strings.Contains(line, " | ") {
			t.Errorf("line over %d columns: %q", textWidth, line)
		}
	}
	b.Reset()
	if err := Text(&b, nil); err != nil || !strings.HasSuffix(b.String(), "\nNothing is wired.\n") {
		t.Errorf("empty: %v\n%s", err, b.String())
	}
}

// A terminal gives CJK characters two columns and combining marks none: the
// header's rows stay aligned with such names, and sentences holding them
// still fit 80 columns.
func TestTextWideNames(t *testing.T) {
	cols := func(s string) int { // the test's own count, for the characters used here
		n := 0
		for _, r := range s {
			switch {
			case r >= 0x3040 && r <= 0x30ff, r >= 0x4e00 && r <= 0x9fff:
				n += 2
			case r == 0x0301:
			default:
				n++
			}
		}
		return n
	}
	parts := []Part{
		{Kind: LED, Name: "舞台照明ランプ", Address: "/照明", Pins: []Pin{gpio(t, 17)}},
		{Kind: Button, Name: "cafe\u0301", Address: "/go", Pins: []Pin{gpio(t, 4)}, Pull: "up", ActiveLow: true},
		{Kind: Relay, Name: "ascii", Address: "/relay", Pins: []Pin{gpio(t, 22)}},
		{Kind: Sensor, Name: strings.Repeat("人感センサー", 4), Address: "/pir", Pins: []Pin{gpio(t, 24)}, Pull: "down", Volts: 5},
	}
	var b bytes.Buffer
	if err := Text(&b, parts); err != nil {
		t.Fatal(err)
	}
	bar := -1
	for _, line := range strings.Split(b.String(), "\n") {
		if i := strings.Index(line, " | "); i >= 0 {
			if c := cols(line[:i]); bar < 0 {
				bar = c
			} else if c != bar {
				t.Errorf("the header's bar at column %d, not %d, in\n%s", c, bar, line)
			}
		} else if cols(line) > textWidth {
			t.Errorf("line over %d columns: %q", textWidth, line)
		}
	}
}

func TestWrap(t *testing.T) {
	got := wrap("one two three four", 9, "- ", "  ")
	if strings.Join(got, "|") != "- one two|  three|  four" {
		t.Errorf("wrap = %q", got)
	}
	if got := wrap("averyveryverylongword x", 5, "", ""); strings.Join(got, "|") != "averyveryverylongword|x" {
		t.Errorf("wrap long word = %q", got)
	}
}

// BenchmarkSVG draws twelve parts of every kind (a dashboard may draw on
// each page load).
func BenchmarkSVG(b *testing.B) {
	parts := everyPart(b)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := SVG(&buf, parts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/svg")
}
