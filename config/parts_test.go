package config

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/oscgpio/oscgpio/wiring"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/wiring")

// Every example mapping's drawing, as SVG and as text, is the golden file
// of testdata/wiring (go test ./config -run TestWiringGolden -update
// rewrites them, and docs/wiring-led-button.svg, the README's). Each SVG is well-formed XML, and drawing twice gives the
// same bytes.
func TestWiringGolden(t *testing.T) {
	files, err := filepath.Glob("examples/*.yaml")
	if err != nil || len(files) < 5 {
		t.Fatalf("examples: %v %v", files, err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			c, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			var svg, again, text bytes.Buffer
			if err := wiring.SVG(&svg, c.Parts()); err != nil {
				t.Fatal(err)
			}
			if err := wiring.SVG(&again, c.Parts()); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(svg.Bytes(), again.Bytes()) {
				t.Error("two drawings of the same mapping differ")
			}
			wellFormed(t, svg.Bytes())
			if err := wiring.Text(&text, c.Parts()); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "wiring", name+".svg"), svg.Bytes())
			golden(t, filepath.Join("testdata", "wiring", name+".txt"), text.Bytes())
			if name == "led-button" { // the drawing in the README
				golden(t, filepath.Join("..", "docs", "wiring-led-button.svg"), svg.Bytes())
			}
			seen[name+".svg"], seen[name+".txt"] = true, true
		})
	}
	// No golden file is left from an example that is gone.
	old, _ := filepath.Glob(filepath.Join("testdata", "wiring", "*"))
	for _, g := range old {
		if !seen[filepath.Base(g)] && !*update {
			t.Errorf("%s has no example: remove it", g)
		}
	}
}

// golden compares got with the file at path, or writes it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./config -run TestWiringGolden -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the drawing (if the change is intended, run go test ./config -run TestWiringGolden -update and look at it):\n%s",
			path, firstDiff(got, want))
	}
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			return "line " + strconv.Itoa(i+1) + ":\n got: " + a + "\nwant: " + b
		}
	}
	return "(same lines)"
}

// wellFormed decodes the whole document with encoding/xml: one svg root in
// the SVG namespace, every element closed.
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
			t.Fatalf("not well-formed XML: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if e.Name.Local != "svg" || e.Name.Space != "http://www.w3.org/2000/svg" {
					t.Errorf("root element %v, want svg in the SVG namespace", e.Name)
				}
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if roots != 1 || depth != 0 {
		t.Errorf("%d root elements, depth %d at the end", roots, depth)
	}
}

