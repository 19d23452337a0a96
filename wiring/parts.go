package wiring

import (
	"fmt"
	"strconv"
	"strings"
)

// PartKind says what is wired to the header, and so how a diagram draws it.
type PartKind int

// The kinds of part.
const (
	LED     PartKind = iota + 1 // an output to an LED and its resistor (on/off, or dimmed by PWM)
	Relay                       // an output to a relay board's input (IN)
	Servo                       // an output to a servo's signal wire
	Button                      // an input from a button or switch, to GND or 3V3 as its pull says
	Sensor                      // an input from a board with a logic output (PIR, beam break)
	Encoder                     // an input from a rotary encoder: Pins are A, B; its common pin to GND
	ADC                         // an analog-to-digital converter chip on the I2C or SPI bus
)

// String returns the part's kind in lower case: "LED", "relay", "servo",
// "button", "sensor", "encoder" or "adc".
func (k PartKind) String() string {
	switch k {
	case LED:
		return "LED"
	case Relay:
		return "relay"
	case Servo:
		return "servo"
	case Button:
		return "button"
	case Sensor:
		return "sensor"
	case Encoder:
		return "encoder"
	case ADC:
		return "adc"
	}
	return "PartKind(" + strconv.Itoa(int(k)) + ")"
}

// Part is one thing wired to the header, as a mapping file describes it.
// The diagrams (SVG, Text) draw it at its pins; Check finds what is wrong
// with a set of parts. Fields that do not apply to the Kind are zero.
type Part struct {
	Kind    PartKind
	Name    string // the name the mapping gives it
	Address string // its OSC address(es) as shown, "/led" or "/led, /test"; "" for an ADC
	// Pins are the GPIOs it is wired to, in the order of the part's own
	// pins: one for most parts; A and B for an Encoder; for an ADC the bus
	// pins it needs (I2C1 SDA, SCL; or SPI0 MOSI, MISO, SCLK and one CE).
	Pins      []Pin
	PWM       bool    // LED: dimmed by PWM
	Pull      string  // Button, Sensor, Encoder: the GPIO's pull: "up", "down" or "none"
	ActiveLow bool    // LED, Relay: on drives the pin low; Button, Sensor: pressed reads low
	Volts     float64 // the part's supply and logic level: 3.3 or 5; 0 when not said (taken as 3.3)
	Chip      string  // ADC: "ads1115", "ads1015" or "mcp3008"
	ChipAddr  string  // ADC on I2C: its address, like "0x48"
	Channels  []Channel
}

// Channel is an input of an ADC part that the mapping reads.
type Channel struct {
	Number        int // 0-3 (ADS1x15), 0-7 (MCP3008)
	Name, Address string
}

// Warning is something wrong in how parts are wired: a pin wired twice, a
// GPIO that a bus device needs, or a 5 V part on a 3.3 V pin.
type Warning struct {
	Part int // index in the parts given to Check of the part to change
	Pin  Pin // the pin concerned
	Msg  string
}

// String returns the warning's message.
func (w Warning) String() string { return w.Msg }

// label names a part in messages: `LED "led"`, `adc "panel"`.
func (p Part) label() string {
	if p.Name == "" {
		return p.Kind.String()
	}
	return fmt.Sprintf("%s %q", p.Kind, p.Name)
}

// bus is the function prefix of an ADC's bus ("I2C1", "SPI0"), or "".
func (p Part) bus() string {
	if p.Kind != ADC {
		return ""
	}
	for _, pin := range p.Pins {
		for _, f := range pin.Functions {
			if b, _, ok := strings.Cut(f, " "); ok && (strings.HasPrefix(b, "I2C") || strings.HasPrefix(b, "SPI")) {
				return b
			}
		}
	}
	return ""
}

// busFunction is the function pin has on bus ("I2C1 SDA"), or "".
func busFunction(pin Pin, bus string) string {
	for _, f := range pin.Functions {
		if bus != "" && strings.HasPrefix(f, bus+" ") {
			return f
		}
	}
	return ""
}

// shared reports whether the bus line f may be wired to several chips:
// every line of a bus but a chip select.
func shared(f string) bool { return f != "" && !strings.Contains(f, " CE") }

// fiveVolts reports whether the part is marked as working at 5 V.
func (p Part) fiveVolts() bool { return p.Volts >= 4.5 }

