package codec

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hypebeast/go-osc/osc"
)

// Format writes a message on one line as liblo's oscdump does: the address,
// the type tags without the comma, then each argument:
//
//	/test i 0
//	/x f 0.500000
//	/s s "hi"
//	/types ihdT 1 2 0.250000 #T
//	/b b [3 bytes]
//	/n N Nil
//	/t t eeafdebb.00000005
//
// Floats and doubles are printed like C's %f (nan and inf included), strings
// quoted with Go escapes (so a newline in a string cannot break the line), T
// and F as #T and #F, a time tag as NTP seconds.fraction in hex. A message
// without arguments is just its address. A Go value that OSC cannot carry is
// printed with %v and the type tag '?'. A nil message is "".
//
// Nothing is printed raw: an address that holds a character other than a
// printable one (a control character such as a newline or ESC, invalid
// UTF-8, a zero-width or other non-printing character), or a space, a
// quote or a backslash, is printed quoted with Go escapes, like a string:
// "/a\n/button i 1", "/x\x1b[2J", "/led\u200b". So one message is always
// one line, an address cannot pose as arguments, and no escape sequence
// reaches a terminal or a log. A plain address prints unchanged.
func Format(m *osc.Message) string {
	if m == nil {
		return ""
	}
	var sb strings.Builder
	sb.WriteString(FormatAddress(m.Address))
	if len(m.Arguments) == 0 {
		return sb.String()
	}
	sb.WriteByte(' ')
	for _, a := range m.Arguments {
		sb.WriteByte(typeTag(a))
	}
	for _, a := range m.Arguments {
		sb.WriteByte(' ')
		sb.WriteString(formatArg(a))
	}
	return sb.String()
}

// FormatElement is Format with the time a bundle's message is due, when it
// has one, in front: "@2026-05-06T21:00:00.300000+02:00 /led i 1".
func FormatElement(e Element) string {
	if e.At.IsZero() {
		return Format(e.Msg)
	}
	return "@" + e.At.Format("2006-01-02T15:04:05.000000Z07:00") + " " + Format(e.Msg)
}

// typeTag is the OSC type tag of a Go value of a message argument.
func typeTag(a any) byte {
	switch v := a.(type) {
	case int32:
		return 'i'
	case float32:
		return 'f'
	case string:
		return 's'
	case []byte:
		return 'b'
	case int64:
		return 'h'
	case float64:
		return 'd'
	case osc.Timetag, *osc.Timetag:
		return 't'
	case bool:
		if v {
			return 'T'
		}
		return 'F'
	case nil:
		return 'N'
	}
	return '?'
}

func formatArg(a any) string {
	switch v := a.(type) {
	case int32:
		return strconv.FormatInt(int64(v), 10)
	case int64:
		return strconv.FormatInt(v, 10)
	case float32:
		return FormatFloat(float64(v))
	case float64:
		return FormatFloat(v)
	case string:
		return strconv.Quote(v)
	case []byte:
		if len(v) == 1 {
			return "[1 byte]"
		}
		return fmt.Sprintf("[%d bytes]", len(v))
	case osc.Timetag:
		return ntpHex(v.TimeTag())
	case *osc.Timetag:
		if v == nil {
			return "Nil"
		}
		return ntpHex(v.TimeTag())
	case bool:
		if v {
			return "#T"
		}
		return "#F"
	case nil:
		return "Nil"
	}
	return escape(fmt.Sprintf("%v", a))
}

// FormatAddress is an OSC address as Format prints it: unchanged when every
// character is printable and none is a space, '"' or '\\'; else quoted with
// Go escapes (strconv.Quote).
func FormatAddress(addr string) string { return escape(addr) }

// escape quotes s when it is not valid UTF-8 or holds anything but
// printable characters other than space, '"' and '\\'.
func escape(s string) string {
	if !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if r == ' ' || r == '"' || r == '\\' || !strconv.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
func ntpHex(tt uint64) string { return fmt.Sprintf("%08x.%08x", tt>>32, tt&0xffffffff) }

// FormatFloat formats f as C's printf("%f") does, as Format prints f and d
// arguments (and liblo's oscdump): "0.500000", "nan", "-inf".
func FormatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		if math.Signbit(f) {
			return "-nan"
		}
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'f', 6, 64)
}
