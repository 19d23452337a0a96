package config

import (
	"errors"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/oscgpio/oscgpio/wiring"
)

// The schema: one struct per section of the file, one field per key (see
// decode.go for the tags), each field a value type below that decodes and
// checks its own value. What needs more than one value (names used once,
// destinations defined, values that fit the type) is checked afterwards, in
// validate.go.

// fileSpec is the whole file.
type fileSpec struct {
	Listen       listenAddr      `yaml:"listen" example:"127.0.0.1:5005"`
	ReplyPort    port            `yaml:"reply_port" example:"53001"`
	Watchdog     duration        `yaml:"watchdog" example:"2s"`
	MaxAhead     duration        `yaml:"max_schedule_ahead" example:"60s"`
	Methods      methodsSetting  `yaml:"oscgpio_methods" example:"read_only"`
	Allow        allowList       `yaml:"allow"`
	RateLimit    rateLimitSpec   `yaml:"rate_limit" want:"must be {rate: 200, burst: 50}"`
	Destinations destinationList `yaml:"destinations"`
	Outputs      []outputSpec    `yaml:"outputs,empty" item:"an output"`
	Inputs       []inputSpec     `yaml:"inputs,empty" item:"an input"`
	ADCs         []adcSpec       `yaml:"adcs,empty" item:"an adc (name:, chip:, bus:, address: or cs:)"`
	Sim          simSpec         `yaml:"sim,empty" want:"must hold jumpers:, like sim: {jumpers: [[GPIO17, GPIO27]]}"`
	HTTP         httpSpec        `yaml:"http"`
	At           positions
}

func (f *fileSpec) setDefaults() {
	f.Listen, f.MaxAhead, f.Methods = DefaultListen, duration(defaultMaxAhead), MethodsAll
}

// outputSpec is one item under outputs.
type outputSpec struct {
	Name      string      `yaml:"name" example:"led" required:"add a line like name: led"`
	Pin       pinName     `yaml:"pin" example:"GPIO17" required:"add a line like pin: GPIO17"`
	Address   addressList `yaml:"address" required:"add a line like address: /led"`
	ActiveLow boolean     `yaml:"active_low"`
	Initial   outLevel    `yaml:"initial"`
	Safe      outLevel    `yaml:"safe"`
	NoArg     noArg       `yaml:"no_arg"`
	// kind: pwm and kind: servo (issue 8).
	Kind          outputKind `yaml:"kind"`
	Range         numberPair `yaml:"range"`
	Gamma         number     `yaml:"gamma" example:"2.2"`
	Frequency     hertz      `yaml:"frequency"`
	MinPulse      duration   `yaml:"min_pulse" example:"1000us"`
	MaxPulse      duration   `yaml:"max_pulse" example:"2000us"`
	Pulse         duration   `yaml:"pulse" example:"100ms"`
	OnMessage     onMessage  `yaml:"on_message"`
	Duty          number     `yaml:"duty" example:"0.5"`
	Watchdog      duration   `yaml:"watchdog" example:"2s"`
	MaxSwitchRate hertz      `yaml:"max_switch_rate" example:"10Hz"`
	// Feedback (issue 8): the output's changes sent to destinations.
	Type         oscType   `yaml:"type"`
	Feedback     destNames `yaml:"feedback"`
	FeedbackRate hertz     `yaml:"feedback_rate"`
	// Wiring diagrams (issue 10): what the output drives, and its volts.
	Part  outputPart `yaml:"part"`
	Volts volts      `yaml:"volts" example:"3.3"`
	At    positions
}

func (o *outputSpec) setDefaults() {
	o.NoArg, o.OnMessage, o.Duty = "toggle", "set", 0.5
	o.Pulse = duration(defaultPulse)
	o.Type, o.FeedbackRate = 'i', defaultFeedbackRate
}
func (outputSpec) kind() string                 { return "output" }
func (outputSpec) misplaced() map[string]string { return inputOnly }