// Check returns what is wrong in how parts are wired, in the order of
// parts:
//
//   - a pin wired to two parts (chips on the same bus share its lines, but
//     not a chip select);
//   - a GPIO wired to a part while an ADC of parts needs it for its bus
//     (GPIO2 and GPIO3 for I2C; GPIO10, 9, 11 and the chip select for SPI);
//   - a part marked 5 V (Volts 5) on a GPIO, whose level is 3.3 V.
//
// A mapping that config accepts has only the last kind: it refuses the
// first two as errors.
func Check(parts []Part) []Warning {
	var ws []Warning
	type user struct {
		part int
		fn   string // its bus function, for an ADC
	}
	busUse := map[int]user{} // BCM -> the first ADC needing it
	for i, p := range parts {
		b := p.bus()
		if p.Kind != ADC || b == "" {
			continue
		}
		for _, pin := range p.Pins {
			fn := busFunction(pin, b)
			if prev, ok := busUse[pin.BCM]; ok {
				if shared(fn) && prev.fn == fn {
					continue
				}
				ws = append(ws, Warning{i, pin, fmt.Sprintf("%s is %s of %s too: give one of them the other chip select",
					pin, strings.TrimPrefix(fn, b+" "), parts[prev.part].label())})
				continue
			}
			busUse[pin.BCM] = user{i, fn}
		}
	}
	pinUse := map[int]int{} // BCM -> the first other part wired to it
	for i, p := range parts {
		if p.Kind == ADC {
			continue
		}
		for _, pin := range p.Pins {
			if pin.Kind != GPIO {
				continue
			}
			if u, ok := busUse[pin.BCM]; ok {
				ws = append(ws, Warning{i, pin, fmt.Sprintf("%s is %s, which %s needs for its bus: move %s to another GPIO",
					pin, u.fn, parts[u.part].label(), p.label())})
				continue
			}
			if prev, ok := pinUse[pin.BCM]; ok {
				what := "twice"
				if prev != i {
					what = "to " + parts[prev].label() + " too"
				}
				ws = append(ws, Warning{i, pin, fmt.Sprintf("%s is wired to %s %s: each GPIO drives or reads one part; move one to a free GPIO",
					pin, p.label(), what)})
				continue
			}
			pinUse[pin.BCM] = i
		}
	}
	for i, p := range parts {
		if !p.fiveVolts() || len(p.Pins) == 0 {
			continue
		}
		ws = append(ws, Warning{i, p.Pins[0], fiveVoltWarning(p)})
	}
	// In the order of parts, then of pins.
	out := make([]Warning, 0, len(ws))
	for i := range parts {
		for _, w := range ws {
			if w.Part == i {
				out = append(out, w)
			}
		}
	}
	return out
}

// fiveVoltWarning says why a 5 V part on a 3.3 V GPIO is a problem, and what
// to do.
func fiveVoltWarning(p Part) string {
	pins := make([]string, len(p.Pins))
	for i, pin := range p.Pins {
		pins[i] = pin.String()
	}
	on := andList(pins)
	switch p.Kind {
	case LED, Servo:
		return fmt.Sprintf("%s is marked volts: 5, but %s drives 3.3 V: a 5 V input may not see it as high; use a part made for 3.3 V logic, or a transistor or level shifter", p.label(), on)
	case Relay:
		return fmt.Sprintf("%s is marked volts: 5, but %s drives 3.3 V: a 5 V relay board may not switch from it, and its input can pull the pin up to 5 V; use a board with a 3.3 V (optocoupler) input and power its relays from 5V (pin 2), or a transistor", p.label(), on)
	case ADC:
		return fmt.Sprintf("%s is marked volts: 5, but its bus pins %s are 3.3 V: a chip powered from 5 V can put 5 V on them and damage the Pi; power it from 3V3, or use a level shifter", p.label(), on)
	}
	takes, it := "takes", "it"
	if len(p.Pins) > 1 {
		takes, it = "take", "them"
	}
	return fmt.Sprintf("%s is marked volts: 5, but %s %s 3.3 V at most: 5 V on %s can damage the Pi; power the part from 3V3, or use a level shifter or a divider (like 10k over 20k)", p.label(), on, takes, it)
}

// andList joins words as "a", "a and b", "a, b and c".
func andList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}
