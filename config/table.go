package config

import (
	"fmt"
	"io"
	"strconv"
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
			fmt.Fprintf(tw, "%s\tin\t%s\tpin %d\t%s\t%s\n", in.Name, in.Pin.Name(), in.Pin.Position,
				in.Address, c.inputDetails(in))
		}
		if err := tw.Flush(); err != nil {
			return err
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
	d = append(d, "initial "+onOff(o.Initial), "safe "+onOff(o.Safe), "no-arg "+o.NoArg)
	return strings.Join(d, ", ")
}

func (c *Config) inputDetails(in Input) string {
	d := []string{"pull " + in.Pull}
	if in.ActiveLow {
		d = append(d, "active-low")
	}
	d = append(d, "debounce "+in.Debounce.String())
	if in.Poll > 0 {
		d = append(d, "poll "+in.Poll.String())
	}
	num := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	d = append(d, fmt.Sprintf("values %s/%s as %c", num(in.Press), num(in.Release), in.Type))
	d = append(d, buttonDetails(in)...)
	var to []string
	for _, name := range in.To {
		if dst, ok := c.Destination(name); ok {
			to = append(to, name+"="+dst.Addr)
		} else {
			to = append(to, name)
		}
	}
	return strings.Join(d, ", ") + ", to: " + strings.Join(to, " ")
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
