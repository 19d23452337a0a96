package config

import (
	"cmp"
	"fmt"
	"math"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/oscgpio/oscgpio/wiring"
)

// The validation pass: the rules that involve more than one value, run once
// over the decoded file in section order (destinations before the inputs
// that name them, every pin before the jumpers between them). A key whose
// value was already reported is skipped here, so that one mistake is
// reported once.

// use records where a name, pin or address was first used.
type use struct {
	kind string // "output" or "input"
	name string // its name, "" if it has none
	what string // `output "led"` or `output at line 3`
	line int
}

// checker holds what the pass has seen so far, and the Config it builds.
type checker struct {
	*decoder
	watchdog time.Duration // the file's default for outputs
	c        *Config
	names    map[string]use  // output and input names
	pins     map[int]use     // BCM number -> user
	addrs    map[string]use  // output addresses
	dests    map[string]bool // destination names, including ones with errors

	busPins map[int]busPin     // BCM number -> the adc whose bus needs it
	adcs    map[string]*adcUse // adc names, including ones with errors
	adcList []*adcUse          // in file order
	// adcsBroken: the adcs section, or an adc's name, has an error, so an
	// input naming an adc that is not there is not reported again.
	adcsBroken bool
}

// validate checks f's cross-field rules, reporting to d, and returns the
// Config it describes (meaningful only if d has no errors).
func (f *fileSpec) validate(d *decoder) *Config {
	ck := &checker{
		decoder:  d,
		c:        &Config{File: d.file, Listen: string(f.Listen), ReplyPort: int(f.ReplyPort), Allow: f.Allow.items, Methods: string(f.Methods)},
		watchdog: time.Duration(f.Watchdog),
		names:    map[string]use{},
		pins:     map[int]use{},
		addrs:    map[string]use{},
		dests:    map[string]bool{},
		busPins:  map[int]busPin{},
		adcs:     map[string]*adcUse{},
	}
	ck.inRange(&f.At, "watchdog", f.Watchdog, minWatchdog, time.Hour, "0 (off) or 100ms to 1h, like watchdog: 2s")
	ck.inRange(&f.At, "max_schedule_ahead", f.MaxAhead, time.Second, 24*time.Hour, "0 (no limit) or 1s to 24h, like max_schedule_ahead: 60s")
	ck.c.MaxScheduleAhead = time.Duration(f.MaxAhead)
	if f.At.good("http") {
		ck.c.HTTP = HTTP(f.HTTP)
		n := f.At.val("http")
		ck.c.HTTP.Pos = Pos{n.Line, n.Column}
	}
	if f.At.good("rate_limit") {
		rl := RateLimit(f.RateLimit)
		ck.c.RateLimit = &rl
	}
	for _, ds := range f.Destinations {
		ck.dests[ds.name] = true
		if ds.ok {
			ck.c.Destinations = append(ck.c.Destinations, Destination{Name: ds.name, Addr: ds.addr, Pos: Pos{ds.key.Line, ds.key.Column}})
		}
	}
	ck.adcsBroken = f.At.bad["adcs"]
	for i := range f.ADCs { // first: their buses' pins are taken
		f.ADCs[i].check(ck)
	}
	for i := range f.Outputs {
		f.Outputs[i].check(ck)
	}
	for i := range f.Inputs {
		f.Inputs[i].check(ck)
	}
	ck.checkRates()
	f.Sim.check(ck)
	return ck.c
}

// point checks the name and pin every output and input has: each used once.
// It returns the item's label for messages.
func (ck *checker) point(kind, name string, pin pinName, at *positions) string {
	lbl := label(kind, at.node)
	if at.good("name") {
		if prev, dup := ck.names[name]; dup {
			ck.errAt(at.val("name"), "name %q is already used by %s (line %d): give every output and input its own name", name, prev.what, prev.line)
		} else {
			ck.names[name] = use{kind, name, fmt.Sprintf("%s %q", kind, name), at.val("name").Line}
		}
	}
	if at.good("pin") {
		ck.usePin(kind, lbl, at, pin.pin, at.val("pin"))
	}
	return lbl
}

