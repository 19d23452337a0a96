package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/oscgpio/oscgpio/wiring"
)

// kbase is a valid mapping with an encoder, an analog input and an adc.
const kbase = `destinations:
  max: 127.0.0.1:9000
adcs:
  - name: knobs
    chip: ads1115
inputs:
  - name: jog
    kind: encoder
    pins: [GPIO5, GPIO6]
    address: /jog
    to: [max]
  - name: vol
    kind: analog
    adc: knobs
    channel: 0
    address: /vol
    to: [max]
`

// enc adds lines to the encoder of kbase; ana to its analog input; adc to its adc.
func enc(lines string) string {
	return strings.Replace(kbase, "    address: /jog\n", lines+"    address: /jog\n", 1)
}
func ana(lines string) string {
	return strings.Replace(kbase, "    address: /vol\n", lines+"    address: /vol\n", 1)
}
func adc(lines string) string {
	return strings.Replace(kbase, "    chip: ads1115\n", "    chip: ads1115\n"+lines, 1)
}

// mcp is kbase with an mcp3008 instead of the ads1115.
var mcp = strings.Replace(kbase, "chip: ads1115", "chip: mcp3008", 1)

// fourAt is kbase's analog input on channels 0-3 of knobs, each at rate.
func fourAt(rates ...string) string {
	src := kbase
	for i, r := range rates {
		if i == 0 {
			src = ana("    rate: " + r + "\n")
			continue
		}
		src += "  - {name: k" + string(rune('0'+i)) + ", kind: analog, adc: knobs, channel: " + string(rune('0'+i)) +
			", rate: " + r + ", address: /k, to: [max]}\n"
	}
	return src
}

