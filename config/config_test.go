package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// parseErrors parses src and returns its errors; it fails the test if
// there are none or they are not Errors.
func parseErrors(t *testing.T, src string) Errors {
	t.Helper()
	c, err := Parse("mapping.yaml", []byte(src))
	if err == nil {
		t.Fatalf("Parse accepted:\n%s\nconfig: %+v", src, c)
	}
	if c != nil {
		t.Errorf("Parse returned a config with errors")
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("Parse error is %T, want Errors: %v", err, err)
	}
	return es
}

// wantOne asserts src has exactly one error, at pos ("LINE:COL"), whose
// message contains msg.
func wantOne(t *testing.T, src, pos, msg string) {
	t.Helper()
	es := parseErrors(t, src)
	if len(es) != 1 {
		t.Fatalf("got %d errors, want 1 at %s %q:\n%v", len(es), pos, msg, es)
	}
	prefix := "mapping.yaml:" + pos + ": "
	got := es[0].Error()
	if !strings.HasPrefix(got, prefix) || !strings.Contains(got[len(prefix):], msg) {
		t.Errorf("error\n got: %s\nwant: %s...%s...", got, prefix, msg)
	}
}

func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	c, err := Parse("mapping.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	return c
}

// base is a valid mapping; cases append to it or change it.
const base = `destinations:
  max: 127.0.0.1:9000
  pd: 127.0.0.1:9001
outputs:
  - name: led
    pin: GPIO17
    address: /led
inputs:
  - name: button
    pin: GPIO27
    address: /button
    to: [max]
`

