package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/oscgpio/oscgpio/wiring"
)

// The keys of each part of the file, in the order the documentation gives them.
var (
	topKeys    = []string{"listen", "destinations", "outputs", "inputs", "sim"}
	outputKeys = []string{"name", "pin", "address", "active_low", "initial", "safe", "no_arg"}
	inputKeys  = []string{"name", "pin", "pull", "active_low", "debounce", "poll", "address", "values", "type", "to"}
	valueKeys  = []string{"press", "release"}
	simKeys    = []string{"jumpers"}
)

// aliases are keys people bring from elsewhere (ESPHome, other bridges),
// with the key this file uses instead.
var aliases = map[string]string{
	"inverted":     "active_low",
	"invert":       "active_low",
	"activelow":    "active_low",
	"mode":         "pull",
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

// Parse decodes and validates a mapping file. file names it in errors.
// On any problem it returns nil and Errors holding every problem found,
// sorted by position.
func Parse(file string, data []byte) (*Config, error) {
	p := &parser{
		file:  file,
		c:     &Config{File: file, Listen: DefaultListen},
		names: map[string]use{},
		pins:  map[int]use{},
		addrs: map[string]use{},
		dests: map[string]bool{},
	}
	if root := p.document(data); root != nil {
		p.top(root)
	}
	if len(p.errs) > 0 {
		p.errs.sort()
		return nil, p.errs
	}
	return p.c, nil
}

// use records where a name, pin or address was first used.
type use struct {
	kind string // "output" or "input"
	name string // its name, "" if it has none
	what string // `output "led"` or `output at line 3`
	line int
}

type parser struct {
	file  string
	c     *Config
	errs  Errors
	names map[string]use  // output and input names
	pins  map[int]use     // BCM number -> user
	addrs map[string]use  // output addresses
	dests map[string]bool // destination names, including ones with errors
}

func (p *parser) errAt(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.file, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) errLine(line, col int, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

var yamlLine = regexp.MustCompile(`^line (\d+): (.*)$`)

// document decodes data to a node tree and returns the top node, or nil if
// the file is empty or has a syntax error (recorded).
func (p *parser) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			p.syntax(data, err)
		}
		return nil
	}
	var second yaml.Node
	switch err := dec.Decode(&second); {
	case err == nil:
		at := &second
		if len(second.Content) > 0 {
			at = second.Content[0]
		}
		p.errAt(at, "a second YAML document (after ---): a mapping file is one document; remove the --- line or split the file")
	case !errors.Is(err, io.EOF):
		p.syntax(data, err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	return deref(doc.Content[0])
}

// syntax records a YAML syntax error, at the line yaml names (line 1 if it
// names none) and column 1 unless a tab explains it.
func (p *parser) syntax(data []byte, err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line, col := 1, 1
	hint := ""
	lines := strings.Split(string(data), "\n")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil && n > 0 {
			line = n
			if parserProblem(m[2]) {
				// yaml v3 adds 1 to the 0-based line of scanner errors
				// only; its parser errors name the line before, and that
				// line starts the block where the problem is, which may
				// be further down.
				line++
				if odd := oddIndent(lines, line); odd > 0 {
					line = odd
					col = len(lines[odd-1]) - len(strings.TrimLeft(lines[odd-1], " ")) + 1
					hint = "; this line's indentation matches none of the lines above it"
				} else {
					hint = "; the problem is in the block that starts here: check the indentation of its lines"
				}
			}
		}
		msg = m[2]
	}
	// A tab in the indentation: yaml names the line before it, or the line
	// itself; point at the tab.
	last := line
	if strings.Contains(msg, "tab") {
		last = line + 1
	}
	for l := line; l <= last && l <= len(lines); l++ {
		text := lines[l-1]
		indent := text[:len(text)-len(strings.TrimLeft(text, " \t"))]
		if i := strings.IndexByte(indent, '\t'); i >= 0 {
			line, col = l, i+1
			hint = "; indent with spaces, YAML does not allow tabs"
			break
		}
	}
	if hint == "" && strings.Contains(msg, "mapping values are not allowed") {
		hint = "; put quotes around a value that contains \": \", and check the indentation of the keys"
	}
	p.errLine(line, col, "YAML syntax error: %s%s", msg, hint)
}