// inputSpec is one item under inputs. Which keys an input may have depends
// on its kind (digital, encoder, analog): validate.go checks that, and sets
// the defaults that differ by kind.
type inputSpec struct {
	Name      string       `yaml:"name" example:"button" required:"add a line like name: button"`
	Kind      inputKind    `yaml:"kind"`
	Pin       pinName      `yaml:"pin" example:"GPIO17"` // required for digital inputs: validate.go
	Pins      pinPair      `yaml:"pins"`
	Pull      pull         `yaml:"pull"`
	ActiveLow boolean      `yaml:"active_low"`
	Debounce  duration     `yaml:"debounce" example:"20ms"`
	Poll      duration     `yaml:"poll" example:"20ms"`
	Address   inputAddress `yaml:"address" required:"add a line like address: /button"`
	Values    valuesSpec   `yaml:"values" want:"must be {press: 1, release: 0}"`
	Type      oscType      `yaml:"type"`
	To        destNames    `yaml:"to" required:"name at least one destination, like to: [monitor]"`
	// kind: encoder and kind: analog (issue 7). mode is shared with the
	// button modes: its words are checked per kind in validate.go.
	Mode           inputMode   `yaml:"mode" example:"relative"`
	Min            number      `yaml:"min"`
	Max            number      `yaml:"max"`
	Step           number      `yaml:"step"`
	Wrap           boolean     `yaml:"wrap"`
	StepsPerDetent detentSteps `yaml:"steps_per_detent"`
	Reverse        boolean     `yaml:"reverse"`
	ADC            string      `yaml:"adc" example:"knobs"`
	Channel        whole       `yaml:"channel"`
	Range          numberPair  `yaml:"range"`
	Rate           hertz       `yaml:"rate"`
	Deadband       number      `yaml:"deadband"`
	Smoothing      number      `yaml:"smoothing"`
	MaxRate        hertz       `yaml:"max_rate"`
	// Digital inputs (buttons and switches, issue 7); mode above is theirs too.
	Hold          duration `yaml:"hold" example:"800ms"`
	Repeat        duration `yaml:"repeat" example:"200ms"`
	ReportAtStart boolean  `yaml:"report_at_start"`
	// Feedback (issue 8), as for outputs.
	Feedback     destNames `yaml:"feedback"`
	FeedbackRate hertz     `yaml:"feedback_rate"`
	// Wiring diagrams (issue 10), as for outputs.
	Part  inputPart `yaml:"part"`
	Volts volts     `yaml:"volts" example:"3.3"`
	At    positions
}

func (in *inputSpec) setDefaults() {
	in.Pull, in.Debounce, in.Values.Press, in.Type = "none", duration(defaultDebounce), 1, 'i'
	in.ReportAtStart = true
	in.FeedbackRate = defaultFeedbackRate
}
func (inputSpec) kind() string                 { return "input" }
func (inputSpec) misplaced() map[string]string { return notInInput }

// adcSpec is one item under adcs: a chip that analog inputs read.
type adcSpec struct {
	Name    string  `yaml:"name" example:"knobs" required:"add a line like name: knobs"`
	Chip    adcChip `yaml:"chip" required:"add a line like chip: ads1115 (or ads1015, mcp3008)"`
	Bus     string  `yaml:"bus" example:"1"`
	Address i2cAddr `yaml:"address"`
	CS      whole   `yaml:"cs"`
	Volts   volts   `yaml:"volts" example:"3.3"`
	At      positions
}

func (adcSpec) kind() string                 { return "adc" }
func (adcSpec) misplaced() map[string]string { return notInADC }

// valuesSpec is an input's values: {press: 1, release: 0}.
type valuesSpec struct {
	Press   number `yaml:"press"`
	Release number `yaml:"release"`
	At      positions
}

// simSpec is the sim section, used by the sim backend only.
type simSpec struct {
	Jumpers jumperList `yaml:"jumpers"`
	At      positions
}

// The keys of each part of the file, in the order the documentation gives them.
var (
	topKeys    = keysOf[fileSpec]()
	outputKeys = keysOf[outputSpec]()
	inputKeys  = keysOf[inputSpec]()
)

