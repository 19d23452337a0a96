package oscmap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/hypebeast/go-osc/osc"
)

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
// its outer one).
//
// Decode is strict: any defect makes the whole datagram malformed, and the
// error says what and where: a packet that does not start with '/' or '#', an
// unknown type tag, a truncated string, a bad blob length, non-zero padding,
// bytes after the last argument, a bundle element size that is not positive,
// not a multiple of 4 or beyond the packet. A message without a type tag
// string (from OSC implementations older than 1.0) is read as having no
// arguments. The argument types are those go-osc decodes: i, f, s, b, h, d,
// t, T, F and N.
//
// The messages do not refer to b, which may be reused.
func Decode(b []byte) ([]Element, error) {
	var out []Element
	if err := decodePacket(b, 0, time.Time{}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// decodePacket decodes the packet b found at byte off of the datagram, due at at.
func decodePacket(b []byte, off int, at time.Time, out *[]Element) error {
	if len(b) == 0 {
		return errors.New("empty packet")
	}
	switch b[0] {
	case '/':
		m, err := decodeMessage(b)
		if err != nil {
			if off > 0 {
				return fmt.Errorf("message at byte %d: %w", off, err)
			}
			return err
		}
		*out = append(*out, Element{Msg: m, At: at})
		return nil
	case '#':
		return decodeBundle(b, off, at, out)
	}
	where := "packet"
	if off > 0 {
		where = fmt.Sprintf("bundle element at byte %d", off)
	}
	return fmt.Errorf("%s does not start with / or # (it starts with %q): not OSC", where, b[0])
}

var bundleTag = []byte("#bundle\x00")

func decodeBundle(b []byte, off int, outer time.Time, out *[]Element) error {
	if !bytes.HasPrefix(b, bundleTag) && !bytes.HasPrefix(bundleTag, b) {
		return fmt.Errorf("packet at byte %d starts with '#' but not with \"#bundle\"", off)
	}
	if len(b) < 16 {
		return fmt.Errorf("truncated bundle header at byte %d: %d bytes, need 16 (\"#bundle\", time tag)", off, len(b))
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
		if err := decodePacket(b[i:i+int(size)], off+i, at, out); err != nil {
			return err
		}
		i += int(size)
	}
	return nil
}

// NTP time (OSC time tags) starts on 1 January 1900.
const ntpToUnix = 2208988800

// timetagTime converts an OSC time tag. 1 means immediately (the zero time);
// so do 0 and other times within the first second of 1900.
func timetagTime(tt uint64) time.Time {
	secs := tt >> 32
	if secs == 0 {
		return time.Time{}
	}
	nanos := (tt & 0xffffffff) * 1e9 >> 32
	return time.Unix(int64(secs)-ntpToUnix, int64(nanos))
}

// argSize is the size of the fixed-size arguments.
var argSize = [256]uint8{'i': 4, 'f': 4, 'h': 8, 'd': 8, 't': 8}

// decodeMessage checks every byte of the message b, then decodes it with
// go-osc's ParsePacket. The cases go-osc reads wrongly are decoded here
// instead: a message longer than its 4096-byte reader (where it can misread
// padding and blobs that straddle that boundary), an empty blob (which it
// rejects) and a missing type tag string (which it rejects).
func decodeMessage(b []byte) (*osc.Message, error) {
	addr, i, err := readString(b, 0, "address")
	if err != nil {
		return nil, err
	}
	if i == len(b) {
		return &osc.Message{Address: addr}, nil // no type tag string
	}
	tags, i, err := readString(b, i, "type tag string")
	if err != nil {
		return nil, err
	}
	if tags == "" || tags[0] != ',' {
		return nil, fmt.Errorf("type tag string %q does not start with ','", tags)
	}
	tags = tags[1:]
	own := len(b) > 4096
	for k := 0; k < len(tags); k++ {
		t := tags[k]
		switch t {
		case 'i', 'f', 'h', 'd', 't':
			if n := int(argSize[t]); len(b)-i < n {
				return nil, fmt.Errorf("truncated argument %d (%c) at byte %d: needs %d bytes, %d left", k+1, t, i, n, len(b)-i)
			}
			i += int(argSize[t])
		case 's':
			if _, i, err = readString(b, i, fmt.Sprintf("argument %d (s)", k+1)); err != nil {
				return nil, err
			}
		case 'b':
			if len(b)-i < 4 {
				return nil, fmt.Errorf("truncated argument %d (b) at byte %d: needs 4 bytes for the blob length, %d left", k+1, i, len(b)-i)
			}
			size := int64(int32(binary.BigEndian.Uint32(b[i:])))
			left := len(b) - i - 4
			if size < 0 || size > int64(left) {
				return nil, fmt.Errorf("bad blob length %d in argument %d at byte %d: %d bytes left", size, k+1, i, left)
			}
			i += 4 + int(size)
			pad := (4 - int(size)%4) % 4
			if len(b)-i < pad {
				return nil, fmt.Errorf("truncated blob padding in argument %d at byte %d", k+1, i)
			}
			if !zeros(b[i : i+pad]) {
				return nil, fmt.Errorf("non-zero padding after the blob of argument %d at byte %d", k+1, i)
			}
			i += pad
			own = own || size == 0
		case 'T', 'F', 'N':
		default:
			return nil, fmt.Errorf("unknown type tag %q in argument %d (this server reads i f s b h d t T F N)", rune(t), k+1)
		}
	}
	if i != len(b) {
		return nil, fmt.Errorf("%d unexpected bytes after the last argument at byte %d", len(b)-i, i)
	}
	if own {
		return buildMessage(b)
	}
	return parseChecked(b, addr, len(tags))
}

// parseChecked decodes a message that decodeMessage checked with go-osc's
// ParsePacket, and makes sure that it read what was checked.
func parseChecked(b []byte, addr string, nargs int) (m *osc.Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("go-osc could not decode the message: panic: %v", r)
		}
	}()
	p, err := osc.ParsePacket(string(b))
	if err != nil {
		return nil, fmt.Errorf("go-osc could not decode the message: %w", err)
	}
	m, ok := p.(*osc.Message)
	if !ok || m == nil || m.Address != addr || len(m.Arguments) != nargs {
		return nil, fmt.Errorf("go-osc decoded the message differently (%T)", p)
	}
	return m, nil
}