// usePin records that the item at at (labelled lbl) uses pin, written at n:
// a pin is mapped once, and not on a pin an adc's bus needs.
func (ck *checker) usePin(kind, lbl string, at *positions, pin wiring.Pin, n *yaml.Node) {
	if bp, busy := ck.busPins[pin.BCM]; busy {
		ck.errAt(n, "pin %s is %s, which %s (line %d) needs for its bus %s: move %s to another pin",
			pin.Name(), bp.fn, bp.adc, bp.line, bp.bus, lbl)
		return
	}
	if prev, dup := ck.pins[pin.BCM]; dup {
		ck.errAt(n, "pin %s is already used by %s (line %d): each pin can be mapped once", pin.Name(), prev.what, prev.line)
		return
	}
	ck.pins[pin.BCM] = use{kind, nameOf(at.node), lbl, n.Line}
}

func (o *outputSpec) check(ck *checker) {
	lbl := ck.point("output", o.Name, o.Pin, &o.At)
	out := Output{Name: o.Name, Pin: o.Pin.pin, ActiveLow: bool(o.ActiveLow), Initial: o.Initial.on,
		Safe: o.Safe.on, NoArg: string(o.NoArg), Pos: o.At.pos(),
		Pulse: time.Duration(o.Pulse), OnMessage: string(o.OnMessage), Duty: float64(o.Duty),
		Type: byte(o.Type), FeedbackRate: float64(o.FeedbackRate)}
	if o.At.good("type") && o.Type != 'i' && o.Type != 'f' {
		ck.errAt(o.At.val("type"), "%s: type is how the output's value is sent as feedback: i (the default) or f (TouchOSC, Pd), not %s", lbl, o.At.val("type").Value)
	}
	out.Feedback = ck.feedback(&o.At, lbl, o.Feedback, o.FeedbackRate)
	o.checkKind(ck, lbl, &out)
	o.checkPart(ck, lbl, &out)
	out.Watchdog = ck.watchdog
	if o.At.good("max_switch_rate") {
		out.MaxSwitchRate = float64(o.MaxSwitchRate)
		if out.MaxSwitchRate <= 0 || out.Kind != OutputDigital {
			ck.errAt(o.At.val("max_switch_rate"), "%s: max_switch_rate is a digital output's switching limit above 0, like max_switch_rate: 10Hz", lbl)
		}
	}
	if o.At.has("watchdog") {
		ck.inRange(&o.At, "watchdog", o.Watchdog, minWatchdog, time.Hour, "0 (off) or 100ms to 1h, like watchdog: 2s")
		out.Watchdog = time.Duration(o.Watchdog)
	}
	if o.At.good("pulse") && (o.Pulse < duration(minPulse) || o.Pulse > duration(maxPulse)) {
		ck.errAt(o.At.val("pulse"), "pulse %s is out of range: use 1ms to 1h, like pulse: 100ms", o.At.val("pulse").Value)
	}
	if o.At.good("duty") && (o.Duty <= 0 || o.Duty >= 1) {
		ck.errAt(o.At.val("duty"), "duty %s is out of range: the share of each blink period the output is on, above 0 and below 1, like duty: 0.5", o.At.val("duty").Value)
	}
	if o.Address.list && o.Address.count == 0 {
		ck.errAt(o.At.val("address"), "%s: the address list is empty: name at least one, like [/led]", lbl)
	}
	seen := map[string]bool{}
	for _, a := range o.Address.items {
		if seen[a.v] {
			ck.errAt(a.n, "address %s is listed twice in %s; keep one", a.v, lbl)
			continue
		}
		seen[a.v] = true
		if prev, dup := ck.addrs[a.v]; dup {
			ck.errAt(a.n, "two outputs on address %s: %s and %s; an address drives one output",
				a.v, ref(prev.name, prev.line), ref(nameOf(o.At.node), a.n.Line))
			continue
		}
		if parent, act, ok := actionOf(a.v, ck.addrs); ok {
			ck.errAt(a.n, "address %s is the %s action of %s, the address of %s: choose another address", a.v, act, strings.TrimSuffix(a.v, "/"+act), ref(parent.name, parent.line))
			continue
		}
		for _, act := range OutputActions {
			if prev, dup := ck.addrs[a.v+"/"+act]; dup {
				ck.errAt(a.n, "address %s would make %s its %s action, but %s uses that address: choose another", a.v, a.v+"/"+act, act, ref(prev.name, prev.line))
			}
		}
		ck.addrs[a.v] = use{"output", nameOf(o.At.node), lbl, a.n.Line}
		out.Addresses = append(out.Addresses, a.v)
	}
	ck.c.Outputs = append(ck.c.Outputs, out)
}