// aliases are keys people bring from elsewhere (ESPHome, other bridges),
// with the key this file uses instead.
var aliases = map[string]string{
	"inverted":     "active_low",
	"invert":       "active_low",
	"activelow":    "active_low",
	"pullup":       "pull",
	"pull_up":      "pull",
	"destination":  "to",
	"destinations": "to",
	"send_to":      "to",
	"gpio":         "pin",
	"osc":          "address",
	"path":         "address",
	"value":        "values",
	"output":       "outputs",
	"input":        "inputs",
	"jumper":       "jumpers",
}

// inputOnly and outputOnly explain keys used in the wrong kind of item.
var (
	inputOnly = map[string]string{
		"pull": "pull is an input setting", "debounce": "debounce is an input setting",
		"poll": "poll is an input setting", "values": "values is an input setting",
		"to":   "outputs receive; to is an input setting (feedback: sends an output's changes)",
		"mode": "mode is an input setting", "hold": "hold is an input setting", "repeat": "repeat is an input setting",
		"report_at_start": "report_at_start is an input setting",
	}
	outputOnly = map[string]string{
		"initial": "initial is an output setting", "safe": "safe is an output setting",
		"no_arg": "no_arg is an output setting", "pulse": "pulse is an output setting",
		"on_message": "on_message is an output setting", "duty": "duty is an output setting",
	}
	adcOnly = map[string]string{
		"chip": "chip is a setting of an adc, under adcs:", "bus": "bus is a setting of an adc, under adcs:",
		"cs": "cs is a setting of an adc, under adcs:",
	}
	notInInput = merge(outputOnly, adcOnly)
	notInADC   = map[string]string{
		"pin":     "an adc is on the I2C or SPI bus, whose pins are fixed: give bus: (and address: or cs:)",
		"channel": "channel is a setting of each analog input that reads the adc (kind: analog, adc:, channel:)",
		"to":      "to is a setting of each analog input that reads the adc",
	}
)

// merge returns one map with the entries of ms.
func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// The value types. Each UnmarshalYAML reports a problem (see decode.go) that
// names the allowed values.

// boolean is true or false, nothing else.
type boolean bool

func (b *boolean) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		if v, err := strconv.ParseBool(strings.ToLower(n.Value)); err == nil {
			*b = boolean(v)
			return nil
		}
	}
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		return mustBe("must be true or false, not %q", n.Value)
	}
	return mustBe("must be true or false, not %s", describe(n))
}

// level is a logical level: on/off, true/false, 1/0.
type level bool

func (l *level) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		switch strings.ToLower(n.Value) {
		case "on", "true", "1":
			*l = true
			return nil
		case "off", "false", "0":
			if !isNull(n) {
				*l = false
				return nil
			}
		}
	}
	return mustBe("must be on or off (or true/false, 1/0), not %s", quoted(n))
}

// choose reads one of the allowed words, case-insensitive.
func choose(n *yaml.Node, allowed ...string) (string, error) {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		v := strings.ToLower(n.Value)
		for _, a := range allowed {
			if v == a {
				return v, nil
			}
		}
	}
	return "", mustBe("must be one of %s, not %s", strings.Join(allowed, ", "), quoted(n))
}

// outLevel is an output's initial or safe level: on or off (a digital
// output), or a number (a value in the range of a pwm or servo output).
type outLevel struct {
	on    bool
	num   float64
	isNum bool
}

func (l *outLevel) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		switch strings.ToLower(n.Value) {
		case "on", "true":
			*l = outLevel{on: true}
			return nil
		case "off", "false":
			*l = outLevel{}
			return nil
		}
		if n.Tag == "!!int" || n.Tag == "!!float" {
			var f float64
			if err := n.Decode(&f); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				*l = outLevel{on: f != 0, num: f, isNum: true}
				return nil
			}
		}
	}
	return mustBe("must be on or off (or true/false, 1/0), not %s", quoted(n))
}

// outputKind is "digital" (the default), "pwm" or "servo".
type outputKind string

func (k *outputKind) UnmarshalYAML(n *yaml.Node) error {
	v, err := choose(n, "digital", OutputPWM, OutputServo)
	*k = outputKind(v)
	return err
}

