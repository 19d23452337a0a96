package config

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestCheckAddress(t *testing.T) {
	// The valid cases of oscmap's TestValidAddress, and more.
	for _, a := range []string{"/led", "/led/1", "/a-b_c.d", "/Led/Über", "/1", "/~x!@$%^&()=+;:'\"<>|\\",
		"/oscgpio/stats", "/sim/GPIO27", "/a\uFFFDb"} {
		if err := CheckAddress(a); err != nil {
			t.Errorf("CheckAddress(%q) = %v, want nil", a, err)
		}
	}
	// The invalid cases of oscmap's TestValidAddress, with this package's
	// wording, and the zero-width space that used to load.
	for _, c := range []struct{ addr, want string }{
		{"", `address "" is empty: write one like /led`},
		{"led", `address "led" does not start with '/': write it like /led`},
		{"/", `address "/" is only the root`},
		{"/led/", `address "/led/" has an empty part between slashes`},
		{"/a//b", `address "/a//b" has an empty part between slashes`},
		{"/led*", `address "/led*" has pattern characters`},
		{"/led?", `address "/led?" has pattern characters`},
		{"/led[1]", `address "/led[1]" has pattern characters`},
		{"/{led}", `address "/{led}" has pattern characters`},
		{"/a b", `address "/a b" has a space`},
		{"/a#b", `address "/a#b" has '#', which OSC keeps for bundles`},
		{"/a,b", `address "/a,b" has ',', which OSC does not allow in an address`},
		{"/a\tb", `address "/a\tb" has a space`},
		{"/a\x00b", `address "/a\x00b" has a control character`},
		{"/a\u00a0b", `address "/a\u00a0b" has a space`},
		{"/a\xffb", `address "/a\xffb" is not valid UTF-8`},
		{"/led\u200b", `address "/led\u200b" has the non-printing character U+200B`},
		{"/\u2060led", `has the non-printing character U+2060`},
		{"/led\u202e", `has the non-printing character U+202E`},
	} {
		err := CheckAddress(c.addr)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) && !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckAddress(%q) = %v, want an error with %q", c.addr, err, c.want)
		}
	}
}

func TestAddressRules(t *testing.T) {
	for _, tc := range []struct{ name, src, pos, msg string }{
		{"zero-width space in an output address", strings.Replace(base, "address: /led", `address: "/led\u200b"`, 1),
			"7:14", `address "/led\u200b" has the non-printing character U+200B`},
		{"zero-width space in an input address", strings.Replace(base, "address: /button", `address: "/button\u200b"`, 1),
			"11:14", `address "/button\u200b" has the non-printing character U+200B`},
		{"comma", strings.Replace(base, "address: /led", `address: "/a,b"`, 1),
			"7:14", `address "/a,b" has ',', which OSC does not allow in an address: remove it`},
		{"invalid UTF-8", strings.Replace(base, "address: /led", "address: /a\xffb", 1),
			"7:16", `YAML syntax error: invalid leading UTF-8 octet; save the file as UTF-8`}, // yaml refuses it before the address is read
		{"output under /oscgpio/", strings.Replace(base, "address: /led", "address: [/led, /oscgpio/stats]", 1),
			"7:21", `address "/oscgpio/stats" is under /oscgpio/, which the bridge keeps for its own methods (/oscgpio/stats and others): choose another, like /led`},
		{"output on /oscgpio", strings.Replace(base, "address: /led", "address: /oscgpio", 1),
			"7:14", `address "/oscgpio" is under /oscgpio/`},
		{"output on /sim", strings.Replace(base, "address: /led", "address: /sim", 1),
			"7:14", `address "/sim" is under /sim/`},
	} {
		t.Run(tc.name, func(t *testing.T) { wantOne(t, tc.src, tc.pos, tc.msg) })
	}
	// Only the prefix as a whole part is reserved.
	c := mustParse(t, strings.Replace(base, "address: /led", "address: [/oscgpios, /simple, /led/oscgpio]", 1))
	if o, _ := c.Output("led"); !reflect.DeepEqual(o.Addresses, []string{"/oscgpios", "/simple", "/led/oscgpio"}) {
		t.Errorf("addresses %q", o.Addresses)
	}
}