func (in *inputSpec) check(ck *checker) {
	lbl := ck.point("input", in.Name, in.Pin, &in.At)
	kind := cmp.Or(string(in.Kind), "digital") // in messages; Input.Kind is KindDigital ("")
	out := Input{Name: in.Name, Pin: in.Pin.pin, Pull: string(in.Pull), ActiveLow: bool(in.ActiveLow),
		Debounce: time.Duration(in.Debounce), Poll: time.Duration(in.Poll), Address: string(in.Address),
		Press: float64(in.Values.Press), Release: float64(in.Values.Release), Type: byte(in.Type), Pos: in.At.pos(),
		Kind: strings.TrimPrefix(kind, "digital")}
	kindOK := !in.At.bad["kind"]
	if kindOK {
		in.checkKeys(ck, kind, lbl)
	}
	switch kind {
	case "digital":
		out.Part = string(in.Part)
		if kindOK && !in.At.has("pin") {
			ck.errAt(in.At.node, "%s has no pin: add a line like pin: GPIO17", lbl)
		}
		ck.inRange(&in.At, "debounce", in.Debounce, 0, maxDebounce, "0 to 1s (20ms suits most buttons)")
		ck.inRange(&in.At, "poll", in.Poll, minPoll, maxPoll, "0 (edge interrupts) or 1ms to 1s")
		if !in.At.bad["type"] { // the default type, or a good one
			ck.fits(&in.Values.At, "press", float64(in.Values.Press), byte(in.Type))
			ck.fits(&in.Values.At, "release", float64(in.Values.Release), byte(in.Type))
		}
		in.checkButton(ck, lbl, &out)
	case "encoder":
		in.checkEncoder(ck, lbl, &out)
	case "analog":
		in.checkAnalog(ck, lbl, &out)
	}
	if in.At.good("to") && in.To.count == 0 {
		ck.errAt(in.At.val("to"), "%s sends to no destination: name at least one under to:, like to: [monitor]", lbl)
	}
	seen := map[string]bool{}
	for _, t := range in.To.items {
		if seen[t.v] {
			ck.errAt(t.n, "%s lists destination %q twice; keep one", lbl, t.v)
			continue
		}
		seen[t.v] = true
		if !ck.dests[t.v] {
			ck.errAt(t.n, "%s sends to %q, which is not under destinations %s", lbl, t.v, ck.defined(t.v))
			continue
		}
		out.To = append(out.To, t.v)
	}
	out.Feedback, out.FeedbackRate = ck.feedback(&in.At, lbl, in.Feedback, in.FeedbackRate), float64(in.FeedbackRate)
	out.Volts, out.voltsAt = voltsOf(&in.At, in.Volts)
	ck.c.Inputs = append(ck.c.Inputs, out)
}

// feedback checks a point's feedback: destinations and feedback_rate, and
// returns the names.
func (ck *checker) feedback(at *positions, lbl string, names destNames, rate hertz) []string {
	if at.good("feedback_rate") && rate <= 0 {
		ck.errAt(at.val("feedback_rate"), "%s: feedback_rate must be above 0, like feedback_rate: 30Hz", lbl)
	}
	var out []string
	seen := map[string]bool{}
	for _, t := range names.items {
		switch {
		case seen[t.v]:
			ck.errAt(t.n, "%s lists feedback destination %q twice; keep one", lbl, t.v)
		case !ck.dests[t.v]:
			ck.errAt(t.n, "%s sends feedback to %q, which is not under destinations %s", lbl, t.v, ck.defined(t.v))
		default:
			out = append(out, t.v)
		}
		seen[t.v] = true
	}
	return out
}