// onMessage is what a plain message to an output does: "set" or "pulse".
type onMessage string

func (a *onMessage) UnmarshalYAML(n *yaml.Node) error {
	v, err := choose(n, "set", "pulse")
	*a = onMessage(v)
	return err
}

// methodsSetting is which /oscgpio/ methods the bridge answers: "all",
// "read_only" or "off".
type methodsSetting string

func (m *methodsSetting) UnmarshalYAML(n *yaml.Node) error {
	v, err := choose(n, MethodsAll, MethodsReadOnly, MethodsOff)
	*m = methodsSetting(v)
	return err
}

// pull is an input's bias: "up", "down" or "none".
type pull string

func (p *pull) UnmarshalYAML(n *yaml.Node) error {
	v, err := choose(n, "up", "down", "none")
	*p = pull(v)
	return err
}

// noArg is what an output does with a message without argument: "toggle",
// "on", "off" or "ignore".
type noArg string

func (a *noArg) UnmarshalYAML(n *yaml.Node) error {
	v, err := choose(n, "toggle", "on", "off", "ignore")
	*a = noArg(v)
	return err
}

// oscType is the OSC type an input sends: 'i', 'f', 'd', 'h' or 'T'.
type oscType byte

func (t *oscType) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && len(n.Value) == 1 && strings.Contains("ifdhT", n.Value) {
		*t = oscType(n.Value[0])
		return nil
	}
	return mustBe("must be one of i, f, d, h, T (i int32, the default; f float32; d double; h int64; T sends T/F), not %s", quoted(n))
}

// duration is a Go duration with its unit ("20ms"); its range is checked
// by the section that uses it.
type duration time.Duration

func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	s := n.Value
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		if _, nerr := strconv.Atoi(s); nerr == nil {
			return mustBe("%q has no unit: write it like %sms (units: us, ms, s)", s, s)
		} else if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			return mustBe("%q has no unit: write it like %ss (units: us, ms, s)", s, s)
		}
		return mustBe("%q is not a duration: write it like 20ms (units: us, ms, s)", s)
	}
	*d = duration(v)
	return nil
}

// port is a UDP port, 1 to 65535.
type port int

func (p *port) UnmarshalYAML(n *yaml.Node) error {
	v, err := strconv.Atoi(strings.TrimSpace(n.Value))
	if n.Kind != yaml.ScalarNode || err != nil || v < 1 || v > 65535 {
		return mustBe("must be a port number from 1 to 65535, like 53001, not %s", quoted(n))
	}
	*p = port(v)
	return nil
}

// number is a finite number written as one (not quoted).
type number float64

func (x *number) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float") {
		var f float64
		if err := n.Decode(&f); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			*x = number(f)
			return nil
		}
	}
	return mustBe("must be a number like 1 or 0.5, not %s", quoted(n))
}

// pinName is a pin, by any name wiring.Resolve knows.
type pinName struct{ pin wiring.Pin }

func (p *pinName) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		return mustBe("must be a single value like GPIO17, not %s", describe(n))
	}
	pin, err := wiring.Resolve(n.Value)
	if err != nil {
		return problemAt(n, "%v", err)
	}
	p.pin = pin
	return nil
}

// listenAddr is where the OSC server listens: host:port, the host may be empty.
type listenAddr string

func (l *listenAddr) UnmarshalYAML(n *yaml.Node) error {
	if why := hostPort(n.Value, false); why != "" {
		return mustBe("%q %s: write host:port, like %s (0.0.0.0:5005 listens on every interface)", n.Value, why, DefaultListen)
	}
	*l = listenAddr(n.Value)
	return nil
}

// httpSpec is the http key: the dashboard's HTTP server. It is one of
//
//	http: off
//	http: 127.0.0.1:5080
//	http: {listen: 0.0.0.0:5080, control: true}
//
// (listen may be left out of the mapping form: DefaultHTTP).
type httpSpec HTTP

const httpForms = "off, HOST:PORT like " + DefaultHTTP + ", or {listen: HOST:PORT, control: true}"

