package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// This file is the schema-driven decoder: it fills the section structs of
// schema.go from a yaml.Node tree, strictly, and records where each key was
// written. It knows nothing of outputs or inputs; the structs' tags say
// everything it needs:
//
//	yaml:"key"        the key of the field; yaml:"-" skips the field
//	yaml:"key,empty"  the key may be given with no value (a section left empty)
//	example:"GPIO17"  the value must be one word; "must be a single value like GPIO17"
//	required:"..."    the key must be given: "<item> has no <key>: ..."
//	want:"must be ..." a nested section's shape, for "values must be ..., not a list"
//	item:"an output"  a list section's items, for "each item under outputs must be an output"
//
// A field's value is decoded by, in this order: its type's UnmarshalYAML
// (the value types of schema.go), a nested struct (a section of its own
// keys), a slice of structs (a list section, each item a struct), or a
// string. A struct's field of type positions receives where its keys are.

// positions records where the keys of one mapping were written, so that the
// validation pass can point at a key's value. The decoder fills the field of
// this type in every section struct.
type positions struct {
	node *yaml.Node            // the mapping itself
	vals map[string]*yaml.Node // key -> its value's node
	bad  map[string]bool       // keys whose value was reported as wrong
}

// has reports whether key was given.
func (p *positions) has(key string) bool { _, ok := p.vals[key]; return ok }

// good reports whether key was given and its value decoded without problems.
func (p *positions) good(key string) bool { return p.has(key) && !p.bad[key] }

// val is the node of key's value, or the mapping's node if key is absent.
func (p *positions) val(key string) *yaml.Node {
	if n := p.vals[key]; n != nil {
		return n
	}
	return p.node
}

// pos is where the mapping starts.
func (p *positions) pos() Pos {
	if p.node == nil {
		return Pos{}
	}
	return Pos{p.node.Line, p.node.Column}
}

// An item is one entry of a list section (an output, an input).
type item interface {
	kind() string                 // "output": names the item in messages
	misplaced() map[string]string // keys of other kinds of item, with why they do not belong here
}

// A defaulter sets the values of absent keys before its struct is decoded.
type defaulter interface{ setDefaults() }

// A problem is what a value type's UnmarshalYAML reports. The decoder puts
// the key in front of msg ("pull" + " must be one of ...") unless whole is
// set, and reports it at node, or at the value's node when node is nil.
// Other errors are reported as they are, at the value.
type problem struct {
	node  *yaml.Node
	msg   string
	whole bool
}

func (p *problem) Error() string { return p.msg }

// mustBe is a problem with a value, reported after its key.
func mustBe(format string, args ...any) error {
	return &problem{msg: fmt.Sprintf(format, args...)}
}

// problemAt is a problem reported at n with a message of its own.
func problemAt(n *yaml.Node, format string, args ...any) error {
	return &problem{node: n, msg: fmt.Sprintf(format, args...), whole: true}
}

// fieldInfo is one tagged field of a section struct.
type fieldInfo struct {
	key, example, required, want, item string
	index                              int
	empty                              bool
}

// structInfo is a section struct's keys, in field order.
type structInfo struct {
	fields []fieldInfo
	keys   []string
	byKey  map[string]int // key -> index in fields
	at     int            // index of the positions field, -1 if none
}

var structInfos sync.Map // reflect.Type -> *structInfo

var positionsType = reflect.TypeFor[positions]()

// infoOf reads the tags of struct type t (once).
func infoOf(t reflect.Type) *structInfo {
	if si, ok := structInfos.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{byKey: map[string]int{}, at: -1}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type == positionsType {
			si.at = i
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" || !f.IsExported() {
			continue
		}
		key, opts, _ := strings.Cut(tag, ",")
		if key == "" {
			panic(fmt.Sprintf("config: field %s.%s has no yaml key", t, f.Name))
		}
		checkDecodable(t, f)
		si.byKey[key] = len(si.fields)
		si.keys = append(si.keys, key)
		si.fields = append(si.fields, fieldInfo{
			key: key, index: i, empty: opts == "empty",
			example: f.Tag.Get("example"), required: f.Tag.Get("required"),
			want: f.Tag.Get("want"), item: f.Tag.Get("item"),
		})
	}
	structInfos.Store(t, si)
	return si
}

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	itemType        = reflect.TypeFor[item]()
)

// checkDecodable panics, when the schema is first used (the package's
// variables read it at start-up, so any test run finds it), if field f of
// struct t has a type the decoder cannot fill.
func checkDecodable(t reflect.Type, f reflect.StructField) {
	ft := f.Type
	switch {
	case reflect.PointerTo(ft).Implements(unmarshalerType), ft.Kind() == reflect.String:
	case ft.Kind() == reflect.Struct:
		infoOf(ft)
	case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct && reflect.PointerTo(ft.Elem()).Implements(itemType):
		infoOf(ft.Elem())
	default:
		panic(fmt.Sprintf("config: field %s.%s: the decoder cannot fill type %s (give it an UnmarshalYAML, or make it a struct, a list of items or a string)", t, f.Name, ft))
	}
}

// keysOf lists the keys of section struct T, in field order.
func keysOf[T any]() []string { return infoOf(reflect.TypeFor[T]()).keys }