// kcases are the error cases of the new kinds, each with the one error
// expected, at LINE:COL; TestKindErrors runs them.
var kcases = []struct {
	name, src, pos, msg string
}{
	{"bad kind", strings.Replace(kbase, "kind: encoder", "kind: rotary", 1), "8:11", `kind must be one of digital, encoder, analog, not "rotary"`},

	// Encoders.
	{"encoder no pins", strings.Replace(kbase, "    pins: [GPIO5, GPIO6]\n", "", 1), "7:5", `input "jog" (kind: encoder) has no pins: add a line like pins: [GPIO5, GPIO6] (A, B)`},
	{"encoder one pin", strings.Replace(kbase, "[GPIO5, GPIO6]", "[GPIO5]", 1), "9:11", `pins must be the encoder's two pins [A, B], like [GPIO5, GPIO6], not a list`},
	{"encoder pins scalar", strings.Replace(kbase, "[GPIO5, GPIO6]", "GPIO5", 1), "9:11", `pins must be the encoder's two pins [A, B], like [GPIO5, GPIO6], not the single value "GPIO5"`},
	{"encoder bad pin", strings.Replace(kbase, "GPIO6]", "GPIO41]", 1), "9:19", `pin "GPIO41" is not on the 40-pin header`},
	{"encoder pin twice", strings.Replace(kbase, "GPIO6]", "pin 29]", 1), "9:19", `input "jog" lists pin GPIO5 twice: an encoder has two pins, A and B`},
	{"encoder pin used", kbase + "  - {name: b, pin: GPIO6, address: /b, to: [max]}\n", "18:20", `pin GPIO6 is already used by input "jog" (line 9): each pin can be mapped once`},
	{"encoder has no pin", enc("    pin: GPIO17\n"), "10:5", `key "pin" in input "jog" (kind: encoder): an encoder has two pins: write pins: [GPIO5, GPIO6] (A, B)`},
	{"encoder has no debounce", enc("    debounce: 5ms\n"), "10:5", `key "debounce" in input "jog" (kind: encoder): an encoder has no debounce: its decoder rejects contact bounce`},
	{"encoder has no values", enc("    values: {press: 1}\n"), "10:5", `key "values" in input "jog" (kind: encoder): an encoder sends +1/-1 (mode: relative) or its value (mode: absolute), not press and release values`},
	{"encoder has no active_low", enc("    active_low: true\n"), "10:5", `key "active_low" in input "jog" (kind: encoder): an encoder has no active level: to turn its direction around, set reverse: true`},
	{"encoder has no poll", enc("    poll: 5ms\n"), "10:5", `key "poll" in input "jog" (kind: encoder): an encoder is decoded from every edge in order; polling would lose steps`},
	{"encoder has no rate", enc("    rate: 50Hz\n"), "10:5", `key "rate" in input "jog" (kind: encoder): rate is a setting of kind: analog`},
	{"encoder bad mode", enc("    mode: latch\n"), "10:11", `input "jog": mode must be relative (+1 or -1 per detent, the default) or absolute (a value between min and max) for an encoder, not "latch"`},
	{"encoder mode list", enc("    mode: [relative]\n"), "10:11", `mode must be a single value like relative, not a list`},
	{"relative with min", enc("    min: 0\n"), "10:5", `key "min" in input "jog": min is for mode: absolute; a relative encoder sends +1 and -1: remove it or add mode: absolute`},
	{"relative with wrap", enc("    mode: relative\n    wrap: true\n"), "11:5", `key "wrap" in input "jog": wrap is for mode: absolute`},
	{"absolute max not above min", enc("    mode: absolute\n    min: 5\n    max: 5\n"), "12:10", `input "jog": max 5 must be above min 5`},
	{"absolute min above default max", enc("    mode: absolute\n    min: 200\n"), "11:10", `input "jog": max 127 must be above min 200`},
	{"absolute step zero", enc("    mode: absolute\n    step: 0\n"), "11:11", `step 0 must be above 0 (to turn the direction around, set reverse: true)`},
	{"absolute step too big", enc("    mode: absolute\n    max: 10\n    step: 20\n"), "12:11", `step 20 is more than max - min (10): one detent would cross the whole range`},
	{"absolute step not whole", enc("    mode: absolute\n    step: 0.5\n"), "11:11", `step 0.5 is not a whole number, but type i sends integers: use a whole number or type: f`},
	{"absolute max too big for i", enc("    mode: absolute\n    max: 1e10\n    step: 1\n"), "11:10", `max 1e10 does not fit type i (int32): use type: f`},
	{"absolute min not a number", enc("    mode: absolute\n    min: low\n"), "11:10", `min must be a number like 1 or 0.5, not "low"`},
	{"encoder type d", enc("    type: d\n"), "10:11", `type d: an encoder sends i (the default) or f`},
	{"encoder steps_per_detent", enc("    steps_per_detent: 3\n"), "10:23", `steps_per_detent must be 4 (a full quadrature cycle per click, most encoders), 2 or 1, not "3"`},
	{"encoder reverse yes", enc("    reverse: yes\n"), "10:14", `reverse must be true or false, not "yes"`},
	{"encoder on an I2C pin", strings.Replace(kbase, "[GPIO5,", "[GPIO2,", 1), "9:12",
		`pin GPIO2 is I2C1 SDA, which adc "knobs" (line 4) needs for its bus /dev/i2c-1: move input "jog" to another pin`},

	// Digital inputs and outputs.
	{"digital has no pins", kbase + "  - {name: b, pin: GPIO17, pins: [GPIO22, GPIO23], address: /b, to: [max]}\n", "18:28", `key "pins" in input "b" (kind: digital): a digital input has one pin: write pin: GPIO17 (pins: [A, B] is for kind: encoder)`},
	{"digital has no rate", kbase + "  - {name: b, pin: GPIO17, rate: 5Hz, address: /b, to: [max]}\n", "18:28", `key "rate" in input "b" (kind: digital): rate is a setting of kind: analog`},
	{"digital has no wrap", kbase + "  - {name: b, pin: GPIO17, wrap: true, address: /b, to: [max]}\n", "18:28", `key "wrap" in input "b" (kind: digital): wrap is a setting of kind: encoder`},
	{"digital has no relative mode", kbase + "  - {name: b, pin: GPIO17, mode: relative, address: /b, to: [max]}\n", "18:34", `input "b": mode must be momentary (the default), latch or counter for a digital input (relative and absolute are for kind: encoder), not "relative"`},
	{"explicit digital has no pin", kbase + "  - {name: b, kind: digital, address: /b, to: [max]}\n", "18:5", `input "b" has no pin: add a line like pin: GPIO17`},
	{"input with chip", kbase + "  - {name: b, pin: GPIO17, chip: ads1115, address: /b, to: [max]}\n", "18:28", `unknown key "chip" in input "b"; chip is a setting of an adc, under adcs:`},
	{"output on an SPI pin", mcp + "outputs:\n  - {name: led, pin: GPIO11, address: /led}\n", "19:22",
		`pin GPIO11 is SPI0 SCLK, which adc "knobs" (line 4) needs for its bus /dev/spidev0.0: move output "led" to another pin`},
	{"output on CE1", strings.Replace(mcp, "chip: mcp3008", "chip: mcp3008\n    cs: 1", 1) + "outputs:\n  - {name: led, pin: GPIO7, address: /led}\n", "20:22",
		`pin GPIO7 is SPI0 CE1, which adc "knobs" (line 4) needs for its bus /dev/spidev0.1: move output "led" to another pin`},
	{"input on SCL", kbase + "  - {name: b, pin: pin 5, address: /b, to: [max]}\n", "18:20",
		`pin GPIO3 is I2C1 SCL, which adc "knobs" (line 4) needs for its bus /dev/i2c-1: move input "b" to another pin`},

	// Analog inputs.
	{"analog no adc", strings.Replace(kbase, "    adc: knobs\n", "", 1), "12:5", `input "vol" (kind: analog) has no adc: add a line like adc: knobs (a name under adcs:)`},
	{"analog no channel", strings.Replace(kbase, "    channel: 0\n", "", 1), "12:5", `input "vol" (kind: analog) has no channel: add a line like channel: 0`},
	{"analog adc undefined", strings.Replace(kbase, "adc: knobs", "adc: knob", 1), "14:10", `input "vol" reads adc "knob", which is not under adcs (defined: knobs); did you mean "knobs"?`},
	{"analog no adcs", strings.Replace(kbase, "adcs:\n  - name: knobs\n    chip: ads1115\n", "", 1), "11:10", `input "vol" reads adc "knobs", which is not under adcs (none are defined: add one, like adcs: [{name: knobs, chip: ads1115}])`},
	{"analog channel 4 on ads1115", strings.Replace(kbase, "channel: 0", "channel: 4", 1), "15:14", `channel 4 is not on an ads1115: its channels are 0-3`},
	{"analog channel 8 on mcp3008", strings.Replace(mcp, "channel: 0", "channel: 8", 1), "15:14", `channel 8 is not on an mcp3008: its channels are 0-7`},
	{"analog channel negative", strings.Replace(kbase, "channel: 0", "channel: -1", 1), "15:14", `channel must be a whole number like 0 or 1, not "-1"`},
	{"analog channel twice", kbase + "  - {name: v2, kind: analog, adc: knobs, channel: 0, address: /v2, to: [max]}\n", "18:51",
		`channel 0 of adc "knobs" is already read by input "vol" (line 15): each channel is read by one input`},
	{"analog range one number", ana("    range: [1]\n"), "16:12", `range must be two numbers [bottom, top], like [0, 1] or [0, 127], not a list`},
	{"analog range words", ana("    range: [low, high]\n"), "16:12", `range must be two numbers [bottom, top]`},
	{"analog range same", ana("    range: [1, 1]\n"), "16:12", `range [1, 1] sends the same value at the bottom and the top: give two different numbers, like [0, 1]`},
	{"analog range too big for i", ana("    range: [0, 1e12]\n    type: i\n"), "16:12", `range 1e+12 does not fit type i (int32): use type: f`},
	{"analog rate zero", ana("    rate: 0Hz\n"), "16:11", `rate 0Hz must be above 0, like rate: 50Hz`},
	{"analog rate word", ana("    rate: fast\n"), "16:11", `rate must be a frequency like 50Hz, not "fast"`},
	{"analog rate ms", ana("    rate: 20ms\n"), "16:11", `rate must be a frequency like 50Hz, not "20ms"`},
	{"analog max_rate negative", ana("    max_rate: -1\n"), "16:15", `max_rate -1 must be above 0, like max_rate: 30Hz`},
	{"analog deadband negative", ana("    deadband: -0.1\n"), "16:15", `deadband -0.1 must be 0 (send every change) or more, in the units of range`},
	{"analog deadband whole range", ana("    range: [0, 127]\n    deadband: 127\n"), "17:15", `deadband 127 is not less than the whole range (127): nothing would be sent; use a fraction of it, like 1.27`},
	{"analog smoothing 1", ana("    smoothing: 1\n"), "16:16", `smoothing 1 must be from 0 (off) to below 1`},
	{"analog type T", ana("    type: T\n"), "16:11", `type T: an analog input sends f (the default) or i (rounded)`},
	{"analog has no pin", ana("    pin: GPIO17\n"), "16:5", `key "pin" in input "vol" (kind: analog): an analog input is read through an ADC: give adc: (a name under adcs:) and channel:`},
	{"analog has no pull", ana("    pull: up\n"), "16:5", `key "pull" in input "vol" (kind: analog): pull is a setting of digital inputs and encoders`},
	{"analog has no debounce", ana("    debounce: 5ms\n"), "16:5", `key "debounce" in input "vol" (kind: analog): an analog input has no debounce: use deadband: and smoothing: to steady it`},
	{"analog has no values", ana("    values: {press: 1}\n"), "16:5", `key "values" in input "vol" (kind: analog): an analog input sends its reading scaled to range: [bottom, top], not press and release values`},
	{"analog has no active_low", ana("    active_low: true\n"), "16:5", `key "active_low" in input "vol" (kind: analog): an analog input has no active level: to turn it around, write range: [1, 0]`},
	{"analog has no poll", ana("    poll: 5ms\n"), "16:5", `key "poll" in input "vol" (kind: analog): an analog input is sampled at rate:, like rate: 50Hz`},
	{"analog has no max", ana("    max: 127\n"), "16:5", `key "max" in input "vol" (kind: analog): max is a setting of kind: encoder; an analog input's bottom and top are range: [0, 1]`},
	{"analog has no mode", ana("    mode: absolute\n"), "16:5", `key "mode" in input "vol" (kind: analog): mode is a setting of kind: encoder`},

	// The chips' sample rates.
	{"ads1115 overloaded", fourAt("250Hz", "250Hz", "250Hz", "250Hz"), "5:11",
		`adc "knobs" (ads1115) makes at most 860 samples a second, shared by its channels; the inputs on it ask for 1000 (4 × 250Hz): lower rate: on them (215Hz each would fit), or spread them over more chips`},
	{"ads1115 overloaded mixed", fourAt("860Hz", "1"), "5:11",
		`adc "knobs" (ads1115) makes at most 860 samples a second, shared by its channels; the inputs on it ask for 861 (860Hz + 1Hz): lower rate:`},
	{"ads1015 overloaded", strings.Replace(fourAt("1000Hz", "1000 Hz", "1000", "1000hz"), "ads1115", "ads1015", 1), "5:11",
		`adc "knobs" (ads1015) makes at most 3300 samples a second, shared by its channels; the inputs on it ask for 4000 (4 × 1000Hz): lower rate:`},
	{"mcp3008 overloaded", strings.Replace(fourAt("20000Hz", "20000Hz", "20000Hz", "20000Hz"), "ads1115", "mcp3008", 1), "5:11",
		`adc "knobs" (mcp3008) makes at most 75000 samples a second, shared by its channels; the inputs on it ask for 80000 (4 × 20000Hz): lower rate:`},

	// adcs.
	{"adcs not a list", strings.Replace(kbase, "adcs:\n  - name: knobs\n    chip: ads1115\n", "adcs: knobs\n", 1), "3:7", `adcs must be a list, each item starting with "- name:", not the single value "knobs"`},
	{"adc item scalar", strings.Replace(kbase, "  - name: knobs\n    chip: ads1115\n", "  - knobs\n", 1), "4:5", `each item under adcs must be an adc (name:, chip:, bus:, address: or cs:)`},
	{"adc no chip", strings.Replace(kbase, "    chip: ads1115\n", "", 1), "4:5", `adc "knobs" has no chip: add a line like chip: ads1115 (or ads1015, mcp3008)`},
	{"adc no name", strings.Replace(kbase, "  - name: knobs\n    chip", "  - chip", 1), "4:5", `adc at line 4 has no name: add a line like name: knobs`},
	{"adc bad chip", strings.Replace(kbase, "chip: ads1115", "chip: ads1113", 1), "5:11", `chip must be one of ads1115, ads1015, mcp3008, not "ads1113"`},
	{"adc bad address", adc("    address: 0x50\n"), "6:14", `address must be the chip's I2C address, 0x48 (ADDR to GND, the default), 0x49 (ADDR to VDD), 0x4A (SDA) or 0x4B (SCL), not "0x50"`},
	{"adc unknown key", adc("    adress: 0x49\n"), "6:5", `unknown key "adress" in adc "knobs"; did you mean "address"?`},
	{"adc has no pin", adc("    pin: GPIO2\n"), "6:5", `unknown key "pin" in adc "knobs"; an adc is on the I2C or SPI bus, whose pins are fixed`},
	{"adc has no channel", adc("    channel: 0\n"), "6:5", `unknown key "channel" in adc "knobs"; channel is a setting of each analog input that reads the adc`},
	{"ads1115 with cs", adc("    cs: 0\n"), "6:5", `key "cs" in adc "knobs": cs is the chip select of an SPI chip (mcp3008); an ads1115 is on I2C: give address: instead`},
	{"ads1115 bus 3", adc("    bus: 3\n"), "6:10", `adc "knobs": bus "3": I2C chips are read on bus 1 (GPIO2 SDA and GPIO3 SCL, header pins 3 and 5): write bus: 1, or leave it out`},
	{"ads1115 bus list", adc("    bus: [1]\n"), "6:10", `bus must be a single value like 1, not a list`},
	{"mcp3008 with address", strings.Replace(mcp, "chip: mcp3008", "chip: mcp3008\n    address: 0x48", 1), "6:5", `key "address" in adc "knobs": an mcp3008 is on SPI and has no I2C address: give cs: 0 or 1 (its chip select, CE0 or CE1)`},
	{"mcp3008 cs 2", strings.Replace(mcp, "chip: mcp3008", "chip: mcp3008\n    cs: 2", 1), "6:9", `adc "knobs": cs 2: SPI0 has chip selects 0 (GPIO8, CE0) and 1 (GPIO7, CE1)`},
	{"mcp3008 bus 1", strings.Replace(mcp, "chip: mcp3008", "chip: mcp3008\n    bus: 1", 1), "6:10", `adc "knobs": bus "1": SPI chips are read on SPI0 (GPIO10 MOSI, GPIO9 MISO, GPIO11 SCLK, chip select GPIO8 CE0 or GPIO7 CE1): write bus: 0, or leave it out, and cs: 0 or 1`},
	{"mcp3008 bus and cs disagree", strings.Replace(mcp, "chip: mcp3008", "chip: mcp3008\n    bus: SPI0.1\n    cs: 0", 1), "7:9", `adc "knobs": cs 0 disagrees with bus SPI0.1 (chip select 1): give the chip select once`},
	{"adc name twice", strings.Replace(kbase, "inputs:", "  - {name: knobs, chip: ads1015, address: 0x49}\ninputs:", 1), "6:12", `adc name "knobs" is already used by the adc on line 4: give every adc its own name`},
	{"adc address twice", strings.Replace(kbase, "inputs:", "  - {name: more, chip: ads1015, address: 72}\ninputs:", 1), "6:42", `adc "more" has address 0x48 on /dev/i2c-1, as adc "knobs" (line 4) has: give one of them another address (0x48-0x4B, set by the chip's ADDR pin)`},
	{"adc cs twice", strings.Replace(mcp, "inputs:", "  - {name: more, chip: mcp3008}\ninputs:", 1), "6:24", `adc "more" is on /dev/spidev0.0, as adc "knobs" (line 4) is: give one of them the other chip select (cs: 0 or 1)`},
}