func (h *httpSpec) UnmarshalYAML(n *yaml.Node) error {
	switch {
	case n.Kind == yaml.ScalarNode && !isNull(n):
		if v := strings.ToLower(n.Value); v == "off" || v == "false" && n.Tag == "!!bool" {
			*h = httpSpec{Off: true}
			return nil
		}
		if why := hostPort(n.Value, false); why != "" {
			return mustBe("%q %s: write %s", n.Value, why, httpForms)
		}
		*h = httpSpec{Listen: n.Value}
		return nil
	case n.Kind != yaml.MappingNode:
		return mustBe("must be %s, not %s", httpForms, describe(n))
	}
	var out httpSpec
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		switch k.Value {
		case "listen":
			if v.Kind != yaml.ScalarNode || isNull(v) {
				errs = append(errs, problemAt(v, "http listen must be HOST:PORT like %s, not %s", DefaultHTTP, describe(v)))
				continue
			}
			if why := hostPort(v.Value, false); why != "" {
				errs = append(errs, problemAt(v, "http listen %q %s: write host:port, like %s (0.0.0.0:5080 listens on every interface)", v.Value, why, DefaultHTTP))
				continue
			}
			out.Listen = v.Value
		case "control":
			var b boolean
			if err := b.UnmarshalYAML(v); err != nil {
				errs = append(errs, problemAt(v, "http control %v", err))
				continue
			}
			out.Control = bool(b)
		default:
			errs = append(errs, problemAt(k, "unknown key %q in http: use listen: and control:, like http: {listen: %s, control: true}", k.Value, DefaultHTTP))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	*h = out
	return nil
}

// scalarAt is one word of a list, with where it was written.
type scalarAt struct {
	v string
	n *yaml.Node
}

// addressList is an output's addresses: one, or a list. It keeps the valid
// ones; uniqueness is checked in validate.go.
type addressList struct {
	items []scalarAt
	list  bool // written as a list
	count int  // items written, valid or not
}

func (a *addressList) UnmarshalYAML(n *yaml.Node) error {
	nodes := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		a.list, nodes = true, n.Content
	}
	a.count = len(nodes)
	var errs []error
	for _, x := range nodes {
		x = deref(x)
		if x.Kind != yaml.ScalarNode || isNull(x) {
			errs = append(errs, problemAt(x, "address must be an OSC address like /led (or a list [/led, /test]), not %s", describe(x)))
			continue
		}
		if err := checkOutputAddress(x.Value); err != nil {
			errs = append(errs, problemAt(x, "%v", err))
			continue
		}
		a.items = append(a.items, scalarAt{x.Value, x})
	}
	return errors.Join(errs...)
}

// inputAddress is the one address an input sends to.
type inputAddress string

func (a *inputAddress) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.SequenceNode {
		return problemAt(n, "an input sends to one address: write address: /button (a list is for outputs)")
	}
	if n.Kind != yaml.ScalarNode || isNull(n) {
		return mustBe("must be a single value like /button, not %s", describe(n))
	}
	if err := CheckAddress(n.Value); err != nil {
		return problemAt(n, "%v", err)
	}
	*a = inputAddress(n.Value)
	return nil
}

// destNames is an input's to: destination names, one or a list. It keeps
// the words; validate.go checks that they are defined.
type destNames struct {
	items []scalarAt
	count int // items written, words or not
}

func (d *destNames) UnmarshalYAML(n *yaml.Node) error {
	var nodes []*yaml.Node
	switch n.Kind {
	case yaml.SequenceNode:
		nodes = n.Content
	case yaml.ScalarNode:
		if !isNull(n) {
			nodes = []*yaml.Node{n}
		}
	default:
		return mustBe("must list destination names, like [monitor], not %s", describe(n))
	}
	d.count = len(nodes)
	var errs []error
	for _, x := range nodes {
		x = deref(x)
		if x.Kind != yaml.ScalarNode || isNull(x) {
			errs = append(errs, problemAt(x, "to must list destination names, like [monitor], not %s", describe(x)))
			continue
		}
		d.items = append(d.items, scalarAt{x.Value, x})
	}
	return errors.Join(errs...)
}