// Parts turns each output, input and adc into the part drawn for it.
func TestParts(t *testing.T) {
	c := mustParse(t, `destinations: {m: 127.0.0.1:9000}
adcs:
  - {name: knobs, chip: ads1115, address: 0x49, volts: 3.3}
  - {name: faders, chip: mcp3008, cs: 1}
outputs:
  - {name: led, pin: GPIO17, address: [/led, /test], volts: 3.3}
  - {name: smoke, pin: GPIO22, address: /cue/relay/1, active_low: true}
  - {name: Relay2, pin: GPIO23, address: /two}
  - {name: lamp, pin: GPIO24, address: /lamp, part: relay}
  - {name: dim, kind: pwm, pin: GPIO18, address: /dim}
  - {name: relayled, pin: GPIO25, address: /rl, part: led}
  - {name: arm, kind: servo, pin: GPIO19, address: /arm}
inputs:
  - {name: go, pin: GPIO27, pull: up, active_low: true, address: /go, to: m}
  - {name: pir, pin: GPIO5, part: sensor, address: /pir, to: m, volts: 3V3}
  - {name: jog, kind: encoder, pins: [GPIO6, GPIO13], address: /jog, to: m, volts: 3.3}
  - {name: k0, kind: analog, adc: knobs, channel: 0, address: /k0, to: m}
  - {name: f3, kind: analog, adc: faders, channel: 3, address: /f3, to: m}
`)
	parts := c.Parts()
	type want struct {
		kind wiring.PartKind
		name string
		pins []int // BCM
	}
	wants := []want{
		{wiring.LED, "led", []int{17}}, {wiring.Relay, "smoke", []int{22}}, {wiring.Relay, "Relay2", []int{23}},
		{wiring.Relay, "lamp", []int{24}}, {wiring.LED, "dim", []int{18}}, {wiring.LED, "relayled", []int{25}},
		{wiring.Servo, "arm", []int{19}}, {wiring.Button, "go", []int{27}}, {wiring.Sensor, "pir", []int{5}},
		{wiring.Encoder, "jog", []int{6, 13}}, {wiring.ADC, "knobs", []int{2, 3}}, {wiring.ADC, "faders", []int{10, 9, 11, 7}},
	}
	if len(parts) != len(wants) {
		t.Fatalf("%d parts, want %d: %+v", len(parts), len(wants), parts)
	}
	for i, w := range wants {
		p := parts[i]
		var bcm []int
		for _, pin := range p.Pins {
			bcm = append(bcm, pin.BCM)
		}
		if p.Kind != w.kind || p.Name != w.name || !reflect.DeepEqual(bcm, w.pins) {
			t.Errorf("part %d = %v %q %v, want %v %q %v", i, p.Kind, p.Name, bcm, w.kind, w.name, w.pins)
		}
	}
	if p := parts[0]; p.Address != "/led, /test" || p.Volts != 3.3 {
		t.Errorf("led: %+v", p)
	}
	if p := parts[1]; !p.ActiveLow {
		t.Errorf("smoke is not active low: %+v", p)
	}
	if !parts[4].PWM || parts[0].PWM {
		t.Errorf("PWM: dim %v, led %v", parts[4].PWM, parts[0].PWM)
	}
	if p := parts[7]; p.Pull != "up" || !p.ActiveLow || p.Address != "/go" {
		t.Errorf("go: %+v", p)
	}
	if p := parts[8]; p.Volts != 3.3 || p.Pull != "none" {
		t.Errorf("pir: %+v", p)
	}
	if p := parts[9]; p.Pull != "up" || p.Volts != 3.3 {
		t.Errorf("jog: %+v", p)
	}
	if p := parts[10]; p.Chip != "ads1115" || p.ChipAddr != "0x49" || p.Volts != 3.3 ||
		!reflect.DeepEqual(p.Channels, []wiring.Channel{{Number: 0, Name: "k0", Address: "/k0"}}) {
		t.Errorf("knobs: %+v", p)
	}
	if p := parts[11]; p.Chip != "mcp3008" || p.ChipAddr != "" ||
		!reflect.DeepEqual(p.Channels, []wiring.Channel{{Number: 3, Name: "f3", Address: "/f3"}}) {
		t.Errorf("faders: %+v", p)
	}
	if ws := c.Warnings(); len(ws) != 0 {
		t.Errorf("warnings: %v", ws)
	}
}

