package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/oscgpio/oscgpio/wiring"
)

// The validation of the input kinds other than digital (encoder, analog)
// and of the adcs section: part of the pass of validate.go.

// Defaults that differ by input kind (the common ones are in setDefaults).
const (
	defaultEncoderPull    = "up" // an encoder's contacts close to GND
	defaultStepsPerDetent = 4
	defaultAbsMin         = 0
	defaultAbsMax         = 127
	defaultAbsStep        = 1
	defaultRate           = 50 // Hz
	defaultMaxRate        = 30 // Hz
	defaultI2CAddr        = 0x48
	i2cBus                = "/dev/i2c-1"
	spiBus                = "/dev/spidev0." // + chip select
)

// busPin is a header pin an adc's bus needs.
type busPin struct {
	fn   string // the pin's function, "I2C1 SDA"
	adc  string // `adc "knobs"`
	bus  string // "/dev/i2c-1"
	line int
}

// adcUse is an adc, and what the analog inputs ask of it.
type adcUse struct {
	spec     *adcSpec
	a        ADC
	lbl      string
	chipOK   bool        // a.Chip is known
	channels map[int]use // channel -> the input reading it
	rates    []float64   // of the inputs reading it, in file order
}

// keysNotFor explains, for each kind of input, the keys it does not take.
var keysNotFor = func() map[string]map[string]string {
	encoderKeys := []string{"min", "max", "step", "wrap", "steps_per_detent", "reverse"}
	analogKeys := []string{"adc", "channel", "range", "rate", "deadband", "smoothing", "max_rate"}
	m := map[string]map[string]string{
		"digital": {
			"pins": "a digital input has one pin: write pin: GPIO17 (pins: [A, B] is for kind: encoder)",
		},
		"encoder": {
			"pin":        "an encoder has two pins: write pins: [GPIO5, GPIO6] (A, B)",
			"debounce":   "an encoder has no debounce: its decoder rejects contact bounce by the order of the edges, and a time debounce would lose steps turned fast",
			"values":     "an encoder sends +1/-1 (mode: relative) or its value (mode: absolute), not press and release values",
			"active_low": "an encoder has no active level: to turn its direction around, set reverse: true",
			"poll":       "an encoder is decoded from every edge in order; polling would lose steps",
		},
		"analog": {
			"pin":        "an analog input is read through an ADC: give adc: (a name under adcs:) and channel:",
			"pins":       "an analog input is read through an ADC: give adc: (a name under adcs:) and channel:",
			"pull":       "pull is a setting of digital inputs and encoders; an analog input is read through an ADC",
			"debounce":   "an analog input has no debounce: use deadband: and smoothing: to steady it",
			"values":     "an analog input sends its reading scaled to range: [bottom, top], not press and release values",
			"active_low": "an analog input has no active level: to turn it around, write range: [1, 0]",
			"poll":       "an analog input is sampled at rate:, like rate: 50Hz",
			"mode":       "mode is a setting of kind: encoder",
		},
	}
	for _, k := range encoderKeys {
		m["digital"][k] = k + " is a setting of kind: encoder"
		m["analog"][k] = k + " is a setting of kind: encoder"
	}
	m["encoder"]["part"] = "part is a setting of digital inputs (button or sensor); an encoder is drawn as an encoder"
	m["analog"]["part"] = "part is a setting of digital inputs (button or sensor); an analog input is drawn on its adc"
	m["analog"]["volts"] = "an analog input is read through an ADC: give volts: on its adc, under adcs:"
	m["analog"]["min"] = "min is a setting of kind: encoder; an analog input's bottom and top are range: [0, 1]"
	m["analog"]["max"] = "max is a setting of kind: encoder; an analog input's bottom and top are range: [0, 1]"
	for _, k := range []string{"hold", "repeat", "report_at_start"} {
		m["encoder"][k] = k + " is a setting of digital inputs (buttons and switches)"
		m["analog"][k] = k + " is a setting of digital inputs (buttons and switches)"
	}
	for _, k := range analogKeys {
		m["digital"][k] = k + " is a setting of kind: analog"
		m["encoder"][k] = k + " is a setting of kind: analog"
	}
	return m
}()