// destinationList is the destinations section: name: host:port lines. The
// names are free, so it is a value type rather than a struct.
type destinationList []destinationSpec

type destinationSpec struct {
	name, addr string
	key        *yaml.Node
	ok         bool // addr is a valid host:port
}

func (ds *destinationList) UnmarshalYAML(n *yaml.Node) error {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return mustBe("must be name: host:port lines, like monitor: 127.0.0.1:5006, not %s", describe(n))
	}
	var errs []error
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || isNull(k) || strings.TrimSpace(k.Value) == "" {
			errs = append(errs, problemAt(k, "a destination name must be a word like monitor, not %s", describe(k)))
			continue
		}
		name := k.Value
		if line, dup := seen[name]; dup {
			errs = append(errs, problemAt(k, "destination %q is defined twice (first at line %d); keep one", name, line))
			continue
		}
		seen[name] = k.Line
		d := destinationSpec{name: name, key: k}
		switch {
		case v.Kind != yaml.ScalarNode || isNull(v):
			errs = append(errs, problemAt(v, "destination %q must be host:port, like 127.0.0.1:5006, not %s", name, describe(v)))
		case hostPort(v.Value, true) != "":
			errs = append(errs, problemAt(v, "destination %q: address %q %s: write host:port, like 127.0.0.1:5006", name, v.Value, hostPort(v.Value, true)))
		default:
			d.addr, d.ok = v.Value, true
		}
		*ds = append(*ds, d)
	}
	return errors.Join(errs...)
}

// jumperList is sim's jumpers: [output pin, input pin] pairs. It keeps the
// pairs whose pins are valid; validate.go checks them against the mapping.
type jumperList []jumperSpec

type jumperSpec struct {
	from, to wiring.Pin
	node     *yaml.Node    // the pair
	pins     [2]*yaml.Node // from, to
}

func (js *jumperList) UnmarshalYAML(n *yaml.Node) error {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		return problemAt(n, "jumpers must be a list of [output pin, input pin] pairs, like [[GPIO17, GPIO27]], not %s", describe(n))
	}
	var errs []error
	for _, x := range n.Content {
		x = deref(x)
		if x.Kind != yaml.SequenceNode || len(x.Content) != 2 {
			errs = append(errs, problemAt(x, "a jumper is a pair [output pin, input pin], like [GPIO17, GPIO27], not %s", describe(x)))
			continue
		}
		j := jumperSpec{node: x}
		good := true
		for k, pn := range x.Content {
			pn = deref(pn)
			j.pins[k] = pn
			if pn.Kind != yaml.ScalarNode || isNull(pn) {
				errs = append(errs, problemAt(pn, "a jumper's pins are names like GPIO17, not %s", describe(pn)))
				good = false
				continue
			}
			r, err := wiring.Resolve(pn.Value)
			if err != nil {
				errs = append(errs, problemAt(pn, "jumper: %v", err))
				good = false
				continue
			}
			if k == 0 {
				j.from = r
			} else {
				j.to = r
			}
		}
		if good {
			*js = append(*js, j)
		}
	}
	return errors.Join(errs...)
}

// inputKind is an input's kind: "digital" (a pin, the default), "encoder"
// or "analog".
type inputKind string

func (k *inputKind) UnmarshalYAML(n *yaml.Node) error {
	v, err := choose(n, "digital", "encoder", "analog")
	*k = inputKind(v)
	return err
}

// inputMode is an input's mode; which words are allowed depends on its
// kind, so validate.go checks them.
type inputMode string

// pinPair is an encoder's pins: [A, B], each by any name wiring.Resolve
// knows. It keeps the pins that resolve; validate.go checks their use.
type pinPair struct {
	pins  []wiring.Pin
	nodes []*yaml.Node // of pins
}