// volts: is 3.3 or 5, on outputs, digital inputs, encoders and adcs.
func TestVoltsKey(t *testing.T) {
	for _, v := range []struct {
		text string
		want float64
	}{{"3.3", 3.3}, {"3V3", 3.3}, {"3.3V", 3.3}, {"3.3 v", 3.3}, {"5", 5}, {"5V", 5}, {"5.0", 5}} {
		c := mustParse(t, strings.Replace(base, "    address: /led\n", "    address: /led\n    volts: "+v.text+"\n", 1))
		if got := c.Outputs[0].Volts; got != v.want {
			t.Errorf("volts: %s gives %v, want %v", v.text, got, v.want)
		}
	}
	if c := mustParse(t, base); c.Outputs[0].Volts != 0 || c.Inputs[0].Volts != 0 {
		t.Errorf("volts not given: %v, %v", c.Outputs[0].Volts, c.Inputs[0].Volts)
	}
	for _, bad := range []string{"12", "3", "0", "-5", "high", "[3.3]", `""`, "~"} {
		src := strings.Replace(base, "    address: /button\n", "    address: /button\n    volts: "+bad+"\n", 1)
		es := parseErrors(t, src)
		if len(es) != 1 || es[0].Line != 12 || es[0].Col != 12 {
			t.Errorf("volts: %s: errors %v, want one at 12:12", bad, es)
			continue
		}
		if bad == "[3.3]" || bad == "~" {
			if !strings.Contains(es[0].Msg, "volts must be a single value like 3.3") {
				t.Errorf("volts: %s: %s", bad, es[0].Msg)
			}
		} else if !strings.HasPrefix(es[0].Msg, "volts must be 3.3 or 5 (the volts the part works at") {
			t.Errorf("volts: %s: %s", bad, es[0].Msg)
		}
	}
	wantOne(t, base+"adcs:\n  - {name: a, chip: ads1115, volts: 9}\n", "14:37", "volts must be 3.3 or 5")
	src := strings.Replace(base, "inputs:\n", "adcs:\n  - {name: a, chip: ads1115}\ninputs:\n  - {name: k, kind: analog, adc: a, channel: 0, address: /k, to: max, volts: 5}\n", 1)
	wantOne(t, src, "11:71", `key "volts" in input "k" (kind: analog): an analog input is read through an ADC: give volts: on its adc, under adcs:`)
}

// part: is led or relay on outputs, button or sensor on digital inputs.
func TestPartKey(t *testing.T) {
	out := func(extra string) string {
		return strings.Replace(base, "    address: /led\n", "    address: /led\n"+extra, 1)
	}
	in := func(extra string) string {
		return strings.Replace(base, "    address: /button\n", "    address: /button\n"+extra, 1)
	}
	if c := mustParse(t, out("    part: Relay\n")); c.Outputs[0].Part != PartRelay {
		t.Errorf("part: Relay gives %q", c.Outputs[0].Part)
	}
	if c := mustParse(t, in("    part: sensor\n")); c.Inputs[0].Part != PartSensor {
		t.Errorf("part: sensor gives %q", c.Inputs[0].Part)
	}
	if c := mustParse(t, base); c.Outputs[0].Part != "" || c.Inputs[0].Part != "" {
		t.Errorf("part not given: %q, %q", c.Outputs[0].Part, c.Inputs[0].Part)
	}
	wantOne(t, out("    part: lamp\n"), "8:11", `part must be one of led, relay, not "lamp"`)
	wantOne(t, in("    part: relay\n"), "12:11", `part must be one of button, sensor, not "relay"`)
	wantOne(t, out("    kind: servo\n    part: led\n"), "9:11", `output "led": part is for digital and pwm outputs (led or relay); a kind: servo output is drawn as a servo: remove part`)
	wantOne(t, out("    kind: pwm\n    part: relay\n"), "9:11", `output "led": part: relay is switched on and off: it needs a digital output, not kind: pwm`)
	if c := mustParse(t, out("    kind: pwm\n    part: led\n")); c.Outputs[0].Part != PartLED {
		t.Errorf("pwm part: led gives %q", c.Outputs[0].Part)
	}
	enc := strings.Replace(base, "    pin: GPIO27\n", "    kind: encoder\n    pins: [GPIO27, GPIO22]\n    part: button\n", 1)
	wantOne(t, enc, "12:5", `key "part" in input "button" (kind: encoder): part is a setting of digital inputs (button or sensor)`)
}