// checkButton checks the keys of a digital input's buttons and switches
// (issue 7): mode, hold, repeat, and sets them in out.
func (in *inputSpec) checkButton(ck *checker, lbl string, out *Input) {
	out.Mode, out.Hold, out.Repeat, out.ReportAtStart = ModeMomentary, time.Duration(in.Hold), time.Duration(in.Repeat), bool(in.ReportAtStart)
	if in.At.good("mode") {
		out.Mode = strings.ToLower(string(in.Mode))
		if out.Mode != ModeMomentary && out.Mode != ModeLatch && out.Mode != ModeCounter {
			ck.errAt(in.At.val("mode"), "%s: mode must be momentary (the default), latch or counter for a digital input (relative and absolute are for kind: encoder), not %q", lbl, in.Mode)
		}
	}
	ck.inRange(&in.At, "hold", in.Hold, minHold, maxHold, "0 (off) or 10ms to 60s, like hold: 800ms")
	ck.inRange(&in.At, "repeat", in.Repeat, minHold, maxHold, "0 (off) or 10ms to 60s, like repeat: 200ms")
	if in.At.good("repeat") && in.Repeat != 0 && in.Hold == 0 && !in.At.bad["hold"] {
		ck.errAt(in.At.val("repeat"), "%s: repeat works while the input is held: add hold:, like hold: 800ms", lbl)
	}
	if out.Mode == ModeCounter {
		if in.Type == 'T' && in.At.good("type") {
			ck.errAt(in.At.val("type"), "%s: mode counter sends a number: use type i, h, f or d, not T", lbl)
		}
		if in.At.has("values") {
			ck.errAt(in.At.val("values"), "%s: mode counter sends the count, not values: remove values", lbl)
		}
	}
}

// inRange checks a duration key: zero, or within lo..hi.
func (ck *checker) inRange(at *positions, key string, d duration, lo, hi time.Duration, rangeText string) {
	v := time.Duration(d)
	if at.good(key) && (v < 0 || v != 0 && (v < lo || v > hi)) {
		ck.errAt(at.val(key), "%s %s is out of range: use %s", key, at.val(key).Value, rangeText)
	}
}

// fits checks that values key, if given, can be sent as type t.
func (ck *checker) fits(at *positions, key string, x float64, t byte) {
	if !at.good(key) {
		return
	}
	n := at.val(key)
	switch t {
	case 'i', 'h':
		if x != math.Trunc(x) {
			ck.errAt(n, "values %s %s is not a whole number, but type %c sends integers: use a whole number or type f", key, n.Value, t)
		} else if t == 'i' && (x < math.MinInt32 || x > math.MaxInt32) {
			ck.errAt(n, "values %s %s does not fit type i (int32): use type h or f", key, n.Value)
		} else if t == 'h' && math.Abs(x) > 1<<53 {
			ck.errAt(n, "values %s %s is too large to send exactly: keep it within ±2^53", key, n.Value)
		}
	}
}

// defined describes the destinations for an undefined-destination message.
func (ck *checker) defined(name string) string {
	if len(ck.c.Destinations) == 0 {
		return "(none are defined: add one, like destinations: {monitor: 127.0.0.1:5006})"
	}
	var names []string
	for _, d := range ck.c.Destinations {
		names = append(names, d.Name)
	}
	s := "(defined: " + strings.Join(names, ", ") + ")"
	if m := suggest(name, names); m != "" {
		s += fmt.Sprintf("; did you mean %q?", m)
	}
	return s
}