func (p *pinPair) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.SequenceNode || len(n.Content) != 2 {
		return mustBe("must be the encoder's two pins [A, B], like [GPIO5, GPIO6], not %s", describe(n))
	}
	var errs []error
	for _, x := range n.Content {
		x = deref(x)
		if x.Kind != yaml.ScalarNode || isNull(x) {
			errs = append(errs, problemAt(x, "pins are names like GPIO5, not %s", describe(x)))
			continue
		}
		pin, err := wiring.Resolve(x.Value)
		if err != nil {
			errs = append(errs, problemAt(x, "%v", err))
			continue
		}
		p.pins, p.nodes = append(p.pins, pin), append(p.nodes, x)
	}
	return errors.Join(errs...)
}

// integer reads a whole number written as one.
func integer(n *yaml.Node) (int, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		return 0, false
	}
	var v int
	return v, n.Decode(&v) == nil
}

// whole is a whole number, 0 or more.
type whole int

func (w *whole) UnmarshalYAML(n *yaml.Node) error {
	if v, ok := integer(n); ok && v >= 0 {
		*w = whole(v)
		return nil
	}
	return mustBe("must be a whole number like 0 or 1, not %s", quoted(n))
}

// detentSteps is an encoder's quadrature steps per detent: 4, 2 or 1.
type detentSteps int

func (d *detentSteps) UnmarshalYAML(n *yaml.Node) error {
	if v, ok := integer(n); ok && (v == 1 || v == 2 || v == 4) {
		*d = detentSteps(v)
		return nil
	}
	return mustBe("must be 4 (a full quadrature cycle per click, most encoders), 2 or 1, not %s", quoted(n))
}

// numberPair is two numbers: [low, high].
type numberPair [2]float64

func (p *numberPair) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.SequenceNode && len(n.Content) == 2 {
		var v [2]number
		good := true
		for i, x := range n.Content {
			good = good && v[i].UnmarshalYAML(deref(x)) == nil
		}
		if good {
			*p = numberPair{float64(v[0]), float64(v[1])}
			return nil
		}
	}
	return mustBe("must be two numbers [bottom, top], like [0, 1] or [0, 127], not %s", quoted(n))
}

// hertz is a frequency: "50Hz", "50 Hz" or a bare number (taken as Hz).
// That it is above 0 is checked by validate.go.
type hertz float64

func (h *hertz) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		s := strings.TrimSpace(n.Value)
		if len(s) > 2 && strings.EqualFold(s[len(s)-2:], "hz") {
			s = strings.TrimSpace(s[:len(s)-2])
		}
		scale := 1.0
		if len(s) > 1 && (s[len(s)-1] == 'k' || s[len(s)-1] == 'K') { // 1kHz
			s, scale = strings.TrimSpace(s[:len(s)-1]), 1000
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			*h = hertz(f * scale)
			return nil
		}
	}
	return mustBe("must be a frequency like 50Hz, not %s", quoted(n))
}

// volts is a part's supply and logic level: 3.3 or 5 (also written 3.3V,
// 3V3, 5V).
type volts float64

func (v *volts) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		switch strings.ToLower(strings.ReplaceAll(strings.TrimSpace(n.Value), " ", "")) {
		case "3.3", "3.3v", "3v3":
			*v = 3.3
			return nil
		case "5", "5.0", "5v":
			*v = 5
			return nil
		}
	}
	return mustBe("must be 3.3 or 5 (the volts the part works at: its supply and logic level), not %s", quoted(n))
}

// outputPart is what an output drives, for the wiring diagram: "led" or
// "relay" (by default a relay if its name or address says relay, else an
// LED; a servo output is a servo).
type outputPart string

func (p *outputPart) UnmarshalYAML(n *yaml.Node) error {
	v, err := choose(n, PartLED, PartRelay)
	*p = outputPart(v)
	return err
}

// inputPart is what drives a digital input, for the wiring diagram:
// "button" (the default: a button or switch) or "sensor" (a board with a
// logic output, like a PIR).
type inputPart string

func (p *inputPart) UnmarshalYAML(n *yaml.Node) error {
	v, err := choose(n, PartButton, PartSensor)
	*p = inputPart(v)
	return err
}