func TestBaseIsValid(t *testing.T) { mustParse(t, base) }

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src, pos, msg string
	}{
		// Unknown keys, with a did-you-mean where one is close.
		{"unknown key suggestion", base + "  - name: lamp\n    pin: GPIO22\n    address: /lamp\n    activ_low: true\n    to: [max]\n",
			"16:5", `unknown key "activ_low" in input "lamp"; did you mean "active_low"?`},
		{"unknown key swapped letters", strings.Replace(base, "    address: /led", "    adrdess: /led\n    address: /led", 1),
			"7:5", `unknown key "adrdess" in output "led"; did you mean "address"?`},
		{"unknown key list", strings.Replace(base, "    address: /led", "    address: /led\n    colour: red", 1),
			"8:5", `unknown key "colour" in output "led"; known keys: name, pin, address, active_low, initial, safe, no_arg`},
		{"unknown top key", "destination:\n  max: 127.0.0.1:9000\n",
			"1:1", `unknown key "destination" at the top of the file; did you mean "destinations"?`},
		{"input key in output", strings.Replace(base, "    address: /led", "    address: /led\n    debounce: 5ms", 1),
			"8:5", `unknown key "debounce" in output "led"; debounce is an input setting`},
		{"esphome inverted", strings.Replace(base, "    address: /led", "    address: /led\n    inverted: true", 1),
			"8:5", `unknown key "inverted" in output "led"; did you mean "active_low"?`},
		{"unknown key in values", base + "    values: {pressed: 1}\n",
			"13:14", `unknown key "pressed" in values of input "button"; did you mean "press"?`},
		{"unknown key in sim", base + "sim:\n  jumper: []\n",
			"14:3", `unknown key "jumper" in sim; did you mean "jumpers"?`},
		{"duplicate key", strings.Replace(base, "    address: /led", "    address: /led\n    pin: GPIO22", 1),
			"8:5", `key "pin" is given twice in output "led" (first at line 6); keep one`},

		// Wrong YAML types.
		{"oscgpio_methods", "oscgpio_methods: none\n", "1:18", `oscgpio_methods must be one of all, read_only, off, not "none"`},
		{"top level list", "- name: led\n", "1:1", "the mapping file must be sections of key: value lines (listen, destinations, outputs, inputs, sim), not a list"},
		{"outputs mapping", "outputs:\n  name: led\n", "2:3", `outputs must be a list, each item starting with "- name:", not a mapping`},
		{"output item scalar", "outputs:\n  - led\n", "2:5", `each item under outputs must be an output with key: value lines`},
		{"bool", strings.Replace(base, "    address: /led", "    address: /led\n    active_low: yes", 1),
			"8:17", `active_low must be true or false, not "yes"`},
		{"pin list", strings.Replace(base, "pin: GPIO17", "pin: [GPIO17]", 1),
			"6:10", `pin must be a single value like GPIO17, not a list`},
		{"empty name", strings.Replace(base, "name: led", "name:", 1),
			"5:10", `name must be a single value like led, not empty`},
		{"values not a mapping", base + "    values: 1\n", "13:13", `values must be {press: 1, release: 0}, not the single value "1"`},
		{"destinations list", "destinations: [max]\n", "1:15", "destinations must be name: host:port lines, like monitor: 127.0.0.1:5006, not a list"},
		{"input address list", strings.Replace(base, "address: /button", "address: [/button]", 1),
			"11:14", "an input sends to one address: write address: /button (a list is for outputs)"},

		// Missing keys, at the item.
		{"no name", strings.Replace(base, "  - name: led\n    pin", "  - pin", 1),
			"5:5", "output at line 5 has no name: add a line like name: led"},
		{"no pin", strings.Replace(base, "    pin: GPIO27\n", "", 1),
			"9:5", `input "button" has no pin: add a line like pin: GPIO17`},
		{"no address", strings.Replace(base, "    address: /led\n", "", 1),
			"5:5", `output "led" has no address: add a line like address: /led`},
		{"no to", strings.Replace(base, "    to: [max]\n", "", 1),
			"9:5", `input "button" has no to: name at least one destination, like to: [monitor]`},
		{"to mapping", strings.Replace(base, "to: [max]", "to: {max: 1}", 1),
			"12:9", `to must list destination names, like [monitor], not a mapping`},
		{"empty to", strings.Replace(base, "to: [max]", "to: []", 1),
			"12:9", `input "button" sends to no destination`},

		// Names and pins used twice.
		{"duplicate name", strings.Replace(base, "name: button", "name: led", 1),
			"9:11", `name "led" is already used by output "led" (line 5): give every output and input its own name`},
		{"duplicate pin", strings.Replace(base, "pin: GPIO27", "pin: pin 11", 1),
			"10:10", `pin GPIO17 is already used by output "led" (line 6): each pin can be mapped once`},

		// Pins.
		{"pin off header", strings.Replace(base, "pin: GPIO17", "pin: GPIO41", 1),
			"6:10", `pin "GPIO41" is not on the 40-pin header (GPIO2-GPIO27)`},
		{"pin power", strings.Replace(base, "pin: GPIO17", "pin: pin 2", 1),
			"6:10", `pin 2 is 5V power, not a GPIO: use a GPIO such as GPIO17 (pin 11)`},
		{"pin ground", strings.Replace(base, "pin: GPIO17", "pin: P1_39", 1),
			"6:10", `pin 39 is ground, not a GPIO`},
		{"pin eeprom", strings.Replace(base, "pin: GPIO17", "pin: 0", 1),
			"6:10", `pin "0" is GPIO0 (pin 27), reserved for the HAT ID EEPROM`},
		{"pin name", strings.Replace(base, "pin: GPIO17", "pin: LED1", 1),
			"6:10", `pin "LED1" is not a pin name`},

		// OSC addresses.
		{"address pattern", strings.Replace(base, "address: /led", "address: /led*", 1),
			"7:14", `address "/led*" has pattern characters; a mapped address is plain, like /led`},
		{"address pattern in list", strings.Replace(base, "address: /led", `address: [/led, "/x/{a,b}"]`, 1),
			"7:21", `address "/x/{a,b}" has pattern characters`},
		{"address no slash", strings.Replace(base, "address: /led", "address: led", 1),
			"7:14", `address "led" does not start with '/': write it like /led`},
		{"address space", strings.Replace(base, "address: /button", `address: "/my button"`, 1),
			"11:14", `address "/my button" has a space`},
		{"address hash", strings.Replace(base, "address: /led", `address: "/led#1"`, 1),
			"7:14", `address "/led#1" has '#'`},
		{"address empty part", strings.Replace(base, "address: /led", "address: /led//1", 1),
			"7:14", `address "/led//1" has an empty part between slashes`},
		{"address trailing slash", strings.Replace(base, "address: /led", "address: /led/", 1),
			"7:14", `address "/led/" has an empty part between slashes`},
		{"address root", strings.Replace(base, "address: /led", "address: /", 1),
			"7:14", `address "/" is only the root`},
		{"output address under /sim/", strings.Replace(base, "address: /led", "address: /sim/led", 1),
			"7:14", `address "/sim/led" is under /sim/, which the bridge keeps for driving simulated inputs`},
		{"address empty string", strings.Replace(base, "address: /led", `address: ""`, 1),
			"7:14", `address "" is empty: write one like /led`},
		{"address empty list", strings.Replace(base, "address: /led", "address: []", 1),
			"7:14", `output "led": the address list is empty`},
		{"address twice in one output", strings.Replace(base, "address: /led", "address: [/led, /led]", 1),
			"7:21", `address /led is listed twice in output "led"; keep one`},
		{"two outputs on one address", strings.Replace(base, "inputs:", "  - name: lamp\n    pin: GPIO22\n    address: [/lamp, /led]\ninputs:", 1),
			"10:22", `two outputs on address /led: "led" (line 7) and "lamp" (line 10); an address drives one output`},

		// Destinations.
		{"undefined destination", strings.Replace(base, "to: [max]", "to: [max, maxx]", 1),
			"12:15", `input "button" sends to "maxx", which is not under destinations (defined: max, pd); did you mean "max"?`},
		{"no destinations defined", strings.Replace(base, "destinations:\n  max: 127.0.0.1:9000\n  pd: 127.0.0.1:9001\n", "", 1),
			"9:10", `input "button" sends to "max", which is not under destinations (none are defined`},
		{"destination twice in to", strings.Replace(base, "to: [max]", "to: [max, max]", 1),
			"12:15", `input "button" lists destination "max" twice`},
		{"destination no port", strings.Replace(base, "127.0.0.1:9000", "127.0.0.1", 1),
			"2:8", `destination "max": address "127.0.0.1" has no port: write host:port, like 127.0.0.1:5006`},
		{"destination port range", strings.Replace(base, "127.0.0.1:9000", "127.0.0.1:70000", 1),
			"2:8", `destination "max": address "127.0.0.1:70000" has port "70000", not a number from 1 to 65535`},
		{"destination port zero", strings.Replace(base, "127.0.0.1:9000", "127.0.0.1:0", 1),
			"2:8", `has port "0", not a number from 1 to 65535`},
		{"destination port name", strings.Replace(base, "127.0.0.1:9000", "127.0.0.1:osc", 1),
			"2:8", `has port "osc", not a number from 1 to 65535`},
		{"destination no host", strings.Replace(base, "127.0.0.1:9000", `":9000"`, 1),
			"2:8", `destination "max": address ":9000" has no host`},
		{"destination bad host", strings.Replace(base, "127.0.0.1:9000", `"my laptop:9000"`, 1),
			"2:8", `has host "my laptop", which is neither an IP address nor a hostname`},
		{"destination ipv6 no brackets", strings.Replace(base, "127.0.0.1:9000", `"::1:9000"`, 1),
			"2:8", `has too many colons (put an IPv6 address in brackets, like [::1]:5006)`},
		{"destination twice", strings.Replace(base, "  pd: 127.0.0.1:9001", "  max: 127.0.0.1:9001", 1),
			"3:3", `destination "max" is defined twice (first at line 2); keep one`},
		{"destination not a value", strings.Replace(base, "max: 127.0.0.1:9000", "max: {host: x}", 1),
			"2:8", `destination "max" must be host:port, like 127.0.0.1:5006, not a mapping`},
		{"listen", "listen: 5005\n", "1:9", `listen "5005" has no port: write host:port, like 127.0.0.1:5005`},

		// Durations and values.
		{"debounce no unit", base + "    debounce: 20\n", "13:15", `debounce "20" has no unit: write it like 20ms`},
		{"debounce seconds no unit", base + "    debounce: 0.02\n", "13:15", `debounce "0.02" has no unit: write it like 0.02s`},
		{"debounce not a duration", base + "    debounce: soon\n", "13:15", `debounce "soon" is not a duration: write it like 20ms`},
		{"debounce too long", base + "    debounce: 2s\n", "13:15", `debounce 2s is out of range: use 0 to 1s`},
		{"debounce negative", base + "    debounce: -5ms\n", "13:15", `debounce -5ms is out of range`},
		{"poll too short", base + "    poll: 100us\n", "13:11", `poll 100us is out of range: use 0 (edge interrupts) or 1ms to 1s`},
		{"value not a number", base + "    values: {press: \"1\"}\n", "13:21", `values press must be a number like 1 or 0.5, not "1"`},
		{"value infinite", base + "    values: {release: .inf}\n", "13:23", `values release must be a number`},
		{"value not whole for i", base + "    values: {press: 0.5, release: 0}\n", "13:21", `values press 0.5 is not a whole number, but type i sends integers: use a whole number or type f`},
		{"value not whole for h", base + "    type: h\n    values: {press: 1, release: 0.25}\n", "14:33", `values release 0.25 is not a whole number, but type h sends integers`},
		{"value too big for i", base + "    values: {press: 3000000000}\n", "13:21", `values press 3000000000 does not fit type i (int32)`},
		{"type", base + "    type: s\n", "13:11", `type must be one of i, f, d, h, T`},
		{"pull", base + "    pull: pullup\n", "13:11", `pull must be one of up, down, none, not "pullup"`},
		{"initial", strings.Replace(base, "    address: /led", "    address: /led\n    initial: maybe", 1),
			"8:14", `initial must be on or off (or true/false, 1/0), not "maybe"`},
		{"safe", strings.Replace(base, "    address: /led", "    address: /led\n    safe: 2", 1),
			"8:11", `safe must be on or off (or true/false, 1/0), not "2"`},
		{"no_arg", strings.Replace(base, "    address: /led", "    address: /led\n    no_arg: flip", 1),
			"8:13", `no_arg must be one of toggle, on, off, ignore, not "flip"`},

		// Jumpers.
		{"jumper swapped", base + "sim:\n  jumpers:\n    - [GPIO27, GPIO17]\n",
			"15:7", `jumper [GPIO27, GPIO17] runs from input "button" to output "led": swap them, a jumper is [output pin, input pin]`},
		{"jumper from unmapped", base + "sim:\n  jumpers:\n    - [GPIO22, GPIO27]\n",
			"15:8", `jumper from GPIO22 (pin 15): no output uses that pin; a jumper is [output pin, input pin]`},
		{"jumper to unmapped", base + "sim:\n  jumpers:\n    - [GPIO17, GPIO22]\n",
			"15:16", `jumper to GPIO22 (pin 15): no input uses that pin`},
		{"jumper not a pair", base + "sim:\n  jumpers:\n    - [GPIO17]\n",
			"15:7", `a jumper is a pair [output pin, input pin], like [GPIO17, GPIO27], not a list`},
		{"jumper bad pin", base + "sim:\n  jumpers:\n    - [GPIO17, pin 1]\n",
			"15:16", `jumper: pin 1 is 3V3 power, not a GPIO`},
		{"jumpers twice to one input", strings.Replace(base, "inputs:", "  - name: lamp\n    pin: GPIO22\n    address: /lamp\ninputs:", 1) +
			"sim:\n  jumpers:\n    - [GPIO17, GPIO27]\n    - [GPIO22, GPIO27]\n",
			"19:16", `jumper to GPIO27 (pin 13): input "button" is already wired by the jumper on line 18; an input takes one jumper`},
		{"jumpers not a list", base + "sim:\n  jumpers: GPIO17\n", "14:12", `jumpers must be a list of [output pin, input pin] pairs`},

		// The file itself.
		{"syntax error", base + "    values: {press: 1\n", "13:1", `YAML syntax error: did not find expected ',' or '}'`},
		{"syntax error tab", strings.Replace(base, "    pin: GPIO17", "\tpin: GPIO17", 1),
			"6:1", `YAML syntax error: found a tab character that violates indentation; indent with spaces, YAML does not allow tabs`},
		{"syntax error parser line", "outputs:\n- name: led\n  pin: GPIO17\n address: /a\n", "4:1", `YAML syntax error: did not find expected key`},
		{"syntax error odd indent", "outputs:\n  - name: led\n    pin: GPIO17\n    address: /led\n  - name: b\n    pin: GPIO22\n    address: /b\n   safe: off\n",
			"8:4", `YAML syntax error: did not find expected '-' indicator; this line's indentation matches none of the lines above it`},
		{"syntax error scanner line", "outputs:\n  - name: \"led\n    pin: GPIO17\n", "2:1", `YAML syntax error: found unexpected end of stream`},
		{"syntax error no line", "a: b: c\n", "1:1", `YAML syntax error: mapping values are not allowed in this context`},
		{"second document", base + "---\nlisten: 127.0.0.1:1\n", "14:1", `a second YAML document (after ---)`},
	} {
		t.Run(tc.name, func(t *testing.T) { wantOne(t, tc.src, tc.pos, tc.msg) })
	}
}