// buildMessage decodes a message that decodeMessage checked, without go-osc,
// into the same values go-osc's ParsePacket makes.
func buildMessage(b []byte) (*osc.Message, error) {
	addr, i, _ := readString(b, 0, "")
	m := &osc.Message{Address: addr}
	if i == len(b) {
		return m, nil
	}
	tags, i, _ := readString(b, i, "")
	for _, t := range []byte(tags[1:]) {
		switch t {
		case 'i':
			m.Arguments = append(m.Arguments, int32(binary.BigEndian.Uint32(b[i:])))
		case 'f':
			m.Arguments = append(m.Arguments, math.Float32frombits(binary.BigEndian.Uint32(b[i:])))
		case 'h':
			m.Arguments = append(m.Arguments, int64(binary.BigEndian.Uint64(b[i:])))
		case 'd':
			m.Arguments = append(m.Arguments, math.Float64frombits(binary.BigEndian.Uint64(b[i:])))
		case 't':
			m.Arguments = append(m.Arguments, *osc.NewTimetagFromTimetag(binary.BigEndian.Uint64(b[i:])))
		case 's':
			var s string
			s, i, _ = readString(b, i, "")
			m.Arguments = append(m.Arguments, s)
			continue
		case 'b':
			size := int(binary.BigEndian.Uint32(b[i:]))
			m.Arguments = append(m.Arguments, bytes.Clone(b[i+4:i+4+size]))
			i += 4 + size + (4-size%4)%4
			continue
		case 'T':
			m.Arguments = append(m.Arguments, true)
		case 'F':
			m.Arguments = append(m.Arguments, false)
		case 'N':
			m.Arguments = append(m.Arguments, nil)
		}
		i += int(argSize[t])
	}
	return m, nil
}

// readString reads the OSC string (NUL-terminated, zero-padded to a multiple
// of 4 bytes) at b[i:] and returns it and the offset after its padding.
func readString(b []byte, i int, what string) (string, int, error) {
	n := bytes.IndexByte(b[i:], 0)
	if n < 0 {
		return "", 0, fmt.Errorf("truncated string: %s at byte %d has no NUL terminator", what, i)
	}
	s := string(b[i : i+n])
	end := i + (n+4)&^3
	if end > len(b) {
		return "", 0, fmt.Errorf("truncated string: %s at byte %d lacks its padding to 4 bytes", what, i)
	}
	if !zeros(b[i+n : end]) {
		return "", 0, fmt.Errorf("non-zero padding after %s at byte %d", what, i+n)
	}
	return s, end, nil
}

func zeros(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