// adcChip is an ADC's chip: "ads1115", "ads1015" or "mcp3008".
type adcChip string

func (c *adcChip) UnmarshalYAML(n *yaml.Node) error {
	v, err := choose(n, ChipADS1115, ChipADS1015, ChipMCP3008)
	*c = adcChip(v)
	return err
}

// i2cAddr is an ADS1x15's I2C address: 0x48-0x4B, written in hex (0x48) or
// decimal (72).
type i2cAddr uint16

func (a *i2cAddr) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		if v, err := strconv.ParseUint(strings.TrimSpace(n.Value), 0, 16); err == nil && v >= 0x48 && v <= 0x4b {
			*a = i2cAddr(v)
			return nil
		}
	}
	return mustBe("must be the chip's I2C address, 0x48 (ADDR to GND, the default), 0x49 (ADDR to VDD), 0x4A (SDA) or 0x4B (SCL), not %s", quoted(n))
}

// allowList is the senders that may drive the bridge: addresses and
// networks ("10.0.0.5", "192.168.1.0/24", "fd00::/8"), each alone or with a
// rate limit of its own: {net: 10.0.0.5, rate_limit: {rate: 1000, burst: 100}}.
type allowList struct {
	items []AllowEntry
}

func (a *allowList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.SequenceNode {
		return mustBe("must be a list of addresses and networks, like [192.168.1.0/24, 10.0.0.5], not %s", describe(n))
	}
	var errs []error
	for _, x := range n.Content {
		x = deref(x)
		e := AllowEntry{Pos: Pos{x.Line, x.Column}}
		text := x.Value
		if x.Kind == yaml.MappingNode {
			text = ""
			for i := 0; i+1 < len(x.Content); i += 2 {
				k, v := deref(x.Content[i]), deref(x.Content[i+1])
				switch k.Value {
				case "net":
					text = v.Value
				case "rate_limit":
					var rl rateLimitSpec
					if err := rl.UnmarshalYAML(v); err != nil {
						errs = append(errs, problemAt(v, "rate_limit %v", err))
						continue
					}
					r := RateLimit(rl)
					e.RateLimit = &r
				default:
					errs = append(errs, problemAt(k, "unknown key %q in an allow entry: use net: and rate_limit:", k.Value))
				}
			}
		} else if x.Kind != yaml.ScalarNode || isNull(x) {
			errs = append(errs, problemAt(x, "an allow entry is an address or a network, like 10.0.0.5 or 192.168.1.0/24, not %s", describe(x)))
			continue
		}
		p, err := parsePrefix(text)
		if err != nil {
			errs = append(errs, problemAt(x, "allow entry %q is neither an address nor a network (like 10.0.0.5 or 192.168.1.0/24)", text))
			continue
		}
		e.Net = p
		a.items = append(a.items, e)
	}
	return errors.Join(errs...)
}

// parsePrefix reads an address (a /32 or /128) or a network.
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// rateLimitSpec is a token bucket: {rate: messages a second, burst}.
type rateLimitSpec RateLimit

func (r *rateLimitSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return mustBe("must be {rate: 200, burst: 50} (messages a second, and how many may come at once), not %s", describe(n))
	}
	var out rateLimitSpec
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		switch k.Value {
		case "rate":
			var x number
			if err := x.UnmarshalYAML(v); err != nil || x <= 0 {
				return problemAt(v, "rate must be a number of messages a second above 0, like 200, not %s", quoted(v))
			}
			out.Rate = float64(x)
		case "burst":
			var w whole
			if err := w.UnmarshalYAML(v); err != nil || w < 1 {
				return problemAt(v, "burst must be a whole number of messages, at least 1, like 50, not %s", quoted(v))
			}
			out.Burst = int(w)
		default:
			return problemAt(k, "unknown key %q in rate_limit: use rate: and burst:", k.Value)
		}
	}
	if out.Rate == 0 {
		return mustBe("needs rate:, like {rate: 200, burst: 50}")
	}
	if out.Burst == 0 {
		out.Burst = max(1, int(out.Rate/4))
	}
	*r = out
	return nil
}