// A part marked volts: 5 on a GPIO is a warning at its volts: key, for an
// output, an input, an encoder and an adc; volts: 3.3 is none.
func TestVoltsWarnings(t *testing.T) {
	src := `destinations: {m: 127.0.0.1:9000}
adcs:
  - name: knobs
    chip: ads1115
    volts: 5
outputs:
  - name: relay1
    pin: GPIO22
    address: /relay
    volts: 5
  - {name: led, pin: GPIO17, address: /led, volts: 3.3}
inputs:
  - {name: pir, pin: GPIO5, part: sensor, address: /pir, to: m, volts: 5}
  - {name: jog, kind: encoder, pins: [GPIO6, GPIO13], address: /jog, to: m, volts: 5V}
  - {name: go, pin: GPIO27, address: /go, to: m}
`
	c := mustParse(t, src)
	ws := c.Warnings()
	want := []string{
		`mapping.yaml:5:12: adc "knobs" is marked volts: 5, but its bus pins GPIO2 (pin 3) and GPIO3 (pin 5) are 3.3 V`,
		`mapping.yaml:10:12: relay "relay1" is marked volts: 5, but GPIO22 (pin 15) drives 3.3 V: a 5 V relay board may not switch from it`,
		`mapping.yaml:13:72: sensor "pir" is marked volts: 5, but GPIO5 (pin 29) takes 3.3 V at most: 5 V on it can damage the Pi`,
		`mapping.yaml:14:84: encoder "jog" is marked volts: 5, but GPIO6 (pin 31) and GPIO13 (pin 33) take 3.3 V at most: 5 V on them`,
	}
	if len(ws) != len(want) {
		t.Fatalf("warnings:\n%v\nwant %d", Errors(ws), len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(ws[i].Error(), w) {
			t.Errorf("warning %d\n got: %s\nwant: %s...", i, ws[i], w)
		}
	}
	// Nothing is marked 5 V: no warning.
	c = mustParse(t, strings.NewReplacer("volts: 5V", "volts: 3.3", "volts: 5", "volts: 3.3").Replace(src))
	if ws := c.Warnings(); len(ws) != 0 {
		t.Errorf("warnings with volts 3.3: %v", ws)
	}
}

// What wiring.Check warns of besides volts, a mapping refuses as errors,
// with the messages it had: a GPIO an adc's bus needs, a pin used twice.
func TestWiringConflictsAreErrors(t *testing.T) {
	src := strings.Replace(base, "pin: GPIO27", "pin: GPIO2", 1) + "adcs:\n  - {name: knobs, chip: ads1115}\n"
	wantOne(t, src, "10:10", `pin GPIO2 is I2C1 SDA, which adc "knobs" (line 14) needs for its bus /dev/i2c-1: move input "button" to another pin`)
	src = strings.Replace(base, "pin: GPIO27", "pin: GPIO17", 1)
	wantOne(t, src, "10:10", `pin GPIO17 is already used by output "led" (line 6): each pin can be mapped once`)
}

// check's table shows part: and volts: when they are given.
func TestTableShowsPartAndVolts(t *testing.T) {
	c := mustParse(t, `destinations: {m: 127.0.0.1:9000}
adcs:
  - {name: knobs, chip: ads1115, volts: 3.3}
outputs:
  - {name: smoke, pin: GPIO22, address: /smoke, part: relay, volts: 5}
inputs:
  - {name: pir, pin: GPIO24, part: sensor, volts: 3.3, address: /pir, to: m}
  - {name: jog, kind: encoder, pins: [GPIO5, GPIO6], volts: 3.3, address: /jog, to: m}
`)
	var b bytes.Buffer
	if err := c.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"no-arg toggle, part relay, 5V\n", "as i, part sensor, 3.3V, to: m=", "4 steps/detent, 3.3V, as i", "knobs ads1115 on /dev/i2c-1 address 0x48, 3.3V, at most"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the table has no %q:\n%s", want, b.String())
		}
	}
	var plain bytes.Buffer
	if err := mustParse(t, base).WriteTable(&plain); err != nil || strings.Contains(plain.String(), "part ") || strings.Contains(plain.String(), "V,") {
		t.Errorf("a mapping without part: or volts: shows them: %v\n%s", err, plain.String())
	}
}