// Every bad item of a list is reported, not only the first.
func TestListErrorsAllReported(t *testing.T) {
	src := strings.Replace(base, "address: /led", "address: [/a*, {x: 1}, /oscgpio/x, /ok, /ok]", 1)
	src = strings.Replace(src, "to: [max]", "to: [[max], nope, max, max]", 1) + "sim:\n  jumpers: [[GPIO17], [GPIO17, pin 1], [pin 2, GPIO27]]\n"
	es := parseErrors(t, src)
	var got []string
	for _, e := range es {
		got = append(got, e.Error())
	}
	want := []string{
		`mapping.yaml:7:15: address "/a*" has pattern characters`,
		`mapping.yaml:7:20: address must be an OSC address like /led (or a list [/led, /test]), not a mapping`,
		`mapping.yaml:7:28: address "/oscgpio/x" is under /oscgpio/`,
		`mapping.yaml:7:45: address /ok is listed twice in output "led"; keep one`,
		`mapping.yaml:12:10: to must list destination names, like [monitor], not a list`,
		`mapping.yaml:12:17: input "button" sends to "nope", which is not under destinations (defined: max, pd)`,
		`mapping.yaml:12:28: input "button" lists destination "max" twice; keep one`,
		`mapping.yaml:14:13: a jumper is a pair [output pin, input pin]`,
		`mapping.yaml:14:32: jumper: pin 1 is 3V3 power`,
		`mapping.yaml:14:41: jumper: pin 2 is 5V power`,
	}
	if len(got) != len(want) {
		t.Errorf("got %d errors, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := 0; i < len(got) && i < len(want); i++ {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d\n got: %s\nwant: %s...", i, got[i], want[i])
		}
	}
}

// A value that has been reported is not reported again by a rule that uses it.
func TestOneMistakeOneMessage(t *testing.T) {
	for _, tc := range []struct{ name, src, pos, msg string }{
		{"bad type, values not checked against it", base + "    type: x\n    values: {press: 0.5}\n", "13:11", "type must be one of"},
		{"bad output name, its pin still wired", strings.Replace(base, "name: led", "name: {led: 1}", 1) + "sim:\n  jumpers: [[GPIO17, GPIO27]]\n",
			"5:11", `name must be a single value like led, not a mapping`},
		{"bad destination, to it not reported", strings.Replace(base, "127.0.0.1:9000", "127.0.0.1", 1), "2:8", `destination "max": address "127.0.0.1" has no port`},
		{"bad debounce, range not checked", base + "    debounce: [1s]\n", "13:15", "debounce must be a single value like 20ms, not a list"},
		{"name not a word, not missing", strings.Replace(base, "name: led", "name: [led]", 1), "5:11", "name must be a single value like led, not a list"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantOne(t, tc.src, tc.pos, tc.msg) })
	}
}

func TestLookups(t *testing.T) {
	c := mustParse(t, base)
	if o, ok := c.Output("led"); !ok || o.Pin.BCM != 17 || o.Addresses[0] != "/led" {
		t.Errorf("Output(led) = %+v, %v", o, ok)
	}
	if in, ok := c.Input("button"); !ok || in.Pin.BCM != 27 || in.Address != "/button" {
		t.Errorf("Input(button) = %+v, %v", in, ok)
	}
	if _, ok := c.Output("button"); ok {
		t.Error("Output(button) found an input")
	}
	if _, ok := c.Input("led"); ok {
		t.Error("Input(led) found an output")
	}
}

