package oscquery

import (
	"math"
	"sort"
	"strings"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/oscmap"
)

// The ACCESS values of the spec.
const (
	accessNone  = 0
	accessRead  = 1
	accessWrite = 2
	accessRW    = 3
)

// valueOf says how a method's value is read from its point, for VALUE and
// for the frames sent to listeners.
type valueOf int

const (
	valueNone  valueOf = iota // write-only: no value
	valueBool                 // T/F: the point's Value is not 0
	valueHeld                 // T/F: the input is held (<address>/hold)
	valueInt                  // i: the point's Value, rounded
	valueFloat                // f: the point's Value
)

// A rng is one element of RANGE. MIN and MAX are pointers so that 0 is
// written and an absent bound is left out.
type rng struct {
	Min *float64 `json:"MIN,omitempty"`
	Max *float64 `json:"MAX,omitempty"`
}

func minMax(a, b float64) rng {
	lo, hi := math.Min(a, b), math.Max(a, b)
	return rng{Min: &lo, Max: &hi}
}

func atLeast(a float64) rng { return rng{Min: &a} }

// An overload is another type tag string a method takes (OVERLOADS).
type overload struct {
	Type  string `json:"TYPE"`
	Range []rng  `json:"RANGE,omitempty"`
}

// A method is what a node that is an OSC method says about itself.
type method struct {
	point     string // the point it reads or drives; "" for the bridge's own methods
	typ       string
	access    int
	desc      string
	value     valueOf
	rng       []rng
	clip      []string
	overloads []overload
}

// A node is one address of the namespace: a container (children, no
// method), a method, or both (an output with its actions below it).
type node struct {
	path     string
	children map[string]*node // nil for a method with nothing below it
	m        *method
}

// A tree is the namespace of one mapping.
type tree struct {
	root    *node
	byPath  map[string]*node
	byPoint map[string][]string // point name -> the paths whose value it is, sorted
}

func newTree() *tree {
	root := &node{path: "/", children: map[string]*node{}}
	return &tree{root: root, byPath: map[string]*node{"/": root}, byPoint: map[string][]string{}}
}

// add puts m at path, creating the containers above it. A path that has a
// method already keeps it (the mapping's checks make that rare).
func (t *tree) add(path string, m *method) {
	n := t.root
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i, p := range parts {
		if n.children == nil {
			n.children = map[string]*node{}
		}
		c := n.children[p]
		if c == nil {
			c = &node{path: "/" + strings.Join(parts[:i+1], "/")}
			if i < len(parts)-1 {
				c.children = map[string]*node{}
			}
			n.children[p] = c
			t.byPath[c.path] = c
		} else if i < len(parts)-1 && c.children == nil {
			c.children = map[string]*node{}
		}
		n = c
	}
	if n.m != nil {
		return
	}
	n.m = m
	if m.point != "" && m.value != valueNone {
		t.byPoint[m.point] = append(t.byPoint[m.point], path)
		sort.Strings(t.byPoint[m.point])
	}
}

// buildTree makes the namespace of cfg: every output address, with the
// output's actions below its first address only (the engine routes them
// below every address, but a client such as Chataigne shows a node with
// CONTENTS as a group, not as a control: a second address is a plain
// control there); every input address (with /hold when it has a hold time);
// and the bridge's /oscgpio/heartbeat and /oscgpio/sync (unless the
// mapping's oscgpio_methods turns them off). A point that is
// not running (live says so: a reload could not open its pin) is left out,
// as the engine does not route it. A nil live takes every point.
func buildTree(cfg *config.Config, live map[string]bool) *tree {
	t := newTree()
	secs := minMax(0.001, 3600)
	for _, o := range cfg.Outputs {
		if live != nil && !live[o.Name] {
			continue
		}
		for i, a := range o.Addresses {
			if o.Kind == config.OutputDigital {
				t.add(a, &method{point: o.Name, typ: "T", access: accessRW, desc: o.Name, value: valueBool})
				if i > 0 {
					continue
				}
				t.add(a+"/pulse", &method{point: o.Name, typ: "N", access: accessWrite, desc: o.Name + " pulse",
					overloads: []overload{{Type: "f", Range: []rng{secs}}}})
				t.add(a+"/blink", &method{point: o.Name, typ: "N", access: accessWrite, desc: o.Name + " blink",
					overloads: []overload{{Type: "f", Range: []rng{secs}}, {Type: "ff", Range: []rng{secs, atLeast(1)}}}})
				t.add(a+"/toggle", &method{point: o.Name, typ: "N", access: accessWrite, desc: o.Name + " toggle"})
				continue
			}
			r := minMax(o.Range[0], o.Range[1])
			t.add(a, &method{point: o.Name, typ: "f", access: accessRW, desc: o.Name, value: valueFloat,
				rng: []rng{r}, clip: []string{"both"}})
			if i > 0 {
				continue
			}
			t.add(a+"/fade", &method{point: o.Name, typ: "ff", access: accessWrite, desc: o.Name + " fade",
				rng: []rng{r, minMax(0, 3600)}, clip: []string{"both", "both"},
				overloads: []overload{{Type: "f", Range: []rng{r}}}})
		}
	}
	for _, in := range cfg.Inputs {
		if live != nil && !live[in.Name] {
			continue
		}
		switch in.Kind {
		case config.KindDigital:
			m := &method{point: in.Name, typ: "T", access: accessRead, desc: in.Name, value: valueBool}
			if in.Mode == config.ModeCounter {
				m.typ, m.value, m.rng = "i", valueInt, []rng{atLeast(0)}
			}
			t.add(in.Address, m)
			if in.Hold > 0 {
				t.add(in.Address+"/hold", &method{point: in.Name, typ: "T", access: accessRead, desc: in.Name + " hold", value: valueHeld})
			}
		case config.KindEncoder:
			m := &method{point: in.Name, typ: "i", access: accessRead, desc: in.Name, value: valueInt}
			if in.Mode == "absolute" {
				m.rng = []rng{minMax(in.Min, in.Max)}
				if in.Type != 'i' {
					m.typ, m.value = "f", valueFloat
				}
			}
			t.add(in.Address, m)
		case config.KindAnalog:
			m := &method{point: in.Name, typ: "f", access: accessRead, desc: in.Name, value: valueFloat,
				rng: []rng{minMax(in.Range[0], in.Range[1])}}
			if in.Type == 'i' {
				m.typ, m.value = "i", valueInt
			}
			t.add(in.Address, m)
		}
	}
	// oscgpio_methods read_only or off refuses these two.
	if cfg.Methods == "" || cfg.Methods == config.MethodsAll {
		t.add("/oscgpio/heartbeat", &method{typ: "N", access: accessWrite, desc: "heartbeat (re-arms the watchdogs)"})
		t.add("/oscgpio/sync", &method{typ: "N", access: accessWrite, desc: "sync (sends every value to its feedback)"})
	}
	return t
}

