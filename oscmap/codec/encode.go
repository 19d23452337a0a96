package codec

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hypebeast/go-osc/osc"
)

// MaxDatagram is the largest UDP payload over IPv4, and so the largest
// message Encode accepts.
const MaxDatagram = 65507

// Encode encodes m with go-osc's MarshalBinary, after checking that it can be
// sent in one UDP datagram: m is not nil, its address starts with '/', every
// argument is of a type OSC carries (int32, float32, string, []byte, int64,
// float64, osc.Timetag, bool, nil) and the encoding is at most MaxDatagram
// bytes. The error says which check failed.
func Encode(m *osc.Message) ([]byte, error) {
	if m == nil {
		return nil, errors.New("nil OSC message")
	}
	if !strings.HasPrefix(m.Address, "/") {
		return nil, fmt.Errorf("OSC address %q must start with '/'", m.Address)
	}
	data, err := m.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("%s: cannot encode: %w", m.Address, err)
	}
	if len(data) > MaxDatagram {
		return nil, fmt.Errorf("%s: message is %d bytes, more than the %d a UDP datagram can carry", m.Address, len(data), MaxDatagram)
	}
	return data, nil
}
