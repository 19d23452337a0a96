package transport

import (
	"bytes"
	"encoding/binary"
	"time"
)

// Hand-made OSC encodings, independent of go-osc's encoder.

func oscString(s string) []byte {
	b := append([]byte(s), 0)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func msg(addr, tags string, args ...[]byte) []byte {
	return cat(oscString(addr), oscString(tags), cat(args...))
}

func bundle(tt uint64, elems ...[]byte) []byte {
	b := cat([]byte("#bundle\x00"), be64(tt))
	for _, e := range elems {
		b = append(b, be32(uint32(len(e)))...)
		b = append(b, e...)
	}
	return b
}

// ntp is the OSC time tag of t, rounded up: never early.
func ntp(t time.Time) uint64 {
	secs := uint64(t.Unix()+2208988800) & 0xffffffff
	frac := (uint64(t.Nanosecond())<<32 + 1e9 - 1) / 1e9
	return secs<<32 | frac
}