func (s *simSpec) check(ck *checker) {
	// Pins of every output and input, including ones with errors of their
	// own, so that one mistake is not reported again here.
	outs, ins := map[int]string{}, map[int]string{}
	for bcm, u := range ck.pins {
		if u.kind == "output" {
			outs[bcm] = u.what
		} else {
			ins[bcm] = u.what
		}
	}
	driven := map[int]int{} // input BCM -> line of its jumper
	for _, j := range s.Jumpers {
		from, to := j.from, j.to
		if in, out := ins[from.BCM], outs[to.BCM]; in != "" && out != "" {
			ck.errAt(j.node, "jumper [%s, %s] runs from %s to %s: swap them, a jumper is [output pin, input pin]",
				from.Name(), to.Name(), in, out)
			continue
		}
		good := true
		if _, isOut := outs[from.BCM]; !isOut {
			ck.errAt(j.pins[0], "jumper from %s: no output uses that pin; a jumper is [output pin, input pin]", from)
			good = false
		}
		if _, isIn := ins[to.BCM]; !isIn {
			ck.errAt(j.pins[1], "jumper to %s: no input uses that pin; a jumper is [output pin, input pin]", to)
			good = false
		}
		if !good {
			continue
		}
		if line, dup := driven[to.BCM]; dup {
			ck.errAt(j.pins[1], "jumper to %s: %s is already wired by the jumper on line %d; an input takes one jumper", to, ins[to.BCM], line)
			continue
		}
		driven[to.BCM] = j.node.Line
		ck.c.Jumpers = append(ck.c.Jumpers, Jumper{From: from, To: to, Pos: Pos{j.node.Line, j.node.Column}})
	}
}

// nameOf reads the name key of an item before its other keys, for messages.
func nameOf(n *yaml.Node) string {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k.Kind == yaml.ScalarNode && k.Value == "name" && v.Kind == yaml.ScalarNode && !isNull(v) && v.Value != "" {
			return v.Value
		}
	}
	return ""
}

// label names an item in messages: `output "led"` or `output at line 3`.
func label(kind string, n *yaml.Node) string {
	if name := nameOf(n); name != "" {
		return fmt.Sprintf("%s %q", kind, name)
	}
	return fmt.Sprintf("%s at line %d", kind, n.Line)
}

// ref shows an output and the line of its address: `"led" (line 4)`, or
// `the output at line 4` if it has no name.
func ref(name string, line int) string {
	if name == "" {
		return fmt.Sprintf("the output at line %d", line)
	}
	return fmt.Sprintf("%q (line %d)", name, line)
}

// actionOf reports whether address is an action sub-address (/pulse,
// /blink, /toggle) of an address already used by an output.
func actionOf(address string, used map[string]use) (use, string, bool) {
	for _, act := range OutputActions {
		if base, ok := strings.CutSuffix(address, "/"+act); ok {
			if u, taken := used[base]; taken {
				return u, act, true
			}
		}
	}
	return use{}, "", false
}

