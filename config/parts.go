package config

import (
	"fmt"
	"strings"

	"github.com/oscgpio/oscgpio/wiring"
)

// Parts returns what the mapping wires to the header, for wiring.SVG and
// wiring.Text: the outputs, then the digital inputs and encoders, then the
// adcs with the analog inputs that read them, each in file order.
//
// An output is a wiring.Servo (kind: servo), else what its part: says, else
// a wiring.Relay if its name or an address has "relay" in it, else a
// wiring.LED. A digital input is a wiring.Button unless part: sensor says
// it is a wiring.Sensor.
func (c *Config) Parts() []wiring.Part {
	parts, _ := c.partsAt()
	return parts
}

// partsAt is Parts, with where each part's warnings point: its volts: key,
// else its item.
func (c *Config) partsAt() ([]wiring.Part, []Pos) {
	var parts []wiring.Part
	var at []Pos
	add := func(p wiring.Part, item, volts Pos) {
		if volts == (Pos{}) {
			volts = item
		}
		parts, at = append(parts, p), append(at, volts)
	}
	for _, o := range c.Outputs {
		p := wiring.Part{Kind: wiring.LED, Name: o.Name, Address: strings.Join(o.Addresses, ", "),
			Pins: []wiring.Pin{o.Pin}, PWM: o.Kind == OutputPWM, ActiveLow: o.ActiveLow, Volts: o.Volts}
		switch {
		case o.Kind == OutputServo:
			p.Kind = wiring.Servo
		case o.Part == PartRelay:
			p.Kind = wiring.Relay
		case o.Part == "" && o.Kind == OutputDigital && saysRelay(o):
			p.Kind = wiring.Relay
		}
		add(p, o.Pos, o.voltsAt)
	}
	for _, in := range c.Inputs {
		p := wiring.Part{Name: in.Name, Address: in.Address, Pull: in.Pull, ActiveLow: in.ActiveLow, Volts: in.Volts}
		switch in.Kind {
		case KindDigital:
			p.Kind, p.Pins = wiring.Button, []wiring.Pin{in.Pin}
			if in.Part == PartSensor {
				p.Kind = wiring.Sensor
			}
		case KindEncoder:
			p.Kind, p.Pins = wiring.Encoder, append([]wiring.Pin(nil), in.Pins...)
		default:
			continue // drawn on its adc
		}
		add(p, in.Pos, in.voltsAt)
	}
	for _, a := range c.ADCs {
		p := wiring.Part{Kind: wiring.ADC, Name: a.Name, Chip: a.Chip, Volts: a.Volts}
		var fns []string
		if a.I2C() {
			p.ChipAddr = fmt.Sprintf("0x%02X", a.Addr)
			fns = []string{"I2C1 SDA", "I2C1 SCL"}
		} else {
			fns = []string{"SPI0 MOSI", "SPI0 MISO", "SPI0 SCLK", fmt.Sprintf("SPI0 CE%d", a.CS)}
		}
		for _, fn := range fns {
			if pin, ok := pinWith(fn); ok {
				p.Pins = append(p.Pins, pin)
			}
		}
		for _, in := range c.Inputs {
			if in.Kind == KindAnalog && in.ADC == a.Name {
				p.Channels = append(p.Channels, wiring.Channel{Number: in.Channel, Name: in.Name, Address: in.Address})
			}
		}
		add(p, a.Pos, a.voltsAt)
	}
	return parts, at
}

// saysRelay reports whether an output's name or one of its addresses has
// "relay" in it.
func saysRelay(o Output) bool {
	if strings.Contains(strings.ToLower(o.Name), PartRelay) {
		return true
	}
	for _, a := range o.Addresses {
		if strings.Contains(strings.ToLower(a), PartRelay) {
			return true
		}
	}
	return false
}

// wiringWarnings is wiring.Check of the mapping's parts, each at its
// part's volts: key or item.
func (c *Config) wiringWarnings() []*Error {
	parts, at := c.partsAt()
	var ws []*Error
	for _, w := range wiring.Check(parts) {
		p := at[w.Part]
		ws = append(ws, &Error{File: c.File, Line: p.Line, Col: p.Col, Msg: w.Msg})
	}
	return ws
}