// keyNode is the node of key in the mapping at, or the mapping.
func keyNode(at *positions, key string) *yaml.Node {
	for i := 0; i+1 < len(at.node.Content); i += 2 {
		if k := deref(at.node.Content[i]); k.Kind == yaml.ScalarNode && k.Value == key {
			return k
		}
	}
	return at.node
}

// checkKeys reports the keys given that the input's kind does not take, in
// file order, at the key.
func (in *inputSpec) checkKeys(ck *checker, kind, lbl string) {
	not := keysNotFor[kind]
	for i := 0; i+1 < len(in.At.node.Content); i += 2 {
		k := deref(in.At.node.Content[i])
		if why, ok := not[k.Value]; ok && in.At.has(k.Value) {
			ck.errAt(k, "key %q in %s (kind: %s): %s", k.Value, lbl, kind, why)
		}
	}
}

// num formats a number as written in the file.
func num(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// getNum returns the number of key if it was given and good, else def.
func getNum(at *positions, key string, v number, def float64) float64 {
	if at.has(key) {
		return float64(v)
	}
	return def
}

// checkType allows only types i and f for encoder and analog inputs.
func (in *inputSpec) checkType(ck *checker, what string) {
	if in.At.good("type") && in.Type != 'i' && in.Type != 'f' {
		ck.errAt(in.At.val("type"), "type %c: %s", in.Type, what)
	}
}

// wholeFor checks that key's value x can be sent as type i.
func (ck *checker) wholeFor(at *positions, key string, x float64) {
	if !at.good(key) {
		return
	}
	n := at.val(key)
	if x != math.Trunc(x) {
		ck.errAt(n, "%s %s is not a whole number, but type i sends integers: use a whole number or type: f", key, n.Value)
	} else if x < math.MinInt32 || x > math.MaxInt32 {
		ck.errAt(n, "%s %s does not fit type i (int32): use type: f", key, n.Value)
	}
}

func (in *inputSpec) checkEncoder(ck *checker, lbl string, out *Input) {
	at := &in.At
	out.Debounce, out.Press, out.Release = 0, 0, 0
	switch {
	case !at.has("pins"):
		ck.errAt(at.node, "%s (kind: encoder) has no pins: add a line like pins: [GPIO5, GPIO6] (A, B)", lbl)
	case at.good("pins"):
		p := in.Pins
		if p.pins[0].BCM == p.pins[1].BCM {
			ck.errAt(p.nodes[1], "%s lists pin %s twice: an encoder has two pins, A and B", lbl, p.pins[1].Name())
			break
		}
		for i, pin := range p.pins {
			ck.usePin("input", lbl, at, pin, p.nodes[i])
		}
		out.Pins = append([]wiring.Pin(nil), p.pins...)
	}
	if !at.has("pull") {
		out.Pull = defaultEncoderPull
	}
	out.StepsPerDetent = defaultStepsPerDetent
	if at.has("steps_per_detent") {
		out.StepsPerDetent = int(in.StepsPerDetent)
	}
	out.Reverse = bool(in.Reverse)
	in.checkType(ck, "an encoder sends i (the default) or f")

	out.Mode = "relative"
	if at.good("mode") {
		out.Mode = strings.ToLower(string(in.Mode))
		if out.Mode != "relative" && out.Mode != "absolute" {
			ck.errAt(at.val("mode"), "%s: mode must be relative (+1 or -1 per detent, the default) or absolute (a value between min and max) for an encoder, not %q", lbl, in.Mode)
			return
		}
	} else if at.has("mode") {
		return
	}
	if out.Mode == "relative" {
		for _, k := range []string{"min", "max", "step", "wrap"} {
			if at.has(k) {
				ck.errAt(keyNode(at, k), "key %q in %s: %s is for mode: absolute; a relative encoder sends +1 and -1: remove it or add mode: absolute", k, lbl, k)
			}
		}
		return
	}
	out.Min = getNum(at, "min", in.Min, defaultAbsMin)
	out.Max = getNum(at, "max", in.Max, defaultAbsMax)
	out.Step = getNum(at, "step", in.Step, defaultAbsStep)
	out.Wrap = bool(in.Wrap)
	if !at.bad["min"] && !at.bad["max"] && out.Min >= out.Max {
		ck.errAt(at.val(cmpKey(at, "max", "min")), "%s: max %s must be above min %s", lbl, num(out.Max), num(out.Min))
		return
	}
	if at.good("step") {
		if out.Step <= 0 {
			ck.errAt(at.val("step"), "step %s must be above 0 (to turn the direction around, set reverse: true)", at.val("step").Value)
		} else if !at.bad["min"] && !at.bad["max"] && out.Step > out.Max-out.Min {
			ck.errAt(at.val("step"), "step %s is more than max - min (%s): one detent would cross the whole range", at.val("step").Value, num(out.Max-out.Min))
		}
	}
	if out.Type == 'i' && !at.bad["type"] {
		for _, k := range []struct {
			key string
			x   float64
		}{{"min", out.Min}, {"max", out.Max}, {"step", out.Step}} {
			ck.wholeFor(at, k.key, k.x)
		}
	}
}

// cmpKey is a if it was given, else b if it was, else a.
func cmpKey(at *positions, a, b string) string {
	if !at.has(a) && at.has(b) {
		return b
	}
	return a
}

func (in *inputSpec) checkAnalog(ck *checker, lbl string, out *Input) {
	at := &in.At
	out.Pull, out.Debounce, out.Press, out.Release = "none", 0, 0, 0
	if !at.has("type") {
		out.Type = 'f'
	}
	in.checkType(ck, "an analog input sends f (the default) or i (rounded)")
	if !at.has("adc") {
		ck.errAt(at.node, "%s (kind: analog) has no adc: add a line like adc: knobs (a name under adcs:)", lbl)
	}
	if !at.has("channel") {
		ck.errAt(at.node, "%s (kind: analog) has no channel: add a line like channel: 0", lbl)
	}
	out.ADC, out.Channel = in.ADC, int(in.Channel)
	out.Range = [2]float64{0, 1}
	if at.has("range") {
		out.Range = [2]float64(in.Range)
	}
	out.Rate = defaultRate
	if at.has("rate") {
		out.Rate = float64(in.Rate)
	}
	out.MaxRate = defaultMaxRate
	if at.has("max_rate") {
		out.MaxRate = float64(in.MaxRate)
	}
	out.Deadband, out.Smoothing = float64(in.Deadband), float64(in.Smoothing)

	if at.good("range") {
		if out.Range[0] == out.Range[1] {
			ck.errAt(at.val("range"), "range [%s, %s] sends the same value at the bottom and the top: give two different numbers, like [0, 1]", num(out.Range[0]), num(out.Range[1]))
		} else if out.Type == 'i' && !at.bad["type"] {
			for _, x := range out.Range {
				if x < math.MinInt32 || x > math.MaxInt32 {
					ck.errAt(at.val("range"), "range %s does not fit type i (int32): use type: f", num(x))
					break
				}
			}
		}
	}
	if at.good("rate") && out.Rate <= 0 {
		ck.errAt(at.val("rate"), "rate %s must be above 0, like rate: 50Hz", at.val("rate").Value)
	}
	if at.good("max_rate") && out.MaxRate <= 0 {
		ck.errAt(at.val("max_rate"), "max_rate %s must be above 0, like max_rate: 30Hz", at.val("max_rate").Value)
	}
	if at.good("deadband") {
		if span := math.Abs(out.Range[1] - out.Range[0]); out.Deadband < 0 {
			ck.errAt(at.val("deadband"), "deadband %s must be 0 (send every change) or more, in the units of range", at.val("deadband").Value)
		} else if !at.bad["range"] && span > 0 && out.Deadband >= span {
			ck.errAt(at.val("deadband"), "deadband %s is not less than the whole range (%s): nothing would be sent; use a fraction of it, like %s", at.val("deadband").Value, num(span), num(span/100))
		}
	}
	if at.good("smoothing") && (out.Smoothing < 0 || out.Smoothing >= 1) {
		ck.errAt(at.val("smoothing"), "smoothing %s must be from 0 (off) to below 1 (0.5 is moderate; nearer 1 is smoother and slower)", at.val("smoothing").Value)
	}

	if !at.good("adc") {
		return
	}
	u := ck.adcs[in.ADC]
	if u == nil && ck.adcsBroken {
		return // the adcs section has an error of its own, maybe this name
	}
	if u == nil {
		ck.errAt(at.val("adc"), "%s reads adc %q, which is not under adcs %s", lbl, in.ADC, ck.definedADCs(in.ADC))
		return
	}
	if !u.chipOK || !at.good("channel") {
		return
	}
	ch := int(in.Channel)
	if _, n := ChipRate(u.a.Chip); ch >= n {
		ck.errAt(at.val("channel"), "channel %d is not on an %s: its channels are 0-%d", ch, u.a.Chip, n-1)
		return
	}
	if prev, dup := u.channels[ch]; dup {
		ck.errAt(at.val("channel"), "channel %d of %s is already read by %s (line %d): each channel is read by one input", ch, u.lbl, prev.what, prev.line)
		return
	}
	u.channels[ch] = use{"input", in.Name, lbl, at.val("channel").Line}
	if !at.bad["rate"] && out.Rate > 0 {
		u.rates = append(u.rates, out.Rate)
	}
}

// definedADCs describes the adcs for an undefined-adc message.
func (ck *checker) definedADCs(name string) string {
	if len(ck.adcList) == 0 {
		return "(none are defined: add one, like adcs: [{name: knobs, chip: ads1115}])"
	}
	var names []string
	for _, u := range ck.adcList {
		if u.a.Name != "" {
			names = append(names, u.a.Name)
		}
	}
	s := "(defined: " + strings.Join(names, ", ") + ")"
	if m := suggest(name, names); m != "" {
		s += fmt.Sprintf("; did you mean %q?", m)
	}
	return s
}

// checkRates refuses an adc whose analog inputs ask for more samples a
// second than the chip makes.
func (ck *checker) checkRates() {
	for _, u := range ck.adcList {
		limit, _ := ChipRate(u.a.Chip)
		if !u.chipOK || len(u.rates) == 0 {
			continue
		}
		sum, same := 0.0, true
		for _, r := range u.rates {
			sum += r
			same = same && r == u.rates[0]
		}
		if sum <= limit {
			continue
		}
		var ask string
		if same {
			ask = fmt.Sprintf("%d × %sHz", len(u.rates), num(u.rates[0]))
		} else {
			var rs []string
			for _, r := range u.rates {
				rs = append(rs, num(r)+"Hz")
			}
			ask = strings.Join(rs, " + ")
		}
		ck.errAt(u.spec.At.val("chip"), "%s (%s) makes at most %s samples a second, shared by its channels; the inputs on it ask for %s (%s): lower rate: on them (%s each would fit), or spread them over more chips",
			u.lbl, u.a.Chip, num(limit), num(sum), ask, num(math.Floor(limit/float64(len(u.rates))))+"Hz")
	}
}

func (a *adcSpec) check(ck *checker) {
	at := &a.At
	lbl := label("adc", at.node)
	u := &adcUse{spec: a, lbl: lbl, channels: map[int]use{},
		a: ADC{Name: a.Name, Chip: string(a.Chip), Pos: at.pos()}}
	u.a.Volts, u.a.voltsAt = voltsOf(at, a.Volts)
	if at.good("name") {
		if prev, dup := ck.adcs[a.Name]; dup {
			ck.errAt(at.val("name"), "adc name %q is already used by the adc on line %d: give every adc its own name", a.Name, prev.spec.At.val("name").Line)
			return
		}
		ck.adcs[a.Name] = u
	} else {
		ck.adcsBroken = true
	}
	ck.adcList = append(ck.adcList, u)
	if !at.good("chip") {
		return
	}
	u.chipOK = true
	var fns []string // the bus pins' functions
	if u.a.I2C() {
		if at.has("cs") {
			ck.errAt(keyNode(at, "cs"), "key \"cs\" in %s: cs is the chip select of an SPI chip (mcp3008); an %s is on I2C: give address: instead", lbl, u.a.Chip)
		}
		u.a.Addr = defaultI2CAddr
		if at.has("address") {
			u.a.Addr = uint16(a.Address)
		}
		if at.good("bus") {
			switch strings.ToLower(strings.TrimSpace(a.Bus)) {
			case "", "1", "/dev/i2c-1", "i2c1", "i2c-1":
			default:
				ck.errAt(at.val("bus"), "%s: bus %q: I2C chips are read on bus 1 (GPIO2 SDA and GPIO3 SCL, header pins 3 and 5): write bus: 1, or leave it out", lbl, a.Bus)
			}
		}
		u.a.Bus = i2cBus
		fns = []string{"I2C1 SDA", "I2C1 SCL"}
		for _, o := range ck.adcList[:len(ck.adcList)-1] {
			if o.chipOK && o.a.I2C() && o.a.Addr == u.a.Addr {
				ck.errAt(at.val(cmpKey(at, "address", "chip")), "%s has address 0x%02X on %s, as %s (line %d) has: give one of them another address (0x48-0x4B, set by the chip's ADDR pin)",
					lbl, u.a.Addr, u.a.Bus, o.lbl, o.spec.At.node.Line)
				break
			}
		}
	} else {
		if at.has("address") {
			ck.errAt(keyNode(at, "address"), "key \"address\" in %s: an %s is on SPI and has no I2C address: give cs: 0 or 1 (its chip select, CE0 or CE1)", lbl, u.a.Chip)
		}
		csFromBus := -1
		if at.good("bus") {
			b := strings.ToLower(strings.TrimSpace(a.Bus))
			switch b {
			case "", "0", "spi0":
			case "spi0.0", "/dev/spidev0.0":
				csFromBus = 0
			case "spi0.1", "/dev/spidev0.1":
				csFromBus = 1
			default:
				ck.errAt(at.val("bus"), "%s: bus %q: SPI chips are read on SPI0 (GPIO10 MOSI, GPIO9 MISO, GPIO11 SCLK, chip select GPIO8 CE0 or GPIO7 CE1): write bus: 0, or leave it out, and cs: 0 or 1", lbl, a.Bus)
			}
		}
		u.a.CS = max(csFromBus, 0)
		if at.good("cs") {
			u.a.CS = int(a.CS)
			if u.a.CS > 1 {
				ck.errAt(at.val("cs"), "%s: cs %d: SPI0 has chip selects 0 (GPIO8, CE0) and 1 (GPIO7, CE1)", lbl, u.a.CS)
				u.a.CS = 0
			} else if csFromBus >= 0 && csFromBus != u.a.CS {
				ck.errAt(at.val("cs"), "%s: cs %d disagrees with bus %s (chip select %d): give the chip select once", lbl, u.a.CS, a.Bus, csFromBus)
			}
		}
		u.a.Bus = spiBus + strconv.Itoa(u.a.CS)
		fns = []string{"SPI0 MOSI", "SPI0 MISO", "SPI0 SCLK", "SPI0 CE" + strconv.Itoa(u.a.CS)}
		for _, o := range ck.adcList[:len(ck.adcList)-1] {
			if o.chipOK && !o.a.I2C() && o.a.CS == u.a.CS {
				ck.errAt(at.val(cmpKey(at, "cs", "chip")), "%s is on %s, as %s (line %d) is: give one of them the other chip select (cs: 0 or 1)",
					lbl, u.a.Bus, o.lbl, o.spec.At.node.Line)
				break
			}
		}
	}
	for _, fn := range fns {
		if p, ok := pinWith(fn); ok {
			if _, taken := ck.busPins[p.BCM]; !taken {
				ck.busPins[p.BCM] = busPin{fn: fn, adc: lbl, bus: u.a.Bus, line: at.node.Line}
			}
		}
	}
	ck.c.ADCs = append(ck.c.ADCs, u.a)
}

// pinWith is the header pin with function fn ("I2C1 SDA").
func pinWith(fn string) (wiring.Pin, bool) {
	for _, p := range wiring.Header() {
		for _, f := range p.Functions {
			if f == fn {
				return p, true
			}
		}
	}
	return wiring.Pin{}, false
}