// The schema's structs agree with the hints: keys are unique, the keys
// said to belong to the other kind of item do, and every struct has a
// positions field for its messages.
func TestSchemaConsistent(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeFor[fileSpec](), reflect.TypeFor[outputSpec](),
		reflect.TypeFor[inputSpec](), reflect.TypeFor[valuesSpec](), reflect.TypeFor[simSpec]()} {
		si := infoOf(typ)
		if si.at < 0 {
			t.Errorf("%s has no positions field", typ)
		}
		if len(si.byKey) != len(si.keys) {
			t.Errorf("%s has a key twice: %v", typ, si.keys)
		}
	}
	for key := range inputOnly {
		if !contains(inputKeys, key) || contains(outputKeys, key) {
			t.Errorf("inputOnly has %q, which is not an input-only key", key)
		}
	}
	for key := range outputOnly {
		if !contains(outputKeys, key) || contains(inputKeys, key) {
			t.Errorf("outputOnly has %q, which is not an output-only key", key)
		}
	}
	for alias, key := range aliases {
		if contains(topKeys, alias) == false && !contains(topKeys, key) && !contains(inputKeys, key) &&
			!contains(outputKeys, key) && !contains(keysOf[valuesSpec](), key) && !contains(keysOf[simSpec](), key) {
			t.Errorf("alias %q names %q, which no section has", alias, key)
		}
	}
}

// A new kind of item is a struct with tags: the decoder needs nothing else.
type testServo struct {
	Name    string     `yaml:"name" example:"arm" required:"add a line like name: arm"`
	Pin     pinName    `yaml:"pin" example:"GPIO18" required:"add a line like pin: GPIO18"`
	Min     duration   `yaml:"min_pulse" example:"1ms"`
	Reverse boolean    `yaml:"reverse"`
	Range   testLimits `yaml:"range" want:"must be {low: 0, high: 180}"`
	At      positions
}

type testLimits struct {
	Low  number `yaml:"low"`
	High number `yaml:"high"`
	At   positions
}

func (testServo) kind() string { return "servo" }
func (testServo) misplaced() map[string]string {
	return map[string]string{"pull": "pull is an input setting"}
}

type testFile struct {
	Servos []testServo `yaml:"servos,empty" item:"a servo"`
	At     positions
}