// checkKind checks the keys of a pwm or servo output, and that a digital
// output's levels are on or off.
func (o *outputSpec) checkKind(ck *checker, lbl string, out *Output) {
	kind := string(o.Kind)
	if kind == "digital" {
		kind = OutputDigital
	}
	out.Kind = kind
	only := map[string]string{"range": "pwm, servo", "gamma": "pwm", "frequency": "pwm",
		"min_pulse": "servo", "max_pulse": "servo"}
	for key, kinds := range only {
		if o.At.has(key) && !strings.Contains(kinds, cmp.Or(kind, "digital")) {
			ck.errAt(o.At.val(key), "%s: %s is a setting of kind: %s outputs", lbl, key, kinds)
		}
	}
	if kind == OutputDigital {
		for key, l := range map[string]outLevel{"initial": o.Initial, "safe": o.Safe} {
			if l.isNum && l.num != 0 && l.num != 1 {
				ck.errAt(o.At.val(key), "%s must be on or off (or true/false, 1/0), not %q: a value is for kind: pwm or servo outputs", key, o.At.val(key).Value)
			}
		}
		return
	}
	out.Range, out.Gamma, out.Frequency = [2]float64{0, 1}, 1, 1000
	if kind == OutputServo {
		out.Range, out.Frequency = [2]float64{0, 180}, 50
		out.MinPulse, out.MaxPulse = time.Millisecond, 2*time.Millisecond
		if o.At.good("min_pulse") {
			out.MinPulse = time.Duration(o.MinPulse)
		}
		if o.At.good("max_pulse") {
			out.MaxPulse = time.Duration(o.MaxPulse)
		}
		for key, d := range map[string]time.Duration{"min_pulse": out.MinPulse, "max_pulse": out.MaxPulse} {
			if o.At.good(key) && (d < 500*time.Microsecond || d > 2500*time.Microsecond) {
				ck.errAt(o.At.val(key), "%s: %s %s is out of range: a servo takes pulses of 500us to 2500us (1000us-2000us for most)", lbl, key, o.At.val(key).Value)
			}
		}
		if out.MinPulse >= out.MaxPulse && !o.At.bad["min_pulse"] && !o.At.bad["max_pulse"] {
			at := o.At.val("max_pulse")
			if !o.At.has("max_pulse") {
				at = o.At.val("min_pulse")
			}
			ck.errAt(at, "%s: max_pulse (%v) must be longer than min_pulse (%v)", lbl, out.MaxPulse, out.MinPulse)
		}
	}
	if o.At.good("range") {
		out.Range = [2]float64(o.Range)
		if out.Range[0] == out.Range[1] {
			ck.errAt(o.At.val("range"), "%s: range needs two different numbers, like [0, 1] or [0, 127]", lbl)
		}
	}
	if o.At.good("gamma") {
		out.Gamma = float64(o.Gamma)
		if out.Gamma <= 0 || out.Gamma > 10 {
			ck.errAt(o.At.val("gamma"), "%s: gamma %s is out of range: above 0 and at most 10 (2.2 suits LEDs)", lbl, o.At.val("gamma").Value)
		}
	}
	if o.At.good("frequency") {
		out.Frequency = float64(o.Frequency)
		if out.Frequency < 1 || out.Frequency > 1e6 {
			ck.errAt(o.At.val("frequency"), "%s: frequency %s is out of range: 1Hz to 1MHz (1kHz suits LEDs)", lbl, o.At.val("frequency").Value)
		}
	}
	lo, hi := out.Range[0], out.Range[1]
	value := func(key string, l outLevel) float64 {
		v := lo
		switch {
		case l.isNum:
			v = l.num
		case l.on:
			v = hi
		}
		if o.At.good(key) && (v < min(lo, hi) || v > max(lo, hi)) {
			ck.errAt(o.At.val(key), "%s: %s %s is outside the range [%s, %s]", lbl, key, o.At.val(key).Value, num(lo), num(hi))
		}
		return v
	}
	out.InitialValue, out.SafeValue = value("initial", o.Initial), value("safe", o.Safe)
	out.Initial, out.Safe = false, false
	if o.At.has("on_message") && o.OnMessage == "pulse" {
		ck.errAt(o.At.val("on_message"), "%s: on_message: pulse is for digital outputs", lbl)
	}
}

// checkPart checks and sets part: and volts: of an output: a part is for
// digital and pwm outputs, and a relay for digital ones.
func (o *outputSpec) checkPart(ck *checker, lbl string, out *Output) {
	out.Volts, out.voltsAt = voltsOf(&o.At, o.Volts)
	if !o.At.good("part") {
		return
	}
	switch {
	case out.Kind == OutputServo:
		ck.errAt(o.At.val("part"), "%s: part is for digital and pwm outputs (led or relay); a kind: servo output is drawn as a servo: remove part", lbl)
	case out.Kind == OutputPWM && o.Part == PartRelay:
		ck.errAt(o.At.val("part"), "%s: part: relay is switched on and off: it needs a digital output, not kind: pwm", lbl)
	default:
		out.Part = string(o.Part)
	}
}

// voltsOf returns an item's volts, 0 when not given (or wrong), and where
// it is written.
func voltsOf(at *positions, v volts) (float64, Pos) {
	if !at.good("volts") {
		return 0, Pos{}
	}
	n := at.val("volts")
	return float64(v), Pos{n.Line, n.Column}
}