// decoder collects the problems of one file.
type decoder struct {
	file string
	errs Errors
	odd  []*yaml.Node // scalars holding non-printing characters (checkNodes)
}

func (d *decoder) errAt(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...)})
}

// section decodes mapping n into the struct v (addressable). where names the
// mapping for key messages ("in output \"led\""), label the item it belongs
// to for missing keys (`output "led"`, "" at the top), prefix goes before
// its keys in value messages ("values " makes "values press must be ...").
// misplaced explains keys of other sections.
func (d *decoder) section(n *yaml.Node, v reflect.Value, where, label, prefix string, misplaced map[string]string) {
	si := infoOf(v.Type())
	at := positions{node: n, vals: map[string]*yaml.Node{}, bad: map[string]bool{}}
	seen := map[string]int{} // key -> line, known or not
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := deref(n.Content[i]), deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || isNull(k) {
			d.errAt(k, "a key %s must be a word like %s, not %s", where, si.keys[0], describe(k))
			continue
		}
		if line, dup := seen[k.Value]; dup {
			d.errAt(k, "key %q is given twice %s (first at line %d); keep one", k.Value, where, line)
			continue
		}
		seen[k.Value] = k.Line
		fi, known := si.byKey[k.Value]
		if !known {
			d.unknownKey(k, where, si.keys, misplaced)
			continue
		}
		f := si.fields[fi]
		at.vals[f.key] = val
		if !d.value(val, v.Field(f.index), f, prefix+f.key, label) {
			at.bad[f.key] = true
		}
	}
	for _, f := range si.fields {
		if f.required != "" && !at.has(f.key) {
			d.errAt(n, "%s has no %s: %s", label, f.key, f.required)
		}
	}
	if si.at >= 0 {
		v.Field(si.at).Set(reflect.ValueOf(at))
	}
}

// unknownKey reports key k, with the closest known key, else why it belongs
// elsewhere, else the known keys.
func (d *decoder) unknownKey(k *yaml.Node, where string, known []string, misplaced map[string]string) {
	msg := fmt.Sprintf("unknown key %q %s", k.Value, where)
	if s := suggest(k.Value, known); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	} else if other, ok := misplaced[k.Value]; ok {
		msg += "; " + other
	} else {
		msg += "; known keys: " + strings.Join(known, ", ")
	}
	d.errAt(k, "%s", msg)
}

// value decodes n into field v and reports whether it was good. what is the
// key as messages name it.
func (d *decoder) value(n *yaml.Node, v reflect.Value, f fieldInfo, what, label string) bool {
	if f.example != "" && (n.Kind != yaml.ScalarNode || isNull(n)) {
		d.errAt(n, "%s must be a single value like %s, not %s", what, f.example, describe(n))
		return false
	}
	if u, ok := v.Addr().Interface().(yaml.Unmarshaler); ok {
		return d.report(u.UnmarshalYAML(n), n, what)
	}
	switch {
	case v.Kind() == reflect.Struct:
		if isNull(n) && f.empty {
			return true
		}
		if n.Kind != yaml.MappingNode {
			d.errAt(n, "%s %s, not %s", what, f.want, describe(n))
			return false
		}
		where := "in " + f.key
		if label != "" {
			where += " of " + label
		}
		d.section(n, v, where, label, what+" ", nil)
		return true
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
		return d.items(n, v, f, what)
	case v.Kind() == reflect.String:
		if n.Kind != yaml.ScalarNode || isNull(n) {
			d.errAt(n, "%s must be a single value, not %s", what, describe(n))
			return false
		}
		v.SetString(n.Value)
		return true
	}
	panic("unreachable: checkDecodable accepts no other type")
}

// items decodes a list section: each item a mapping decoded into a new
// element of slice v, whose type implements item.
func (d *decoder) items(n *yaml.Node, v reflect.Value, f fieldInfo, what string) bool {
	if isNull(n) && f.empty {
		return true
	}
	if n.Kind != yaml.SequenceNode {
		d.errAt(n, "%s must be a list, each item starting with \"- name:\", not %s", what, describe(n))
		return false
	}
	good := true
	for _, x := range n.Content {
		x = deref(x)
		if x.Kind != yaml.MappingNode {
			d.errAt(x, "each item under %s must be %s with key: value lines (name:, pin:, address: ...), not %s", what, f.item, describe(x))
			good = false
			continue
		}
		e := reflect.New(v.Type().Elem())
		if df, ok := e.Interface().(defaulter); ok {
			df.setDefaults()
		}
		it := e.Interface().(item)
		lbl := label(it.kind(), x)
		d.section(x, e.Elem(), "in "+lbl, lbl, "", it.misplaced())
		v.Set(reflect.Append(v, e.Elem()))
	}
	return good
}

// report records err from n's UnmarshalYAML (see problem) and reports
// whether there was none.
func (d *decoder) report(err error, n *yaml.Node, what string) bool {
	if err == nil {
		return true
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			d.report(e, n, what)
		}
		return false
	}
	var p *problem
	if !errors.As(err, &p) {
		d.errAt(n, "%v", err)
		return false
	}
	at, msg := n, p.msg
	if p.node != nil {
		at = p.node
	}
	if !p.whole {
		msg = what + " " + msg
	}
	d.errAt(at, "%s", msg)
	return false
}