func TestAllErrorsReported(t *testing.T) {
	src := `listen: localhost
destinations:
  max: 10.0.0.2:9000
outputs:
  - name: led
    pin: GPIO41
    address: /led*
    activ_low: true
  - name: lamp
    pin: GPIO22
    address: /lamp
  - name: lamp2
    pin: GPIO22
    address: /lamp
inputs:
  - name: button
    pin: 2
    pull: sideways
    debounce: 5
    address: /button
    to: [maxx]
`
	es := parseErrors(t, src)
	want := []string{
		`mapping.yaml:1:9: listen "localhost" has no port`,
		`mapping.yaml:6:10: pin "GPIO41" is not on the 40-pin header (GPIO2-GPIO27)`,
		`mapping.yaml:7:14: address "/led*" has pattern characters`,
		`mapping.yaml:8:5: unknown key "activ_low" in output "led"; did you mean "active_low"?`,
		`mapping.yaml:13:10: pin GPIO22 is already used by output "lamp" (line 10)`,
		`mapping.yaml:14:14: two outputs on address /lamp: "lamp" (line 11) and "lamp2" (line 14)`,
		`mapping.yaml:18:11: pull must be one of up, down, none, not "sideways"`,
		`mapping.yaml:19:15: debounce "5" has no unit`,
		`mapping.yaml:21:10: input "button" sends to "maxx", which is not under destinations (defined: max); did you mean "max"?`,
	}
	if len(es) != len(want) {
		t.Errorf("got %d errors, want %d:\n%v", len(es), len(want), es)
	}
	for i := 0; i < len(es) && i < len(want); i++ {
		if !strings.HasPrefix(es[i].Error(), want[i]) {
			t.Errorf("error %d\n got: %s\nwant: %s...", i, es[i], want[i])
		}
	}
	// Errors.Error is one line per error.
	if lines := strings.Split(es.Error(), "\n"); len(lines) != len(es) {
		t.Errorf("Errors.Error() has %d lines for %d errors", len(lines), len(es))
	}
}

