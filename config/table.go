package config

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable writes the mapping as `oscgpio check` prints it: the listen
// address and destinations, then one row per output and input with its
// pin, header position, direction, address(es) and settings, then the
// simulated jumpers.
func (c *Config) WriteTable(w io.Writer) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "mapping %s\n", c.File)
	fmt.Fprintf(ew, "listen %s\n", c.Listen)
	if len(c.Destinations) > 0 {
		var ds []string
		for _, d := range c.Destinations {
			ds = append(ds, d.Name+"="+d.Addr)
		}
		fmt.Fprintf(ew, "destinations %s\n", strings.Join(ds, ", "))
	}
	fmt.Fprintln(ew)
	if len(c.Outputs)+len(c.Inputs) == 0 {
		fmt.Fprintln(ew, "no outputs or inputs")
	} else {
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tDIR\tPIN\tHEADER\tADDRESS\tDETAILS")
		for _, o := range c.Outputs {
			fmt.Fprintf(tw, "%s\tout\t%s\tpin %d\t%s\t%s\n", o.Name, o.Pin.Name(), o.Pin.Position,
				strings.Join(o.Addresses, ", "), outputDetails(o))
		}
		for _, in := range c.Inputs {
			pin, header := in.Pin.Name(), fmt.Sprintf("pin %d", in.Pin.Position)
			switch in.Kind {
			case KindEncoder:
				if len(in.Pins) == 2 {
					pin = in.Pins[0].Name() + "," + in.Pins[1].Name()
					header = fmt.Sprintf("pins %d,%d", in.Pins[0].Position, in.Pins[1].Position)
				}
			case KindAnalog:
				pin, header = fmt.Sprintf("%s ch%d", in.ADC, in.Channel), "-"
			}
			fmt.Fprintf(tw, "%s\tin\t%s\t%s\t%s\t%s\n", in.Name, pin, header, in.Address, c.inputDetails(in))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(c.ADCs) > 0 {
		fmt.Fprintln(ew)
		for _, a := range c.ADCs {
			fmt.Fprintf(ew, "adc %s\n", adcLine(a))
		}
	}
	if len(c.Jumpers) > 0 {
		fmt.Fprintln(ew)
		for _, j := range c.Jumpers {
			fmt.Fprintf(ew, "sim jumper %s -> %s\n", j.From, j.To)
		}
	}
	return ew.err
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func outputDetails(o Output) string {
	var d []string
	if o.ActiveLow {
		d = append(d, "active-low")
	}
	switch o.Kind {
	case OutputPWM:
		d = append(d, fmt.Sprintf("pwm %s..%s gamma %s at %sHz, initial %s, safe %s", num(o.Range[0]), num(o.Range[1]), num(o.Gamma), num(o.Frequency), num(o.InitialValue), num(o.SafeValue)))
	case OutputServo:
		d = append(d, fmt.Sprintf("servo %s..%s as %v..%v, initial %s, safe %s", num(o.Range[0]), num(o.Range[1]), o.MinPulse, o.MaxPulse, num(o.InitialValue), num(o.SafeValue)))
	default:
		d = append(d, "initial "+onOff(o.Initial), "safe "+onOff(o.Safe), "no-arg "+o.NoArg)
	}
	if o.OnMessage == "pulse" {
		d = append(d, "pulses "+o.Pulse.String())
	}
	if len(o.Feedback) > 0 {
		d = append(d, "feedback "+strings.Join(o.Feedback, ",")+" as "+string(o.Type))
	}
	return strings.Join(append(d, wiringDetails(o.Part, o.Volts)...), ", ")
}

// wiringDetails are part: and volts:, when given.
func wiringDetails(part string, volts float64) []string {
	var d []string
	if part != "" {
		d = append(d, "part "+part)
	}
	if volts > 0 {
		d = append(d, num(volts)+"V")
	}
	return d
}

// adcLine describes an adc: its chip, bus, address and the pins it takes.
func adcLine(a ADC) string {
	limit, _ := ChipRate(a.Chip)
	var where string
	var fns []string
	if a.I2C() {
		where = fmt.Sprintf("%s address 0x%02X", a.Bus, a.Addr)
		fns = []string{"I2C1 SDA", "I2C1 SCL"}
	} else {
		where = fmt.Sprintf("%s (cs %d)", a.Bus, a.CS)
		fns = []string{"SPI0 MOSI", "SPI0 MISO", "SPI0 SCLK", fmt.Sprintf("SPI0 CE%d", a.CS)}
	}
	var pins []string
	for _, fn := range fns {
		if p, ok := pinWith(fn); ok {
			pins = append(pins, p.Name()+" "+strings.TrimPrefix(strings.TrimPrefix(fn, "I2C1 "), "SPI0 "))
		}
	}
	volts := ""
	if a.Volts > 0 {
		volts = ", " + num(a.Volts) + "V"
	}
	return fmt.Sprintf("%s %s on %s%s, at most %s samples/s; pins %s", a.Name, a.Chip, where, volts, num(limit), strings.Join(pins, ", "))
}

func (c *Config) inputDetails(in Input) string {
	switch in.Kind {
	case KindEncoder:
		d := []string{"encoder " + in.Mode, "pull " + in.Pull, fmt.Sprintf("%d steps/detent", in.StepsPerDetent)}
		if in.Reverse {
			d = append(d, "reverse")
		}
		d = append(d, wiringDetails("", in.Volts)...)
		if in.Mode == "absolute" {
			w := ""
			if in.Wrap {
				w = " wrap"
			}
			d = append(d, fmt.Sprintf("%s..%s step %s%s", num(in.Min), num(in.Max), num(in.Step), w))
		}
		return strings.Join(append(d, fmt.Sprintf("as %c", in.Type)), ", ") + c.toDetails(in)
	case KindAnalog:
		d := []string{fmt.Sprintf("analog %s..%s as %c", num(in.Range[0]), num(in.Range[1]), in.Type),
			"rate " + num(in.Rate) + "Hz", "max_rate " + num(in.MaxRate) + "Hz"}
		if in.Deadband > 0 {
			d = append(d, "deadband "+num(in.Deadband))
		}
		if in.Smoothing > 0 {
			d = append(d, "smoothing "+num(in.Smoothing))
		}
		return strings.Join(d, ", ") + c.toDetails(in)
	}
	d := []string{"pull " + in.Pull}
	if in.ActiveLow {
		d = append(d, "active-low")
	}
	d = append(d, "debounce "+in.Debounce.String())
	if in.Poll > 0 {
		d = append(d, "poll "+in.Poll.String())
	}
	d = append(d, fmt.Sprintf("values %s/%s as %c", num(in.Press), num(in.Release), in.Type))
	d = append(d, buttonDetails(in)...)
	d = append(d, wiringDetails(in.Part, in.Volts)...)
	return strings.Join(d, ", ") + c.toDetails(in)
}

// toDetails is ", to: " and the input's destinations.
func (c *Config) toDetails(in Input) string {
	var to []string
	for _, name := range in.To {
		if dst, ok := c.Destination(name); ok {
			to = append(to, name+"="+dst.Addr)
		} else {
			to = append(to, name)
		}
	}
	return ", to: " + strings.Join(to, " ")
}

// errWriter keeps the first write error, so the table is written without
// checking each line.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(b)
	e.err = err
	return n, err
}

// buttonDetails are the settings of issue 7 that differ from the defaults.
func buttonDetails(in Input) []string {
	var d []string
	if in.Mode != "" && in.Mode != ModeMomentary {
		d = append(d, in.Mode)
	}
	if in.Hold > 0 {
		d = append(d, "hold "+in.Hold.String())
	}
	if in.Repeat > 0 {
		d = append(d, "repeat "+in.Repeat.String())
	}
	if !in.ReportAtStart {
		d = append(d, "no report at start")
	}
	return d
}