func TestKindErrors(t *testing.T) {
	for _, tc := range kcases {
		t.Run(tc.name, func(t *testing.T) { wantOne(t, tc.src, tc.pos, tc.msg) })
	}
}

// The defaults of each kind, and an adc's, as the engine receives them.
func TestKindDefaults(t *testing.T) {
	c := mustParse(t, kbase)
	jog, _ := c.Input("jog")
	wantJog := Input{Name: "jog", Kind: KindEncoder, Pins: []wiring.Pin{pin(t, "GPIO5"), pin(t, "GPIO6")}, Pull: "up",
		Address: "/jog", Type: 'i', To: []string{"max"}, Pos: Pos{7, 5}, Mode: "relative", StepsPerDetent: 4, FeedbackRate: 30}
	if !reflect.DeepEqual(jog, wantJog) {
		t.Errorf("encoder\n got %+v\nwant %+v", jog, wantJog)
	}
	vol, _ := c.Input("vol")
	wantVol := Input{Name: "vol", Kind: KindAnalog, Pull: "none", Address: "/vol", Type: 'f', To: []string{"max"},
		Pos: Pos{12, 5}, ADC: "knobs", Channel: 0, Range: [2]float64{0, 1}, Rate: 50, MaxRate: 30, FeedbackRate: 30}
	if !reflect.DeepEqual(vol, wantVol) {
		t.Errorf("analog\n got %+v\nwant %+v", vol, wantVol)
	}
	a, ok := c.ADC("knobs")
	wantADC := ADC{Name: "knobs", Chip: ChipADS1115, Bus: "/dev/i2c-1", Addr: 0x48, Pos: Pos{4, 5}}
	if !ok || a != wantADC || !a.I2C() {
		t.Errorf("ADC(knobs) = %+v, %v; want %+v", a, ok, wantADC)
	}
	if _, ok := c.ADC("nope"); ok {
		t.Error("ADC(nope) found")
	}
}