func TestDefaults(t *testing.T) {
	c := mustParse(t, `destinations:
  monitor: 127.0.0.1:5006
outputs:
  - name: led
    pin: 17
    address: /led
inputs:
  - name: button
    pin: pin 13
    address: /button
    to: monitor
`)
	want := &Config{
		File:   "mapping.yaml",
		Listen: "127.0.0.1:5005", MaxScheduleAhead: time.Minute, Methods: MethodsAll,
		Destinations: []Destination{{Name: "monitor", Addr: "127.0.0.1:5006", Pos: Pos{2, 3}}},
		Outputs: []Output{{Name: "led", Pin: pin(t, "GPIO17"), Addresses: []string{"/led"},
			ActiveLow: false, Initial: false, Safe: false, NoArg: "toggle", Pos: Pos{4, 5},
			Pulse: 100 * time.Millisecond, OnMessage: "set", Duty: 0.5, Type: 'i', FeedbackRate: 30}},
		Inputs: []Input{{Name: "button", Pin: pin(t, "GPIO27"), Pull: "none", ActiveLow: false,
			Debounce: 20 * time.Millisecond, Poll: 0, Address: "/button", Press: 1, Release: 0, Type: 'i',
			To: []string{"monitor"}, Mode: ModeMomentary, ReportAtStart: true, FeedbackRate: 30, Pos: Pos{8, 5}}},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
}

func TestEveryKeySet(t *testing.T) {
	c := mustParse(t, `listen: 0.0.0.0:9000
destinations:
  a: example.local:1
  b: "[::1]:65535"
outputs:
  - name: relay
    pin: P1_15
    address: [/relay/1, /all]
    active_low: true
    initial: on
    safe: 1
    no_arg: ignore
inputs:
  - name: sw
    pin: BCM5
    pull: Down
    active_low: false
    debounce: 0
    poll: 2ms
    address: /sw
    values: {press: 127, release: -1}
    type: h
    to: [b, a]
  - name: fader
    pin: GPIO6
    address: /fader
    values: {press: 0.75}
    type: f
    to: [a]
sim:
  jumpers: [[GPIO22, GPIO5]]
`)
	if c.Listen != "0.0.0.0:9000" {
		t.Errorf("Listen %q", c.Listen)
	}
	o := c.Outputs[0]
	if o.Pin.BCM != 22 || !reflect.DeepEqual(o.Addresses, []string{"/relay/1", "/all"}) || !o.ActiveLow || !o.Initial || !o.Safe || o.NoArg != "ignore" {
		t.Errorf("output %+v", o)
	}
	in := c.Inputs[0]
	if in.Pin.BCM != 5 || in.Pull != "down" || in.ActiveLow || in.Debounce != 0 || in.Poll != 2*time.Millisecond ||
		in.Press != 127 || in.Release != -1 || in.Type != 'h' || !reflect.DeepEqual(in.To, []string{"b", "a"}) {
		t.Errorf("input %+v", in)
	}
	if f := c.Inputs[1]; f.Press != 0.75 || f.Release != 0 || f.Type != 'f' {
		t.Errorf("input %+v", f)
	}
	if len(c.Jumpers) != 1 || c.Jumpers[0].From.BCM != 22 || c.Jumpers[0].To.BCM != 5 || c.Jumpers[0].Pos != (Pos{31, 13}) {
		t.Errorf("jumpers %+v", c.Jumpers)
	}
	if d, ok := c.Destination("b"); !ok || d.Addr != "[::1]:65535" {
		t.Errorf("Destination(b) = %+v, %v", d, ok)
	}
	if _, ok := c.Destination("c"); ok {
		t.Errorf("Destination(c) found")
	}
}

func TestAddressForms(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want []string
	}{
		{"/led", []string{"/led"}},
		{"[/led, /test]", []string{"/led", "/test"}},
		{"\n      - /led\n      - /test/1", []string{"/led", "/test/1"}},
	} {
		c := mustParse(t, "outputs:\n  - name: led\n    pin: GPIO17\n    address: "+tc.yaml+"\n")
		if got := c.Outputs[0].Addresses; !reflect.DeepEqual(got, tc.want) {
			t.Errorf("address: %s -> %q, want %q", tc.yaml, got, tc.want)
		}
	}
}

