package wiring

import (
	"fmt"
	"strings"
)

// What the diagrams share: which header pins each part is wired to, under
// which of the part's own pin names, and a sentence saying how to wire it.

// terminal is one wire between a part and the header.
type terminal struct {
	pos   int    // header position 1..40
	label string // the part's pin: "SDA", "A", "VDD"; "" for a one-pin part
}

// Fixed positions.
const (
	pos3V3I2C = 1  // 3V3 next to the I2C pins
	pos5VI2C  = 2  // 5V next to them
	posGNDI2C = 9  // a GND in the same row as the I2C pins
	pos3V3SPI = 17 // 3V3 next to the SPI pins
	pos5VSPI  = 4
	posGNDSPI = 25 // GND in the same row as the SPI pins
)

// isSPI reports whether an ADC part is on SPI (else I2C).
func (p Part) isSPI() bool { return strings.HasPrefix(p.bus(), "SPI") }

// chipPin is the chip's own name of the bus line fn ("SPI0 MOSI"): an
// MCP3008's DIN, DOUT, CLK, CS; else the bus's name (SDA, MOSI, CS).
func (p Part) chipPin(fn string) string {
	_, line, _ := strings.Cut(fn, " ")
	if strings.HasPrefix(line, "CE") {
		line = "CS"
	}
	if strings.EqualFold(p.Chip, "mcp3008") {
		switch line {
		case "MOSI":
			return "DIN"
		case "MISO":
			return "DOUT"
		case "SCLK":
			return "CLK"
		}
	}
	return line
}

// power returns the positions of an ADC's supply and ground.
func (p Part) power() (vdd, gnd int) {
	if p.isSPI() {
		vdd, gnd = pos3V3SPI, posGNDSPI
		if p.fiveVolts() {
			vdd = pos5VSPI
		}
		return vdd, gnd
	}
	vdd, gnd = pos3V3I2C, posGNDI2C
	if p.fiveVolts() {
		vdd = pos5VI2C
	}
	return vdd, gnd
}

// terminals lists the part's wires to the header, in the order of its pins.
func (p Part) terminals() []terminal {
	var ts []terminal
	switch p.Kind {
	case Encoder:
		for i, pin := range p.Pins {
			ts = append(ts, terminal{pin.Position, string(rune('A' + i))})
		}
	case ADC:
		vdd, gnd := p.power()
		ts = append(ts, terminal{vdd, "VDD"})
		b := p.bus()
		for _, pin := range p.Pins {
			ts = append(ts, terminal{pin.Position, p.chipPin(busFunction(pin, b))})
		}
		ts = append(ts, terminal{gnd, "GND"})
	default:
		for _, pin := range p.Pins {
			ts = append(ts, terminal{pin.Position, ""})
		}
	}
	return ts
}

// nearestGround is the GND position closest to position pos, preferring
// the same row of the header.
func nearestGround(pos int) int {
	best, bestD := 0, 1<<30
	for _, h := range header {
		if h.Kind != Ground {
			continue
		}
		d := 2 * abs((h.Position-1)/2-(pos-1)/2)
		if h.Position%2 != pos%2 {
			d++ // the other row: a little further
		}
		if d < bestD {
			best, bestD = h.Position, d
		}
	}
	return best
}