func TestDecoderNewSection(t *testing.T) {
	src := `servos:
  - name: arm
    pin: GPIO18
    min_pulse: 1ms
    range: {low: 10, high: 170}
  - name: claw
    pin: [GPIO19]
    min_puls: 2ms
    pull: up
    reverse: maybe
    range: {low: 1, hihg: 2}
  - pin: GPIO20
    range: 5
`
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(src), &root); err != nil {
		t.Fatal(err)
	}
	d := &decoder{file: "servo.yaml"}
	var f testFile
	d.section(root.Content[0], reflect.ValueOf(&f).Elem(), "at the top of the file", "", "", nil)
	d.errs.sort()
	want := []string{
		`servo.yaml:7:10: pin must be a single value like GPIO18, not a list`,
		`servo.yaml:8:5: unknown key "min_puls" in servo "claw"; did you mean "min_pulse"?`,
		`servo.yaml:9:5: unknown key "pull" in servo "claw"; pull is an input setting`,
		`servo.yaml:10:14: reverse must be true or false, not "maybe"`,
		`servo.yaml:11:21: unknown key "hihg" in range of servo "claw"; did you mean "high"?`,
		`servo.yaml:12:5: servo at line 12 has no name: add a line like name: arm`,
		`servo.yaml:13:12: range must be {low: 0, high: 180}, not the single value "5"`,
	}
	if got := d.errs.Error(); got != strings.Join(want, "\n") {
		t.Errorf("errors\n got:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	arm := f.Servos[0]
	if len(f.Servos) != 3 || arm.Name != "arm" || arm.Pin.pin.BCM != 18 || arm.Min != duration(1e6) || arm.Range.Low != 10 || arm.Range.High != 170 {
		t.Errorf("servos %+v", f.Servos)
	}
	if p := arm.Range.At.val("high"); p.Line != 5 || p.Column != 28 || arm.At.pos() != (Pos{2, 5}) {
		t.Errorf("positions: high at %d:%d, arm at %v", p.Line, p.Column, arm.At.pos())
	}
	if claw := f.Servos[1]; !claw.At.has("pin") || claw.At.good("pin") || !claw.At.good("name") {
		t.Errorf("claw positions: has pin %v, good pin %v, good name %v", claw.At.has("pin"), claw.At.good("pin"), claw.At.good("name"))
	}
}

// FuzzLoad is the mapping loader's fuzz target. It checks that Parse (what
// Load runs on a file's bytes, and what check and run load with) never
// panics, never hangs and stays within its limits: it returns either a Config or Errors, at most MaxErrors and
// a count, each one line "f.yaml:LINE:COL: message" at a place in the
// file. The seed corpus (testdata/fuzz/FuzzLoad) has alias bombs, anchors
// and aliases, huge numbers, binary, tabs and deep nesting; the files over
// MaxFileSize are made here (a corpus file that size would weigh on the
// repository).
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("examples/*.yaml")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(base + "    values: {press: 1.5, release: x}\n    type: h\nsim:\n  jumpers: [[GPIO17, GPIO27], [GPIO27, GPIO17]]\n"))
	f.Add([]byte("a: &x [*x]\n"))
	if fuzz := flag.Lookup("test.fuzz"); fuzz == nil || fuzz.Value.String() == "" {
		// Only as seeds: when fuzzing, the engine would spend its time
		// minimizing megabyte inputs (the limit is tested by
		// TestFileSizeLimit and TestLoadHugeFile too).
		f.Add([]byte(base + strings.Repeat("# a comment line of a file over the size limit\n", MaxFileSize/48+1)))
		f.Add(bytes.Repeat([]byte{0}, MaxFileSize+1))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		c, err := Parse("f.yaml", data)
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("Parse of %d bytes took %v", len(data), d)
		}
		if (c == nil) == (err == nil) {
			t.Fatalf("Parse = %v, %v: want exactly one", c, err)
		}
		if err == nil {
			if len(data) > MaxFileSize {
				t.Fatalf("accepted %d bytes, over MaxFileSize", len(data))
			}
			return
		}
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("error %T %v, want Errors", err, err)
		}
		if len(es) > MaxErrors+1 {
			t.Fatalf("%d errors, more than MaxErrors and a count", len(es))
		}
		// At most as many lines as YAML's line breaks make: \n, \r (a
		// lone CR is one, \r\n counts twice here), NEL, LS and PS.
		lines := 1 + bytes.Count(data, []byte{'\n'}) + bytes.Count(data, []byte{'\r'}) +
			bytes.Count(data, []byte("\u0085")) + bytes.Count(data, []byte("\u2028")) + bytes.Count(data, []byte("\u2029"))
		for i, e := range es {
			if e.File != "f.yaml" || e.Line < 1 || e.Line > lines || e.Col < 1 || e.Msg == "" {
				t.Fatalf("error without a position in the file (%d lines) or a message: %+v", lines, e)
			}
			if strings.ContainsAny(e.Error(), "\n\r") {
				t.Fatalf("error on more than one line: %q", e.Error())
			}
			if (e.More > 0) != (i == MaxErrors) {
				t.Fatalf("error %d has More %d", i, e.More)
			}
		}
		if n := strings.Count(err.Error(), "\n") + 1; n != len(es) {
			t.Fatalf("Error() has %d lines for %d errors", n, len(es))
		}
	})
}

// A schema field the decoder cannot fill is found when the schema is first
// read, not when a file happens to use the key.
func TestUndecodableFieldPanics(t *testing.T) {
	type bad struct {
		Count int `yaml:"count"`
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "cannot fill type int") {
			t.Errorf("recover() = %v, want the cannot-fill panic", r)
		}
	}()
	infoOf(reflect.TypeFor[bad]())
}
