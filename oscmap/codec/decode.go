package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/hypebeast/go-osc/osc"
)

// MaxMessages is the most messages one datagram may hold: the elements of a
// bundle, nested bundles included. A datagram with more is malformed as a
// whole, and Decode stops at the first message past the limit, before
// building it. A 64 KB UDP datagram can carry about 5400 tiny messages; 1024
// bounds what one packet can make the receiver allocate (under 2 MB) and log.
const MaxMessages = 1024

// An Element is one message of a received datagram, with the time it is due.
type Element struct {
	Msg *osc.Message
	// At is when the message is to be applied: the time tag of the innermost
	// bundle holding it. The zero time means immediately: a message outside
	// any bundle, or in a bundle with the time tag 1 ("immediately"). A time
	// in the past also means immediately.
	At time.Time
}

// Decode reads one UDP datagram: a message, or a bundle whose elements are
// flattened, in order, into their messages, each with the time of the bundle
// that holds it (nested bundles included; an inner bundle is never due before
// its outer one). It reads every byte once and builds go-osc's message values
// as it goes: the same values go-osc's ParsePacket makes (int32, float32,
// string, []byte, int64, float64, osc.Timetag, true, false and nil).
//
// Decode is strict: any defect makes the whole datagram malformed, and the
// error says what and where: a packet that does not start with '/' or '#', an
// unknown type tag, a truncated string, a bad blob length, non-zero padding,
// bytes after the last argument, a bundle element size that is not positive,
// not a multiple of 4 or beyond the packet, more than MaxMessages messages. A
// message without a type tag string (from OSC implementations older than 1.0)
// is read as having no arguments. The argument types are those go-osc
// decodes: i, f, s, b, h, d, t, T, F and N.
//
// Bundle time tags are read with NTP's era rule (RFC 4330 section 3): a time
// tag whose seconds have their most significant bit set is in 1968-2036, one
// without it in 2036-2104. A time tag within the first second of NTP time
// (0, and 1, which OSC defines as "immediately") means immediately.
//
// The messages do not refer to b, which may be reused.
func Decode(b []byte) ([]Element, error) {
	var dst []Element
	if len(b) > 0 && b[0] == '/' {
		dst = make([]Element, 0, 1)
	}
	out, err := DecodeAppend(dst, b)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DecodeAppend is Decode appending the elements to dst[:0], so that a reader
// that keeps one slice allocates none per datagram. On error it returns
// dst[:0] and the error.
func DecodeAppend(dst []Element, b []byte) ([]Element, error) {
	d := decoder{out: dst[:0]}
	if err := d.packet(b, 0, time.Time{}); err != nil {
		clear(d.out)
		return d.out[:0], err
	}
	return d.out, nil
}

// A Decoder decodes datagrams as DecodeAppend does, reusing the messages it
// made for the previous datagram and the addresses it has seen: once warm, a
// datagram of messages whose arguments are numbers, booleans or nil
// allocates nothing. The messages one call returns are valid until the next
// call; a message kept longer must be copied with Clone. The zero Decoder is
// ready to use, by one goroutine at a time.
type Decoder struct {
	msgs  []*osc.Message    // reused in order, one per message of a datagram
	used  int               // how many of msgs the current datagram took
	prev  int               // how many the datagram before took
	names map[string]string // addresses seen (interned), at most maxNames
}

// What a Decoder keeps between datagrams: the messages of the first
// keptMessages elements, argument lists of up to keptArgs, and up to
// maxNames addresses of up to maxNameLen bytes. Beyond these it allocates,
// as DecodeAppend does, so a hostile datagram cannot make it hold more.
const (
	keptMessages = 64
	keptArgs     = 16
	maxNames     = 256
	maxNameLen   = 64
)

// Decode is DecodeAppend with d's reuse. On error it returns dst[:0].
func (d *Decoder) Decode(dst []Element, b []byte) ([]Element, error) {
	d.used = 0
	dec := decoder{out: dst[:0], reuse: d}
	err := dec.packet(b, 0, time.Time{})
	// The kept messages this datagram did not reuse let go of their
	// arguments (a blob can be 64 KB), as do those of a malformed one.
	from := d.used
	if err != nil {
		from = 0
	}
	for _, m := range d.msgs[from:max(d.prev, d.used)] {
		clear(m.Arguments)
		m.Arguments = m.Arguments[:0]
	}
	d.prev = d.used
	if err != nil {
		clear(dec.out)
		return dec.out[:0], err
	}
	return dec.out, nil
}

// message is a message for address addr with room for nargs arguments: a
// reused one while there are, else a new one.
func (d *Decoder) message(addr []byte, nargs int) *osc.Message {
	if nargs > keptArgs {
		return &osc.Message{Address: d.intern(addr), Arguments: make([]any, 0, nargs)}
	}
	var m *osc.Message
	if d.used < len(d.msgs) {
		m = d.msgs[d.used]
		d.used++
		clear(m.Arguments)
		m.Arguments = m.Arguments[:0]
	} else {
		one := &oneArg{}
		m = &one.m
		m.Arguments = one.a[:0]
		if len(d.msgs) < keptMessages {
			d.msgs = append(d.msgs, m)
			d.used++
		}
	}
	m.Address = d.intern(addr)
	return m
}

// intern is addr as a string, the same string each time for an address
// seen before. When maxNames are kept, they are all forgotten and the
// keeping starts again, so addresses seen once (a scan) cannot keep out the
// ones seen all the time.
func (d *Decoder) intern(addr []byte) string {
	if s, ok := d.names[string(addr)]; ok {
		return s
	}
	s := string(addr)
	if len(addr) <= maxNameLen {
		if d.names == nil {
			d.names = make(map[string]string)
		}
		if len(d.names) >= maxNames {
			clear(d.names)
		}
		d.names[s] = s
	}
	return s
}

// Clone copies m: its address and argument list (the argument values are
// shared; a decoded message's blobs and strings are its own).
func Clone(m *osc.Message) *osc.Message {
	c := &osc.Message{Address: m.Address}
	if m.Arguments != nil {
		c.Arguments = append(make([]any, 0, len(m.Arguments)), m.Arguments...)
	}
	return c
}

// decoder holds the messages of one datagram decoded so far.
type decoder struct {
	out   []Element
	reuse *Decoder // nil: every message is new
}

// packet decodes the packet b found at byte off of the datagram, due at at.
func (d *decoder) packet(b []byte, off int, at time.Time) error {
	if len(b) == 0 {
		return errors.New("empty packet")
	}
	switch b[0] {
	case '/':
		if len(d.out) >= MaxMessages {
			return fmt.Errorf("bundle holds more than %d messages (the limit, codec.MaxMessages, is reached at byte %d): send fewer messages per datagram", MaxMessages, off)
		}
		m, err := d.decodeMessage(b)
		if err != nil {
			if off > 0 {
				return fmt.Errorf("message at byte %d: %w", off, err)
			}
			return err
		}
		d.out = append(d.out, Element{Msg: m, At: at})
		return nil
	case '#':
		return d.bundle(b, off, at)
	}
	where := "packet"
	if off > 0 {
		where = fmt.Sprintf("bundle element at byte %d", off)
	}
	return fmt.Errorf("%s does not start with / or # (it starts with %q): not OSC", where, b[0])
}

var bundleTag = []byte("#bundle\x00")

func (d *decoder) bundle(b []byte, off int, outer time.Time) error {
	if !bytes.HasPrefix(b, bundleTag) && !bytes.HasPrefix(bundleTag, b) {
		return fmt.Errorf("packet at byte %d starts with '#' but not with \"#bundle\"", off)
	}
	if len(b) < 16 {
		return fmt.Errorf("truncated bundle header at byte %d: %d bytes, need 16 (\"#bundle\", time tag)", off, len(b))
	}
	if d.out == nil {
		d.out = make([]Element, 0, 8)
	}
	at := timetagTime(binary.BigEndian.Uint64(b[8:16]))
	if at.Before(outer) {
		at = outer // OSC 1.0: an inner bundle is not due before its outer bundle
	}
	for i := 16; i < len(b); {
		if len(b)-i < 4 {
			return fmt.Errorf("truncated bundle element size at byte %d: %d bytes left, need 4", off+i, len(b)-i)
		}
		size := int64(int32(binary.BigEndian.Uint32(b[i:])))
		left := len(b) - i - 4
		switch {
		case size <= 0:
			return fmt.Errorf("bad bundle element size %d at byte %d: must be positive", size, off+i)
		case size > int64(left):
			return fmt.Errorf("bundle element size %d beyond packet at byte %d: %d bytes left", size, off+i, left)
		case size%4 != 0:
			return fmt.Errorf("bad bundle element size %d at byte %d: must be a multiple of 4", size, off+i)
		}
		i += 4
		if err := d.packet(b[i:i+int(size)], off+i, at); err != nil {
			return err
		}
		i += int(size)
	}
	return nil
}

// NTP time (OSC time tags) starts on 1 January 1900.
const ntpToUnix = 2208988800

// timetagTime converts an OSC time tag with NTP's era rule (RFC 4330): when
// the most significant bit of the seconds is 0, the time is in era 1, from
// 2036-02-07T06:28:16Z on. The first second of NTP time (0, and 1, which
// means immediately) is the zero time: immediately.
func timetagTime(tt uint64) time.Time {
	secs := tt >> 32
	if secs == 0 {
		return time.Time{}
	}
	unix := int64(secs) - ntpToUnix
	if secs&(1<<31) == 0 {
		unix += 1 << 32 // era 1
	}
	nanos := (tt & 0xffffffff) * 1e9 >> 32
	return time.Unix(unix, int64(nanos))
}

// argSize is the size of the fixed-size arguments.
var argSize = [256]uint8{'i': 4, 'f': 4, 'h': 8, 'd': 8, 't': 8}

// decodeMessage checks every byte of the message b and builds it as it goes,
// into the values go-osc's ParsePacket makes.
func (d *decoder) decodeMessage(b []byte) (*osc.Message, error) {
	n, i, bad := stringAt(b, 0)
	if bad != 0 {
		return nil, stringError(bad, "address", 0, n)
	}
	if d.reuse != nil {
		nargs := 0
		if i < len(b) {
			// The type tags are at most the rest of the message, less the ','.
			if t := bytes.IndexByte(b[i:], 0); t > 0 {
				nargs = t - 1
			}
		}
		m := d.reuse.message(b[:n], nargs)
		if i == len(b) {
			return m, nil
		}
		return finishMessage(b, i, m)
	}
	if i+4 <= len(b) && b[i] == ',' && b[i+1] != 0 && b[i+2] == 0 {
		// One argument (the usual /led i 1): the message and its argument
		// list in one allocation.
		one := &oneArg{m: osc.Message{Address: string(b[:n])}}
		one.m.Arguments = one.a[:0]
		return finishMessage(b, i, &one.m)
	}
	m := &osc.Message{Address: string(b[:n])}
	if i == len(b) {
		return m, nil // no type tag string
	}
	return finishMessage(b, i, m)
}

// oneArg is a message with room for one argument, allocated together.
type oneArg struct {
	m osc.Message
	a [1]any
}

// finishMessage reads the type tags and arguments of m from b[i:].
func finishMessage(b []byte, i int, m *osc.Message) (*osc.Message, error) {
	var n int
	var bad stringDefect
	start := i
	n, i, bad = stringAt(b, i)
	if bad != 0 {
		return nil, stringError(bad, "type tag string", start, n)
	}
	tags := b[start : start+n]
	if len(tags) == 0 || tags[0] != ',' {
		return nil, fmt.Errorf("type tag string %q does not start with ','", tags)
	}
	tags = tags[1:]
	if len(tags) > cap(m.Arguments) {
		m.Arguments = make([]any, 0, len(tags))
	}
	for k, t := range tags {
		switch t {
		case 'i', 'f', 'h', 'd', 't':
			size := int(argSize[t])
			if len(b)-i < size {
				return nil, fmt.Errorf("truncated argument %d (%c) at byte %d: needs %d bytes, %d left", k+1, t, i, size, len(b)-i)
			}
			var v any
			switch t {
			case 'i':
				v = int32(binary.BigEndian.Uint32(b[i:]))
			case 'f':
				v = math.Float32frombits(binary.BigEndian.Uint32(b[i:]))
			case 'h':
				v = int64(binary.BigEndian.Uint64(b[i:]))
			case 'd':
				v = math.Float64frombits(binary.BigEndian.Uint64(b[i:]))
			case 't':
				v = *osc.NewTimetagFromTimetag(binary.BigEndian.Uint64(b[i:]))
			}
			m.Arguments = append(m.Arguments, v)
			i += size
		case 's':
			start := i
			n, i, bad = stringAt(b, i)
			if bad != 0 {
				return nil, stringError(bad, fmt.Sprintf("argument %d (s)", k+1), start, n)
			}
			m.Arguments = append(m.Arguments, string(b[start:start+n]))
		case 'b':
			if len(b)-i < 4 {
				return nil, fmt.Errorf("truncated argument %d (b) at byte %d: needs 4 bytes for the blob length, %d left", k+1, i, len(b)-i)
			}
			size := int64(int32(binary.BigEndian.Uint32(b[i:])))
			left := len(b) - i - 4
			if size < 0 || size > int64(left) {
				return nil, fmt.Errorf("bad blob length %d in argument %d at byte %d: %d bytes left", size, k+1, i, left)
			}
			data := b[i+4 : i+4+int(size)]
			i += 4 + int(size)
			pad := (4 - int(size)%4) % 4
			if len(b)-i < pad {
				return nil, fmt.Errorf("truncated blob padding in argument %d at byte %d", k+1, i)
			}
			if !zeros(b[i : i+pad]) {
				return nil, fmt.Errorf("non-zero padding after the blob of argument %d at byte %d", k+1, i)
			}
			i += pad
			m.Arguments = append(m.Arguments, bytes.Clone(data))
		case 'T':
			m.Arguments = append(m.Arguments, true)
		case 'F':
			m.Arguments = append(m.Arguments, false)
		case 'N':
			m.Arguments = append(m.Arguments, nil)
		default:
			return nil, fmt.Errorf("unknown type tag %q in argument %d (this server reads i f s b h d t T F N)", rune(t), k+1)
		}
	}
	if i != len(b) {
		return nil, fmt.Errorf("%d unexpected bytes after the last argument at byte %d", len(b)-i, i)
	}
	return m, nil
}

// A stringDefect is what is wrong with an OSC string.
type stringDefect uint8

const (
	noNUL          stringDefect = 1 + iota // no NUL terminator
	noPadding                              // the padding to 4 bytes is cut off
	nonZeroPadding                         // a padding byte is not 0
)

// stringAt finds the OSC string (NUL-terminated, zero-padded to a multiple of
// 4 bytes) at b[i:]: its length n and the offset end after its padding, or
// what is wrong with it.
func stringAt(b []byte, i int) (n, end int, bad stringDefect) {
	n = bytes.IndexByte(b[i:], 0)
	if n < 0 {
		return 0, 0, noNUL
	}
	end = i + (n+4)&^3
	if end > len(b) {
		return n, 0, noPadding
	}
	if !zeros(b[i+n : end]) {
		return n, 0, nonZeroPadding
	}
	return n, end, 0
}

// stringError describes the defect of the string what at byte i, n bytes
// long before its NUL.
func stringError(bad stringDefect, what string, i, n int) error {
	switch bad {
	case noNUL:
		return fmt.Errorf("truncated string: %s at byte %d has no NUL terminator", what, i)
	case noPadding:
		return fmt.Errorf("truncated string: %s at byte %d lacks its padding to 4 bytes", what, i)
	}
	return fmt.Errorf("non-zero padding after %s at byte %d", what, i+n)
}

func zeros(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