// oddIndent finds, in the block that starts at line from (1-based), the
// first line indented to a column that none of the lines above it in the
// block uses and that does not open a nested block: where a key was indented
// one space too far or too short. 0 when there is none.
func oddIndent(lines []string, from int) int {
	seen := map[int]bool{}
	base, prev, opens := -1, -1, false
	for l := from; l <= len(lines); l++ {
		text := strings.TrimRight(lines[l-1], " \r")
		trimmed := strings.TrimLeft(text, " ")
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		ind := len(text) - len(trimmed)
		switch {
		case base < 0:
			base = ind
		case ind < base:
			return 0 // the block ended
		case !seen[ind] && !(opens && ind > prev):
			return l
		}
		seen[ind] = true
		if strings.HasPrefix(trimmed, "- ") {
			seen[ind+2] = true
		}
		if i := strings.Index(trimmed, " #"); i >= 0 {
			trimmed = strings.TrimRight(trimmed[:i], " ")
		}
		prev, opens = ind, strings.HasSuffix(trimmed, ":") || trimmed == "-"
	}
	return 0
}

// parserProblem reports whether msg is one of yaml's parser (not scanner)
// problems.
func parserProblem(msg string) bool {
	for _, pre := range []string{
		"did not find expected ',' or", "did not find expected '-' indicator", "did not find expected <",
		"did not find expected key", "did not find expected node content", "found duplicate %",
		"found incompatible YAML document", "found undefined tag handle",
	} {
		if strings.HasPrefix(msg, pre) {
			return true
		}
	}
	return false
}

// deref follows aliases (*name) to the node they stand for.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// describe names what kind of YAML a node is, for type errors.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping (key: value lines)"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "empty"
		}
		return fmt.Sprintf("the single value %q", n.Value)
	}
	return "something else"
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// field is one key: value pair of a mapping.
type field struct {
	name     string
	key, val *yaml.Node
}

// fields reads mapping n, reporting keys that are repeated, not in known,
// or not plain words. where names the mapping for messages ("in output \"led\"");
// wrongPlace explains known keys of other sections.
func (p *parser) fields(n *yaml.Node, where string, known []string, wrongPlace map[string]string) map[string]field {
	out := map[string]field{}
	seen := map[string]int{} // key -> line, known or not
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || isNull(k) {
			p.errAt(k, "a key %s must be a word like %s, not %s", where, known[0], describe(k))
			continue
		}
		if line, dup := seen[k.Value]; dup {
			p.errAt(k, "key %q is given twice %s (first at line %d); keep one", k.Value, where, line)
			continue
		}
		seen[k.Value] = k.Line
		if !contains(known, k.Value) {
			msg := fmt.Sprintf("unknown key %q %s", k.Value, where)
			if s := suggest(k.Value, known); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			} else if other, ok := wrongPlace[k.Value]; ok {
				msg += "; " + other
			} else {
				msg += "; known keys: " + strings.Join(known, ", ")
			}
			p.errAt(k, "%s", msg)
			continue
		}
		out[k.Value] = field{name: k.Value, key: k, val: v}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// scalar returns f's value as text; it reports lists, mappings and empty values.
func (p *parser) scalar(f field, what, example string) (string, bool) {
	if f.val.Kind != yaml.ScalarNode || isNull(f.val) {
		p.errAt(f.val, "%s must be a single value like %s, not %s", what, example, describe(f.val))
		return "", false
	}
	return f.val.Value, true
}

// boolean reads true or false.
func (p *parser) boolean(f field, what string) (bool, bool) {
	if f.val.Kind == yaml.ScalarNode && f.val.Tag == "!!bool" {
		b, err := strconv.ParseBool(strings.ToLower(f.val.Value))
		if err == nil {
			return b, true
		}
	}
	if f.val.Kind == yaml.ScalarNode && !isNull(f.val) {
		p.errAt(f.val, "%s must be true or false, not %q", what, f.val.Value)
	} else {
		p.errAt(f.val, "%s must be true or false, not %s", what, describe(f.val))
	}
	return false, false
}