func TestEmptyFile(t *testing.T) {
	for _, src := range []string{"", "# nothing yet\n", "outputs:\ninputs:\ndestinations:\nsim:\n"} {
		c := mustParse(t, src)
		if c.Listen != DefaultListen || len(c.Outputs)+len(c.Inputs)+len(c.Destinations)+len(c.Jumpers) != 0 {
			t.Errorf("%q: %+v", src, c)
		}
	}
}

func TestAliasesAreFollowed(t *testing.T) {
	c := mustParse(t, `destinations:
  monitor: &mon 127.0.0.1:5006
  copy: *mon
`)
	if d, _ := c.Destination("copy"); d.Addr != "127.0.0.1:5006" {
		t.Errorf("copy = %+v", d)
	}
}

func pin(t *testing.T, s string) (p wiringPin) {
	t.Helper()
	p, err := resolve(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefault(t *testing.T) {
	c := Default()
	want := &Config{
		File:   "tutorial (embedded)",
		Listen: "127.0.0.1:5005", MaxScheduleAhead: time.Minute, Methods: MethodsAll,
		Destinations: []Destination{{Name: "monitor", Addr: "127.0.0.1:5006"}},
		Outputs: []Output{{Name: "led", Pin: pin(t, "GPIO17"), Addresses: []string{"/led", "/test"},
			NoArg: "toggle", Pulse: 100 * time.Millisecond, OnMessage: "set", Duty: 0.5, Type: 'i', FeedbackRate: 30}},
		Inputs: []Input{{Name: "button", Pin: pin(t, "GPIO27"), Pull: "up", ActiveLow: true,
			Debounce: 20 * time.Millisecond, Address: "/button", Press: 1, Release: 0, Type: 'i',
			To: []string{"monitor"}, Mode: ModeMomentary, ReportAtStart: true, FeedbackRate: 30}},
	}
	// Positions depend on the file's comments; compare the rest.
	c.Destinations[0].Pos, c.Outputs[0].Pos, c.Inputs[0].Pos = Pos{}, Pos{}, Pos{}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Default() =\n%+v\nwant\n%+v", c, want)
	}
	// Each call is a fresh copy.
	c.Outputs[0].Name = "changed"
	if Default().Outputs[0].Name != "led" {
		t.Error("Default() shares state between calls")
	}
}

func TestExamplesLoad(t *testing.T) {
	files, err := filepath.Glob("examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("found %d examples: %v", len(files), files)
	}
	loaded := map[string]*Config{}
	for _, f := range files {
		c, err := Load(f)
		if err != nil {
			t.Errorf("%s:\n%v", f, err)
			continue
		}
		if c.File != f {
			t.Errorf("%s: File = %q", f, c.File)
		}
		if err := c.WriteTable(&bytes.Buffer{}); err != nil {
			t.Errorf("%s: WriteTable: %v", f, err)
		}
		loaded[filepath.Base(f)] = c
	}
	// The end-to-end test relies on sim-jumper.yaml being a wire from the
	// LED to an input that reads it as pressed when high.
	if c := loaded["sim-jumper.yaml"]; c != nil {
		in := c.Inputs[0]
		if len(c.Jumpers) != 1 || c.Jumpers[0].From.Name() != "GPIO17" || c.Jumpers[0].To.Name() != "GPIO27" ||
			c.Outputs[0].Addresses[0] != "/led" || in.Pin.Name() != "GPIO27" || in.Pull != "down" || in.ActiveLow ||
			in.Address != "/button" || in.Press != 1 || in.Release != 0 || in.Type != 'i' {
			t.Errorf("sim-jumper.yaml is not the LED-to-button loop: %+v", c)
		}
	} else {
		t.Error("no sim-jumper.yaml")
	}
	if c := loaded["qlab-relay.yaml"]; c != nil {
		o := c.Outputs[0]
		if !o.ActiveLow || o.Safe || o.Initial {
			t.Errorf("qlab-relay.yaml relay is not active-low and safe off: %+v", o)
		}
	} else {
		t.Error("no qlab-relay.yaml")
	}
	if c := loaded["pd-max-controller.yaml"]; c != nil {
		hasF := false
		for _, in := range c.Inputs {
			hasF = hasF || in.Type == 'f'
		}
		if !hasF || len(c.Inputs) < 3 {
			t.Errorf("pd-max-controller.yaml: want several inputs, one with type f: %+v", c.Inputs)
		}
	} else {
		t.Error("no pd-max-controller.yaml")
	}
	if loaded["led-button.yaml"] == nil {
		t.Error("no led-button.yaml")
	}
	// The embedded default is the tutorial example, byte for byte.
	b, err := os.ReadFile("examples/tutorial.yaml")
	if err != nil || !bytes.Equal(b, tutorialYAML) {
		t.Errorf("embedded tutorial differs from examples/tutorial.yaml (%v)", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Load(missing) = %v; want a not-found error naming %s", err, path)
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "show.yaml")
	if err := os.WriteFile(path, []byte("outputs:\n  - name: led\n    pin: GPIO99\n    address: /led\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	want := path + `:3:10: pin "GPIO99" is not on the 40-pin header (GPIO2-GPIO27)`
	if err == nil || err.Error() != want {
		t.Fatalf("Load = %v\nwant %s", err, want)
	}
	var e *Error
	if !errors.As(err, &e) || e.File != path || e.Line != 3 || e.Col != 10 {
		t.Errorf("errors.As(*Error) = %+v", e)
	}
}

func TestWriteTable(t *testing.T) {
	c := mustParse(t, `destinations:
  monitor: 127.0.0.1:5006
outputs:
  - name: relay
    pin: GPIO22
    address: [/relay, /all]
    active_low: true
    safe: on
inputs:
  - name: button
    pin: GPIO27
    pull: up
    active_low: true
    poll: 2ms
    address: /button
    values: {press: 0.5, release: 0}
    type: f
    to: [monitor]
sim:
  jumpers: [[GPIO22, GPIO27]]
`)
	var b bytes.Buffer
	if err := c.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	want := `mapping mapping.yaml
listen 127.0.0.1:5005
destinations monitor=127.0.0.1:5006

NAME    DIR  PIN     HEADER  ADDRESS       DETAILS
relay   out  GPIO22  pin 15  /relay, /all  active-low, initial off, safe on, no-arg toggle
button  in   GPIO27  pin 13  /button       pull up, active-low, debounce 20ms, poll 2ms, values 0.5/0 as f, to: monitor=127.0.0.1:5006

sim jumper GPIO22 (pin 15) -> GPIO27 (pin 13)
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	if err := c.WriteTable(failWriter{}); err == nil {
		t.Error("WriteTable to a failing writer returned nil")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, fmt.Errorf("disk full") }

func TestSuggest(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"activ_low", "active_low"}, {"Pin", "pin"}, {"adress", "address"}, {"tp", "to"},
		{"inverted", "active_low"}, {"colour", ""}, {"xyz", ""}, {"debounse", "debounce"},
	} {
		if got := suggest(tc.in, inputKeys); got != tc.want {
			t.Errorf("suggest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
