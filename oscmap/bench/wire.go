package bench

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"syscall"

	"github.com/hypebeast/go-osc/osc"
)

// StatsAddress is the bridge's counters query: a message to it, without
// arguments, is answered to the sender with a message to the same address
// whose arguments are pairs of a name (string) and a value (int32 or int64).
const StatsAddress = "/oscgpio/stats"

// encode returns the OSC bytes of a message to addr with args.
func encode(addr string, args ...any) ([]byte, error) {
	b, err := osc.NewMessage(addr, args...).MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", addr, err)
	}
	return b, nil
}

// walkPacket calls fn with the address and arguments of each message in the
// datagram b: a message, or a bundle (nested bundles included) whose
// messages come in order. It decodes only what the bench reads (the types
// i, h, f, d, s, S, T, F, N, I, b, t, c, r, m) and checks every length
// against b; a defect stops the walk with an error saying where.
func walkPacket(b []byte, fn func(addr string, args []any)) error {
	return walk(b, 0, fn)
}

func walk(b []byte, depth int, fn func(addr string, args []any)) error {
	if depth > 8 {
		return errors.New("bundles nested deeper than 8")
	}
	if bytes.HasPrefix(b, []byte("#bundle\x00")) {
		i := 16 // "#bundle\0" and the time tag
		if len(b) < i {
			return errors.New("bundle shorter than its header")
		}
		for i < len(b) {
			if len(b)-i < 4 {
				return fmt.Errorf("bundle element size cut at byte %d", i)
			}
			n := int(binary.BigEndian.Uint32(b[i:]))
			i += 4
			if n < 0 || n > len(b)-i {
				return fmt.Errorf("bundle element at byte %d: size %d past the end", i, n)
			}
			if err := walk(b[i:i+n], depth+1, fn); err != nil {
				return err
			}
			i += n
		}
		return nil
	}
	addr, args, err := parseMessage(b)
	if err != nil {
		return err
	}
	fn(addr, args)
	return nil
}

// parseMessage decodes one OSC message.
func parseMessage(b []byte) (addr string, args []any, err error) {
	if len(b) == 0 || b[0] != '/' {
		return "", nil, errors.New("not an OSC message (no leading /)")
	}
	addr, i, err := oscString(b, 0)
	if err != nil {
		return "", nil, fmt.Errorf("address: %w", err)
	}
	if i >= len(b) {
		return addr, nil, nil // no type tag string (OSC 1.0 allows it)
	}
	tags, i, err := oscString(b, i)
	if err != nil || len(tags) == 0 || tags[0] != ',' {
		return "", nil, fmt.Errorf("%s: bad type tag string", addr)
	}
	need := func(n int) error {
		if n > len(b)-i {
			return fmt.Errorf("%s: argument cut at byte %d", addr, i)
		}
		return nil
	}
	for _, t := range tags[1:] {
		switch t {
		case 'i', 'c', 'r', 'm':
			if err := need(4); err != nil {
				return "", nil, err
			}
			args = append(args, int32(binary.BigEndian.Uint32(b[i:])))
			i += 4
		case 'f':
			if err := need(4); err != nil {
				return "", nil, err
			}
			args = append(args, math.Float32frombits(binary.BigEndian.Uint32(b[i:])))
			i += 4
		case 'h', 't':
			if err := need(8); err != nil {
				return "", nil, err
			}
			args = append(args, int64(binary.BigEndian.Uint64(b[i:])))
			i += 8
		case 'd':
			if err := need(8); err != nil {
				return "", nil, err
			}
			args = append(args, math.Float64frombits(binary.BigEndian.Uint64(b[i:])))
			i += 8
		case 's', 'S':
			var s string
			if s, i, err = oscString(b, i); err != nil {
				return "", nil, fmt.Errorf("%s: %w", addr, err)
			}
			args = append(args, s)
		case 'b':
			if err := need(4); err != nil {
				return "", nil, err
			}
			n := int(binary.BigEndian.Uint32(b[i:]))
			i += 4
			if n < 0 || n > len(b)-i {
				return "", nil, fmt.Errorf("%s: blob size %d past the end", addr, n)
			}
			args = append(args, bytes.Clone(b[i:i+n]))
			i += (n + 3) &^ 3
		case 'T':
			args = append(args, true)
		case 'F':
			args = append(args, false)
		case 'N', 'I':
			args = append(args, nil)
		default:
			return "", nil, fmt.Errorf("%s: unknown type tag %q", addr, t)
		}
	}
	return addr, args, nil
}

// oscString reads the NUL-terminated, 4-byte padded string at b[i:] and
// returns it and the index after its padding.
func oscString(b []byte, i int) (string, int, error) {
	n := bytes.IndexByte(b[i:], 0)
	if n < 0 {
		return "", 0, fmt.Errorf("string at byte %d has no terminating NUL", i)
	}
	s := string(b[i : i+n])
	next := i + (n+4)&^3
	if next > len(b) {
		next = len(b) // a sender that does not pad the last string
	}
	return s, next, nil
}

// reportValue is the value of a report: its first argument as 0 or 1 (or
// another integer). int32, int64, float32 and float64 holding an integer, and
// true/false count; anything else is not a value.
func reportValue(args []any) (int32, bool) {
	if len(args) == 0 {
		return 0, false
	}
	switch v := args[0].(type) {
	case int32:
		return v, true
	case int64:
		return int32(v), v == int64(int32(v))
	case float32:
		return int32(v), float32(int32(v)) == v
	case float64:
		return int32(v), float64(int32(v)) == v
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// parseCounters reads the arguments of a stats reply: name, value pairs. A
// name that is not a string or a value that is not an integer is skipped
// with its pair.
func parseCounters(args []any) map[string]int64 {
	out := make(map[string]int64, len(args)/2)
	for i := 0; i+1 < len(args); i += 2 {
		name, ok := args[i].(string)
		if !ok {
			continue
		}
		switch v := args[i+1].(type) {
		case int32:
			out[name] = int64(v)
		case int64:
			out[name] = v
		}
	}
	return out
}

// sendEach sends the datagrams msg(i) for i in [0, k) one Write at a time.
// A refused send (nobody listening yet) is not an error.
func sendEach(c *net.UDPConn, k int, msg func(i int) []byte) error {
	for i := range k {
		if _, err := c.Write(msg(i)); err != nil && !errors.Is(err, syscall.ECONNREFUSED) {
			return err
		}
	}
	return nil
}