// level reads a logical level: on/off, true/false, 1/0.
func (p *parser) level(f field, what string) (bool, bool) {
	if f.val.Kind == yaml.ScalarNode {
		switch strings.ToLower(f.val.Value) {
		case "on", "true", "1":
			return true, true
		case "off", "false", "0":
			if !isNull(f.val) {
				return false, true
			}
		}
	}
	p.errAt(f.val, "%s must be on or off (or true/false, 1/0), not %s", what, quoted(f.val))
	return false, false
}

// quoted shows a scalar's text, or what kind of node it is.
func quoted(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		return strconv.Quote(n.Value)
	}
	return describe(n)
}

// choice reads one of the allowed words (case-insensitive).
func (p *parser) choice(f field, what string, allowed ...string) (string, bool) {
	if f.val.Kind == yaml.ScalarNode && !isNull(f.val) {
		v := strings.ToLower(f.val.Value)
		if contains(allowed, v) {
			return v, true
		}
	}
	p.errAt(f.val, "%s must be one of %s, not %s", what, strings.Join(allowed, ", "), quoted(f.val))
	return "", false
}

// duration reads a Go duration ("20ms"): zero, or within lo..hi.
func (p *parser) duration(f field, what, rangeText string, lo, hi time.Duration) (time.Duration, bool) {
	s, ok := p.scalar(f, what, "20ms")
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		if _, nerr := strconv.Atoi(s); nerr == nil {
			p.errAt(f.val, "%s %q has no unit: write it like %sms (units: us, ms, s)", what, s, s)
		} else if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			p.errAt(f.val, "%s %q has no unit: write it like %ss (units: us, ms, s)", what, s, s)
		} else {
			p.errAt(f.val, "%s %q is not a duration: write it like 20ms (units: us, ms, s)", what, s)
		}
		return 0, false
	}
	if d < 0 || d != 0 && (d < lo || d > hi) {
		p.errAt(f.val, "%s %s is out of range: use %s", what, s, rangeText)
		return 0, false
	}
	return d, true
}

// number reads a finite number.
func (p *parser) number(f field, what string) (float64, bool) {
	v := f.val
	if v.Kind == yaml.ScalarNode && (v.Tag == "!!int" || v.Tag == "!!float") {
		var x float64
		if err := v.Decode(&x); err == nil && !math.IsInf(x, 0) && !math.IsNaN(x) {
			return x, true
		}
	}
	p.errAt(v, "%s must be a number like 1 or 0.5, not %s", what, quoted(v))
	return 0, false
}

func (p *parser) top(root *yaml.Node) {
	if root.Kind != yaml.MappingNode {
		p.errAt(root, "the mapping file must be sections of key: value lines (%s), not %s",
			strings.Join(topKeys, ", "), describe(root))
		return
	}
	fs := p.fields(root, "at the top of the file", topKeys, nil)
	if f, ok := fs["listen"]; ok {
		if s, ok := p.scalar(f, "listen", DefaultListen); ok {
			if why := hostPort(s, false); why != "" {
				p.errAt(f.val, "listen %q %s: write host:port, like %s (0.0.0.0:5005 listens on every interface)", s, why, DefaultListen)
			} else {
				p.c.Listen = s
			}
		}
	}
	// Destinations first: inputs refer to them wherever they are in the file.
	if f, ok := fs["destinations"]; ok {
		p.destinations(f)
	}
	if f, ok := fs["outputs"]; ok {
		for _, item := range p.list(f, "outputs", "an output") {
			p.output(item)
		}
	}
	if f, ok := fs["inputs"]; ok {
		for _, item := range p.list(f, "inputs", "an input") {
			p.input(item)
		}
	}
	if f, ok := fs["sim"]; ok {
		p.sim(f)
	}
}