// jsonNode is a node as the spec writes it. ACCESS and DESCRIPTION are never
// left out; VALUE is left out only when the node has no value to read.
type jsonNode struct {
	FullPath    string               `json:"FULL_PATH"`
	Contents    *map[string]jsonNode `json:"CONTENTS,omitempty"`
	Type        string               `json:"TYPE,omitempty"`
	Access      int                  `json:"ACCESS"`
	Value       []any                `json:"VALUE,omitempty"`
	Range       []rng                `json:"RANGE,omitempty"`
	ClipMode    []string             `json:"CLIPMODE,omitempty"`
	Overloads   []overload           `json:"OVERLOADS,omitempty"`
	Description string               `json:"DESCRIPTION"`
}

// render writes n and everything below it, with the values of points.
func (n *node) render(points map[string]oscmap.Point) jsonNode {
	j := jsonNode{FullPath: n.path, Description: containerDesc(n.path)}
	if n.children != nil {
		c := make(map[string]jsonNode, len(n.children))
		for k, child := range n.children {
			c[k] = child.render(points)
		}
		j.Contents = &c
	}
	if m := n.m; m != nil {
		j.Type, j.Access, j.Description = m.typ, m.access, m.desc
		j.Range, j.ClipMode, j.Overloads = m.rng, m.clip, m.overloads
		if p, ok := points[m.point]; ok {
			j.Value = m.jsonValue(p)
		}
	}
	return j
}

// containerDesc is a container's label: the last part of its path ("root"
// for /).
func containerDesc(path string) string {
	if path == "/" {
		return "root"
	}
	return path[strings.LastIndexByte(path, '/')+1:]
}

// jsonValue is VALUE for point p, nil for a method without a value.
func (m *method) jsonValue(p oscmap.Point) []any {
	switch m.value {
	case valueBool:
		return []any{p.Value != 0}
	case valueHeld:
		return []any{p.Held}
	case valueInt:
		return []any{int64(math.Round(p.Value))}
	case valueFloat:
		if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
			return []any{nil} // JSON has no NaN
		}
		return []any{p.Value}
	}
	return nil
}

// oscArgs is the value of p as OSC arguments typed as the method's TYPE.
func (m *method) oscArgs(p oscmap.Point) []any {
	switch m.value {
	case valueBool:
		return []any{p.Value != 0}
	case valueHeld:
		return []any{p.Held}
	case valueInt:
		return []any{int32(max(min(math.Round(p.Value), math.MaxInt32), math.MinInt32))}
	case valueFloat:
		return []any{float32(p.Value)}
	}
	return nil
}

// sends reports whether change c of the method's point changes the
// method's value: a hold changes /hold only, anything else the value.
func (m *method) sends(c oscmap.Change) bool {
	if m.value == valueHeld {
		return c.Cause == oscmap.CauseHold
	}
	return c.Cause != oscmap.CauseHold
}

// changedPaths returns the highest path under which old and new differ
// (their structure or what a method says, values aside), and false when
// they are the same.
func changedPaths(old, new *tree) (string, bool) {
	var diff []string
	for p, n := range new.byPath {
		o := old.byPath[p]
		if o == nil || !sameNode(o, n) {
			diff = append(diff, p)
		}
	}
	for p := range old.byPath {
		if new.byPath[p] == nil {
			diff = append(diff, p)
		}
	}
	if len(diff) == 0 {
		return "", false
	}
	return commonPrefix(diff), true
}

// sameNode compares what two nodes say, children's names included.
func sameNode(a, b *node) bool {
	if (a.children == nil) != (b.children == nil) || len(a.children) != len(b.children) {
		return false
	}
	for k := range a.children {
		if b.children[k] == nil {
			return false
		}
	}
	if (a.m == nil) != (b.m == nil) {
		return false
	}
	if a.m == nil {
		return true
	}
	x, y := a.render(nil), b.render(nil)
	x.Contents, y.Contents = nil, nil
	return jsonEqual(x, y)
}

// commonPrefix is the longest path that every path is at or under.
func commonPrefix(paths []string) string {
	parts := strings.Split(strings.TrimPrefix(paths[0], "/"), "/")
	for _, p := range paths[1:] {
		q := strings.Split(strings.TrimPrefix(p, "/"), "/")
		n := 0
		for n < len(parts) && n < len(q) && parts[n] == q[n] {
			n++
		}
		parts = parts[:n]
	}
	if len(parts) == 0 || (len(parts) == 1 && parts[0] == "") {
		return "/"
	}
	return "/" + strings.Join(parts, "/")
}