// nearest3V3 is the 3V3 position closest to pos.
func nearest3V3(pos int) int {
	if (pos-1)/2 > 4 { // nearer row 8 (pin 17) than row 0 (pin 1)
		return 17
	}
	return 1
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// at names a header position: "GND (pin 9)".
func at(pos int) string {
	p, _ := ByPosition(pos)
	return p.String()
}

// pullText says what the part's pull is.
func (p Part) pullText() string {
	switch p.Pull {
	case "up":
		return "internal pull-up"
	case "down":
		return "internal pull-down"
	}
	return "no internal pull"
}

// summary is the part's kind, name and address: `LED "led" /led`.
func (p Part) summary() string {
	s := p.label()
	if p.Address != "" {
		s += " " + p.Address
	}
	return s
}

// how says how to wire the part, pin by pin: what it is, then the steps.
func (p Part) how() (string, []string) {
	head := p.summary()
	if p.Kind == ADC {
		head += " (" + p.chipText() + ")"
	}
	if len(p.Pins) == 0 {
		return head, []string{"no pin"}
	}
	pin := p.Pins[0]
	gnd := at(nearestGround(pin.Position))
	v3 := at(nearest3V3(pin.Position))
	switch p.Kind {
	case LED:
		steps := []string{
			fmt.Sprintf("%s -> 330 ohm resistor -> LED long leg (anode)", pin),
			fmt.Sprintf("LED short leg (cathode) -> %s", gnd),
		}
		if p.ActiveLow {
			steps = []string{
				fmt.Sprintf("%s -> LED long leg (anode)", v3),
				fmt.Sprintf("LED short leg (cathode) -> 330 ohm resistor -> %s", pin),
				"on drives the pin low",
			}
		}
		if p.PWM {
			steps = append(steps, "PWM: the duty cycle sets the brightness")
		}
		return head, steps
	case Relay:
		vcc := at(pos5VI2C)
		if p.Volts > 0 && !p.fiveVolts() {
			vcc = v3
		}
		on := "on drives IN high"
		if p.ActiveLow {
			on = "on drives IN low (most relay boards)"
		}
		return head, []string{"relay board IN -> " + pin.String(), "VCC -> " + vcc, "GND -> " + gnd, on}
	case Servo:
		return head, []string{"signal -> " + pin.String(),
			"V+ -> a 5 V supply able to give the servo's current (not the Pi's 3V3)",
			"the supply's GND -> " + gnd + " too"}
	case Button:
		to, reads := gnd, "pressed reads low"
		if p.Pull == "down" || p.Pull != "up" && !p.ActiveLow {
			to, reads = v3, "pressed reads high"
		}
		steps := []string{fmt.Sprintf("%s -> button -> %s", pin, to), p.pullText() + ", " + reads}
		if p.Pull != "up" && p.Pull != "down" {
			steps = append(steps, "add a 10k resistor from the pin to the other supply, or set pull:")
		}
		return head, steps
	case Sensor:
		vcc := v3
		if p.fiveVolts() {
			vcc = at(pos5VI2C)
		}
		return head, []string{"OUT -> " + pin.String(), "VCC -> " + vcc, "GND -> " + gnd, p.pullText()}
	case Encoder:
		var steps []string
		for i, q := range p.Pins {
			steps = append(steps, fmt.Sprintf("%c -> %s", 'A'+i, q))
		}
		return head, append(steps, "C (common) -> "+gnd, p.pullText())
	case ADC:
		var steps []string
		for _, t := range p.terminals() {
			steps = append(steps, t.label+" -> "+at(t.pos))
		}
		for _, c := range p.Channels {
			steps = append(steps, fmt.Sprintf("%s%d: %s %s", p.channelPrefix(), c.Number, c.Name, c.Address))
		}
		return head, steps
	}
	return head, []string{pin.String()}
}

// howLine is how as one line.
func (p Part) howLine() string {
	head, steps := p.how()
	return head + ": " + strings.Join(steps, "; ")
}

// chipText describes an ADC: "ADS1115 on I2C1 at 0x48", "MCP3008 on SPI0 CE0".
func (p Part) chipText() string {
	s := strings.ToUpper(p.Chip)
	if s == "" {
		s = "chip"
	}
	b := p.bus()
	if p.isSPI() {
		for _, pin := range p.Pins {
			if fn := busFunction(pin, b); strings.Contains(fn, " CE") {
				return s + " on " + fn
			}
		}
		return s + " on " + b
	}
	if p.ChipAddr != "" {
		return s + " on " + b + " at " + p.ChipAddr
	}
	return s + " on " + b
}

// channelPrefix is how an ADC names its inputs: "A" (ADS1x15), "CH".
func (p Part) channelPrefix() string {
	if strings.HasPrefix(strings.ToLower(p.Chip), "ads") {
		return "A"
	}
	return "CH"
}