// list returns the mapping items of a section that is a list of mappings.
func (p *parser) list(f field, what, item string) []*yaml.Node {
	if isNull(f.val) {
		return nil
	}
	if f.val.Kind != yaml.SequenceNode {
		p.errAt(f.val, "%s must be a list, each item starting with \"- name:\", not %s", what, describe(f.val))
		return nil
	}
	var items []*yaml.Node
	for _, n := range f.val.Content {
		n = deref(n)
		if n.Kind != yaml.MappingNode {
			p.errAt(n, "each item under %s must be %s with key: value lines (name:, pin:, address: ...), not %s", what, item, describe(n))
			continue
		}
		items = append(items, n)
	}
	return items
}

func (p *parser) destinations(f field) {
	if isNull(f.val) {
		return
	}
	if f.val.Kind != yaml.MappingNode {
		p.errAt(f.val, "destinations must be name: host:port lines, like monitor: 127.0.0.1:5006, not %s", describe(f.val))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(f.val.Content); i += 2 {
		k, v := deref(f.val.Content[i]), deref(f.val.Content[i+1])
		if k.Kind != yaml.ScalarNode || isNull(k) || strings.TrimSpace(k.Value) == "" {
			p.errAt(k, "a destination name must be a word like monitor, not %s", describe(k))
			continue
		}
		name := k.Value
		if line, dup := seen[name]; dup {
			p.errAt(k, "destination %q is defined twice (first at line %d); keep one", name, line)
			continue
		}
		seen[name] = k.Line
		p.dests[name] = true
		if v.Kind != yaml.ScalarNode || isNull(v) {
			p.errAt(v, "destination %q must be host:port, like 127.0.0.1:5006, not %s", name, describe(v))
			continue
		}
		if why := hostPort(v.Value, true); why != "" {
			p.errAt(v, "destination %q: address %q %s: write host:port, like 127.0.0.1:5006", name, v.Value, why)
			continue
		}
		p.c.Destinations = append(p.c.Destinations, Destination{Name: name, Addr: v.Value, Pos: Pos{k.Line, k.Column}})
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

// common reads name and pin, shared by outputs and inputs, and checks that
// they are unique. It returns false if either is missing or invalid.
func (p *parser) common(kind string, n *yaml.Node, fs map[string]field) (name string, pin wiring.Pin, ok bool) {
	lbl := label(kind, n)
	ok = true
	if f, has := fs["name"]; !has {
		p.errAt(n, "%s has no name: add a line like name: %s", lbl, map[string]string{"output": "led", "input": "button"}[kind])
		ok = false
	} else if s, good := p.scalar(f, "name", map[string]string{"output": "led", "input": "button"}[kind]); !good {
		ok = false
	} else if prev, dup := p.names[s]; dup {
		p.errAt(f.val, "name %q is already used by %s (line %d): give every output and input its own name", s, prev.what, prev.line)
		ok = false
	} else {
		name = s
		p.names[s] = use{kind, s, fmt.Sprintf("%s %q", kind, s), f.val.Line}
	}
	if f, has := fs["pin"]; !has {
		p.errAt(n, "%s has no pin: add a line like pin: GPIO17", lbl)
		ok = false
	} else if s, good := p.scalar(f, "pin", "GPIO17"); !good {
		ok = false
	} else if pn, err := wiring.Resolve(s); err != nil {
		p.errAt(f.val, "%v", err)
		ok = false
	} else if prev, dup := p.pins[pn.BCM]; dup {
		p.errAt(f.val, "pin %s is already used by %s (line %d): each pin can be mapped once", pn.Name(), prev.what, prev.line)
		ok = false
	} else {
		pin = pn
		p.pins[pn.BCM] = use{kind, nameOf(n), lbl, f.val.Line}
	}
	return name, pin, ok
}

// inputOnly and outputOnly explain keys used in the wrong kind of item.
var (
	inputOnly = map[string]string{
		"pull": "pull is an input setting", "debounce": "debounce is an input setting",
		"poll": "poll is an input setting", "values": "values is an input setting",
		"type": "type is an input setting", "to": "outputs receive; to is an input setting",
	}
	outputOnly = map[string]string{
		"initial": "initial is an output setting", "safe": "safe is an output setting",
		"no_arg": "no_arg is an output setting",
	}
)

func (p *parser) output(n *yaml.Node) {
	lbl := label("output", n)
	fs := p.fields(n, "in "+lbl, outputKeys, inputOnly)
	name, pin, ok := p.common("output", n, fs)
	o := Output{Name: name, Pin: pin, NoArg: "toggle", Pos: Pos{n.Line, n.Column}}
	if f, has := fs["address"]; !has {
		p.errAt(n, "%s has no address: add a line like address: /led", lbl)
		ok = false
	} else {
		items := []*yaml.Node{f.val}
		if f.val.Kind == yaml.SequenceNode {
			items = nil
			if len(f.val.Content) == 0 {
				p.errAt(f.val, "%s: the address list is empty: name at least one, like [/led]", lbl)
				ok = false
			}
			for _, a := range f.val.Content {
				items = append(items, deref(a))
			}
		}
		seen := map[string]bool{}
		for _, a := range items {
			if a.Kind != yaml.ScalarNode || isNull(a) {
				p.errAt(a, "address must be an OSC address like /led (or a list [/led, /test]), not %s", describe(a))
				ok = false
				continue
			}
			if why := checkOutputAddress(a.Value); why != "" {
				p.errAt(a, "address %q %s", a.Value, why)
				ok = false
				continue
			}
			if seen[a.Value] {
				p.errAt(a, "address %s is listed twice in %s; keep one", a.Value, lbl)
				ok = false
				continue
			}
			seen[a.Value] = true
			if prev, dup := p.addrs[a.Value]; dup {
				p.errAt(a, "two outputs on address %s: %s and %s; an address drives one output",
					a.Value, ref(prev.name, prev.line), ref(nameOf(n), a.Line))
				ok = false
				continue
			}
			p.addrs[a.Value] = use{"output", nameOf(n), lbl, a.Line}
			o.Addresses = append(o.Addresses, a.Value)
		}
	}
	if f, has := fs["active_low"]; has {
		v, good := p.boolean(f, "active_low")
		o.ActiveLow, ok = v, ok && good
	}
	if f, has := fs["initial"]; has {
		v, good := p.level(f, "initial")
		o.Initial, ok = v, ok && good
	}
	if f, has := fs["safe"]; has {
		v, good := p.level(f, "safe")
		o.Safe, ok = v, ok && good
	}
	if f, has := fs["no_arg"]; has {
		v, good := p.choice(f, "no_arg", "toggle", "on", "off", "ignore")
		o.NoArg, ok = v, ok && good
	}
	if ok {
		p.c.Outputs = append(p.c.Outputs, o)
	}
}

func (p *parser) input(n *yaml.Node) {
	lbl := label("input", n)
	fs := p.fields(n, "in "+lbl, inputKeys, outputOnly)
	name, pin, ok := p.common("input", n, fs)
	in := Input{Name: name, Pin: pin, Pull: "none", Debounce: defaultDebounce, Press: 1, Release: 0, Type: 'i', Pos: Pos{n.Line, n.Column}}
	if f, has := fs["pull"]; has {
		v, good := p.choice(f, "pull", "up", "down", "none")
		in.Pull, ok = v, ok && good
	}
	if f, has := fs["active_low"]; has {
		v, good := p.boolean(f, "active_low")
		in.ActiveLow, ok = v, ok && good
	}
	if f, has := fs["debounce"]; has {
		v, good := p.duration(f, "debounce", "0 to 1s (20ms suits most buttons)", 0, maxDebounce)
		in.Debounce, ok = v, ok && good
	}
	if f, has := fs["poll"]; has {
		v, good := p.duration(f, "poll", "0 (edge interrupts) or 1ms to 1s", minPoll, maxPoll)
		in.Poll, ok = v, ok && good
	}
	if f, has := fs["address"]; !has {
		p.errAt(n, "%s has no address: add a line like address: /button", lbl)
		ok = false
	} else if f.val.Kind == yaml.SequenceNode {
		p.errAt(f.val, "an input sends to one address: write address: /button (a list is for outputs)")
		ok = false
	} else if s, good := p.scalar(f, "address", "/button"); !good {
		ok = false
	} else if why := checkAddress(s); why != "" {
		p.errAt(f.val, "address %q %s", s, why)
		ok = false
	} else {
		in.Address = s
	}
	typeOK := true
	if f, has := fs["type"]; has {
		typeOK = false
		if f.val.Kind == yaml.ScalarNode && len(f.val.Value) == 1 && strings.Contains("ifdhT", f.val.Value) {
			in.Type, typeOK = f.val.Value[0], true
		} else {
			p.errAt(f.val, "type must be one of i, f, d, h, T (i int32, the default; f float32; d double; h int64; T sends T/F), not %s", quoted(f.val))
			ok = false
		}
	}
	if f, has := fs["values"]; has {
		if f.val.Kind != yaml.MappingNode {
			p.errAt(f.val, "values must be {press: 1, release: 0}, not %s", describe(f.val))
			ok = false
		} else {
			vs := p.fields(f.val, "in values of "+lbl, valueKeys, nil)
			for _, k := range valueKeys {
				vf, has := vs[k]
				if !has {
					continue
				}
				x, good := p.number(vf, "values "+k)
				if good && typeOK {
					good = p.fits(vf, k, x, in.Type)
				}
				ok = ok && good
				if k == "press" {
					in.Press = x
				} else {
					in.Release = x
				}
			}
		}
	}
	if f, has := fs["to"]; !has {
		p.errAt(n, "%s has no to: name at least one destination, like to: [monitor]", lbl)
		ok = false
	} else {
		var items []*yaml.Node
		switch f.val.Kind {
		case yaml.SequenceNode:
			for _, t := range f.val.Content {
				items = append(items, deref(t))
			}
		case yaml.ScalarNode:
			if !isNull(f.val) {
				items = []*yaml.Node{f.val}
			}
		default:
			p.errAt(f.val, "to must list destination names, like [monitor], not %s", describe(f.val))
			ok = false
		}
		if len(items) == 0 && f.val.Kind != yaml.MappingNode {
			p.errAt(f.val, "%s sends to no destination: name at least one under to:, like to: [monitor]", lbl)
			ok = false
		}
		seen := map[string]bool{}
		for _, t := range items {
			if t.Kind != yaml.ScalarNode || isNull(t) {
				p.errAt(t, "to must list destination names, like [monitor], not %s", describe(t))
				ok = false
				continue
			}
			if seen[t.Value] {
				p.errAt(t, "%s lists destination %q twice; keep one", lbl, t.Value)
				ok = false
				continue
			}
			seen[t.Value] = true
			if !p.dests[t.Value] {
				p.errAt(t, "%s sends to %q, which is not under destinations %s", lbl, t.Value, p.defined(t.Value))
				ok = false
				continue
			}
			in.To = append(in.To, t.Value)
		}
	}
	if ok {
		p.c.Inputs = append(p.c.Inputs, in)
	}
}

// ref shows an output and the line of its address: `"led" (line 4)`, or
// `the output at line 4` if it has no name.
func ref(name string, line int) string {
	if name == "" {
		return fmt.Sprintf("the output at line %d", line)
	}
	return fmt.Sprintf("%q (line %d)", name, line)
}

// defined describes the destinations for an undefined-destination message.
func (p *parser) defined(name string) string {
	if len(p.c.Destinations) == 0 {
		return "(none are defined: add one, like destinations: {monitor: 127.0.0.1:5006})"
	}
	var names []string
	for _, d := range p.c.Destinations {
		names = append(names, d.Name)
	}
	s := "(defined: " + strings.Join(names, ", ") + ")"
	if m := suggest(name, names); m != "" {
		s += fmt.Sprintf("; did you mean %q?", m)
	}
	return s
}

// fits checks that a value can be sent as type t.
func (p *parser) fits(f field, key string, x float64, t byte) bool {
	switch t {
	case 'i', 'h':
		if x != math.Trunc(x) {
			p.errAt(f.val, "values %s %s is not a whole number, but type %c sends integers: use a whole number or type f", key, f.val.Value, t)
			return false
		}
		if t == 'i' && (x < math.MinInt32 || x > math.MaxInt32) {
			p.errAt(f.val, "values %s %s does not fit type i (int32): use type h or f", key, f.val.Value)
			return false
		}
		if t == 'h' && math.Abs(x) > 1<<53 {
			p.errAt(f.val, "values %s %s is too large to send exactly: keep it within ±2^53", key, f.val.Value)
			return false
		}
	}
	return true
}

func (p *parser) sim(f field) {
	if isNull(f.val) {
		return
	}
	if f.val.Kind != yaml.MappingNode {
		p.errAt(f.val, "sim must hold jumpers:, like sim: {jumpers: [[GPIO17, GPIO27]]}, not %s", describe(f.val))
		return
	}
	fs := p.fields(f.val, "in sim", simKeys, nil)
	jf, has := fs["jumpers"]
	if !has || isNull(jf.val) {
		return
	}
	if jf.val.Kind != yaml.SequenceNode {
		p.errAt(jf.val, "jumpers must be a list of [output pin, input pin] pairs, like [[GPIO17, GPIO27]], not %s", describe(jf.val))
		return
	}
	// Pins of every output and input, including ones with errors of their
	// own, so that one mistake is not reported again here.
	outs, ins := map[int]string{}, map[int]string{}
	for bcm, u := range p.pins {
		if u.kind == "output" {
			outs[bcm] = u.what
		} else {
			ins[bcm] = u.what
		}
	}
	driven := map[int]int{} // input BCM -> line of its jumper
	for _, item := range jf.val.Content {
		item = deref(item)
		if item.Kind != yaml.SequenceNode || len(item.Content) != 2 {
			p.errAt(item, "a jumper is a pair [output pin, input pin], like [GPIO17, GPIO27], not %s", describe(item))
			continue
		}
		var pins [2]wiring.Pin
		good := true
		for k, pn := range item.Content {
			pn = deref(pn)
			if pn.Kind != yaml.ScalarNode || isNull(pn) {
				p.errAt(pn, "a jumper's pins are names like GPIO17, not %s", describe(pn))
				good = false
				continue
			}
			r, err := wiring.Resolve(pn.Value)
			if err != nil {
				p.errAt(pn, "jumper: %v", err)
				good = false
				continue
			}
			pins[k] = r
		}
		if !good {
			continue
		}
		from, to := pins[0], pins[1]
		if in, out := ins[from.BCM], outs[to.BCM]; in != "" && out != "" {
			p.errAt(item, "jumper [%s, %s] runs from %s to %s: swap them, a jumper is [output pin, input pin]",
				from.Name(), to.Name(), in, out)
			continue
		}
		if _, isOut := outs[from.BCM]; !isOut {
			p.errAt(deref(item.Content[0]), "jumper from %s: no output uses that pin; a jumper is [output pin, input pin]", from)
			good = false
		}
		if _, isIn := ins[to.BCM]; !isIn {
			p.errAt(deref(item.Content[1]), "jumper to %s: no input uses that pin; a jumper is [output pin, input pin]", to)
			good = false
		}
		if !good {
			continue
		}
		if line, dup := driven[to.BCM]; dup {
			p.errAt(deref(item.Content[1]), "jumper to %s: %s is already wired by the jumper on line %d; an input takes one jumper", to, ins[to.BCM], line)
			continue
		}
		driven[to.BCM] = item.Line
		p.c.Jumpers = append(p.c.Jumpers, Jumper{From: from, To: to, Pos: Pos{item.Line, item.Column}})
	}
}