// Every key of the new kinds, given.
func TestKindAllKeys(t *testing.T) {
	c := mustParse(t, `destinations: {max: 127.0.0.1:9000}
adcs:
  - {name: a, chip: ads1015, bus: /dev/i2c-1, address: 73}
  - {name: b, chip: ads1115, bus: "1", address: "0x4B"}
  - {name: m, chip: mcp3008, bus: SPI0.1}
  - {name: n, chip: mcp3008, bus: /dev/spidev0.0, cs: 0}
inputs:
  - {name: e, kind: encoder, pins: [pin 29, BCM6], pull: down, mode: Absolute, min: -10, max: 10, step: 2, wrap: true,
     steps_per_detent: 2, reverse: true, address: /e, to: [max]}
  - {name: s, kind: analog, adc: m, channel: 7, range: [127, 0], type: i, rate: 50 Hz, deadband: 1, smoothing: 0.25,
     max_rate: 12.5hz, address: /s, to: [max]}
  - {name: d, kind: digital, pin: GPIO17, address: /d, to: [max]}
`)
	e, _ := c.Input("e")
	if e.Kind != KindEncoder || e.Pull != "down" || e.Mode != "absolute" || e.Min != -10 || e.Max != 10 || e.Step != 2 ||
		!e.Wrap || e.StepsPerDetent != 2 || !e.Reverse || e.Pins[0].BCM != 5 || e.Pins[1].BCM != 6 {
		t.Errorf("encoder %+v", e)
	}
	s, _ := c.Input("s")
	if s.ADC != "m" || s.Channel != 7 || s.Range != [2]float64{127, 0} || s.Type != 'i' || s.Rate != 50 ||
		s.Deadband != 1 || s.Smoothing != 0.25 || s.MaxRate != 12.5 {
		t.Errorf("analog %+v", s)
	}
	if d, _ := c.Input("d"); d.Kind != KindDigital || d.Pin.BCM != 17 {
		t.Errorf("digital %+v", d)
	}
	want := []ADC{
		{Name: "a", Chip: ChipADS1015, Bus: "/dev/i2c-1", Addr: 0x49, Pos: Pos{3, 5}},
		{Name: "b", Chip: ChipADS1115, Bus: "/dev/i2c-1", Addr: 0x4B, Pos: Pos{4, 5}},
		{Name: "m", Chip: ChipMCP3008, Bus: "/dev/spidev0.1", CS: 1, Pos: Pos{5, 5}},
		{Name: "n", Chip: ChipMCP3008, Bus: "/dev/spidev0.0", CS: 0, Pos: Pos{6, 5}},
	}
	if !reflect.DeepEqual(c.ADCs, want) {
		t.Errorf("ADCs\n got %+v\nwant %+v", c.ADCs, want)
	}
}

// The chips' limits: exactly the limit is allowed.
func TestChipLimits(t *testing.T) {
	for chip, limit := range map[string]string{ChipADS1115: "215Hz", ChipADS1015: "825Hz", ChipMCP3008: "18750Hz"} {
		mustParse(t, strings.Replace(fourAt(limit, limit, limit, limit), "ads1115", chip, 1))
	}
	if r, n := ChipRate("ads1234"); r != 0 || n != 0 {
		t.Errorf("ChipRate(unknown) = %v, %v", r, n)
	}
}

// Two I2C chips at different addresses share the bus and its pins; an
// encoder beside them on free pins is fine; so are two MCP3008s on CE0 and CE1.
func TestBusesShared(t *testing.T) {
	mustParse(t, strings.Replace(kbase, "inputs:", "  - {name: more, chip: ads1015, address: 0x49}\n  - {name: m0, chip: mcp3008}\n  - {name: m1, chip: mcp3008, cs: 1}\ninputs:", 1))
	// With cs 0 only, GPIO7 (CE1) stays free.
	mustParse(t, mcp+"outputs:\n  - {name: led, pin: GPIO7, address: /led}\n")
}

// The new examples load and say what their comments say.
func TestKindExamples(t *testing.T) {
	c, err := Load("examples/encoder.yaml")
	if err != nil {
		t.Fatal(err)
	}
	jog, _ := c.Input("jog")
	push, _ := c.Input("jog-push")
	vol, _ := c.Input("volume")
	if jog.Kind != KindEncoder || jog.Mode != "relative" || jog.Pins[0].BCM != 5 || jog.Pins[1].BCM != 6 ||
		push.Kind != KindDigital || push.Pin.BCM != 13 || vol.Mode != "absolute" || vol.Type != 'f' || vol.Step != 0.05 {
		t.Errorf("encoder.yaml: %+v\n%+v\n%+v", jog, push, vol)
	}
	c, err = Load("examples/analog-ads1115.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := c.ADC("panel"); a.Chip != ChipADS1115 || a.Addr != 0x48 || len(c.Inputs) != 3 {
		t.Errorf("analog-ads1115.yaml: %+v, %d inputs", a, len(c.Inputs))
	}
	if cut, _ := c.Input("cutoff"); cut.Range != [2]float64{0, 127} || cut.Type != 'i' {
		t.Errorf("cutoff %+v", cut)
	}
	c, err = Load("examples/analog-mcp3008.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := c.ADC("faders"); a.Chip != ChipMCP3008 || a.Bus != "/dev/spidev0.0" || len(c.Inputs) != 8 {
		t.Errorf("analog-mcp3008.yaml: %+v, %d inputs", a, len(c.Inputs))
	}
}

// The tables of keys that do not belong name keys of the right sections.
func TestKindTablesConsistent(t *testing.T) {
	adcKeys := keysOf[adcSpec]()
	if infoOf(reflect.TypeFor[adcSpec]()).at < 0 {
		t.Error("adcSpec has no positions field")
	}
	for kind, keys := range keysNotFor {
		for key := range keys {
			if !contains(inputKeys, key) {
				t.Errorf("keysNotFor[%s] has %q, which is not an input key", kind, key)
			}
		}
	}
	for key := range adcOnly {
		if !contains(adcKeys, key) || contains(inputKeys, key) {
			t.Errorf("adcOnly has %q, which is not an adc-only key", key)
		}
	}
	for key := range notInADC {
		if contains(adcKeys, key) {
			t.Errorf("notInADC has %q, which is an adc key", key)
		}
	}
}
