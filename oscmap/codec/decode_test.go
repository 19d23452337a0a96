package codec

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hypebeast/go-osc/osc"
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

func oscBlob(b []byte) []byte {
	out := append(be32(uint32(len(b))), b...)
	for len(out)%4 != 0 {
		out = append(out, 0)
	}
	return out
}

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

// ntp is the OSC time tag of t (era 0 or 1: the seconds are kept modulo
// 2^32).
func ntp(t time.Time) uint64 {
	secs := uint64(t.Unix()+ntpToUnix) & 0xffffffff
	frac := (uint64(t.Nanosecond())<<32 + 1e9 - 1) / 1e9 // rounded up: never early
	return secs<<32 | frac
}

func TestDecodeMessage(t *testing.T) {
	for _, c := range []struct {
		name   string
		packet []byte
		want   string // Format of the one message
	}{
		{"int", msg("/test", ",i", be32(7)), "/test i 7"},
		{"negative int", msg("/test", ",i", be32(math.MaxUint32)), "/test i -1"},
		{"float", msg("/x", ",f", be32(math.Float32bits(0.5))), "/x f 0.500000"},
		{"string", msg("/s", ",s", oscString("hi")), `/s s "hi"`},
		{"string of 3", msg("/s", ",s", oscString("abc")), `/s s "abc"`},
		{"string of 4", msg("/s", ",s", oscString("abcd")), `/s s "abcd"`},
		{"empty string", msg("/s", ",s", oscString("")), `/s s ""`},
		{"blob", msg("/b", ",b", oscBlob([]byte{1, 2, 3})), "/b b [3 bytes]"},
		{"empty blob", msg("/b", ",b", oscBlob(nil)), "/b b [0 bytes]"},
		{"blob of 4", msg("/b", ",bi", oscBlob([]byte{1, 2, 3, 4}), be32(9)), "/b bi [4 bytes] 9"},
		{"int64 and double", msg("/h", ",hd", be64(1<<40), be64(math.Float64bits(-2.25))), "/h hd 1099511627776 -2.250000"},
		{"T F N", msg("/t", ",TFN"), "/t TFN #T #F Nil"},
		{"timetag", msg("/tt", ",t", be64(1)), "/tt t 00000000.00000001"},
		{"no arguments", msg("/e", ","), "/e"},
		{"no type tag string", oscString("/old"), "/old"},
		{"address of 4", msg("/abc", ",i", be32(1)), "/abc i 1"},
		{"pattern address", msg("/led/[0-9]", ",i", be32(1)), "/led/[0-9] i 1"},
		{"all types", msg("/all", ",ifsbhdtTFN", be32(1), be32(math.Float32bits(2)), oscString("three"), oscBlob([]byte("four")),
			be64(5), be64(math.Float64bits(6)), be64(7<<32), nil), `/all ifsbhdtTFN 1 2.000000 "three" [4 bytes] 5 6.000000 00000007.00000000 #T #F Nil`},
	} {
		t.Run(c.name, func(t *testing.T) {
			els, err := Decode(c.packet)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(els) != 1 {
				t.Fatalf("Decode: %d elements, want 1", len(els))
			}
			if got := Format(els[0].Msg); got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
			if !els[0].At.IsZero() {
				t.Errorf("At = %v, want zero for a message outside a bundle", els[0].At)
			}
		})
	}
}

func TestDecodeDoesNotAliasItsInput(t *testing.T) {
	for _, size := range []int{3, 5000} {
		p := msg("/b", ",sb", oscString("str"), oscBlob(bytes.Repeat([]byte{7}, size)))
		els, err := Decode(p)
		if err != nil {
			t.Fatal(err)
		}
		clear(p)
		if s := els[0].Msg.Arguments[0].(string); s != "str" {
			t.Errorf("size %d: string changed with the buffer: %q", size, s)
		}
		if b := els[0].Msg.Arguments[1].([]byte); len(b) != size || b[0] != 7 || b[size-1] != 7 {
			t.Errorf("size %d: blob changed with the buffer", size)
		}
	}
}

// TestDecodeLargeMessage covers what go-osc's 4096-byte reader gets wrong:
// a blob and string padding that straddle byte 4096.
func TestDecodeLargeMessage(t *testing.T) {
	for pre := 4050; pre <= 4100; pre++ {
		big := bytes.Repeat([]byte{'a'}, pre)
		blob := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9}
		p := msg("/big", ",sbsi", oscString(string(big)), oscBlob(blob), oscString("end"), be32(42))
		els, err := Decode(p)
		if err != nil {
			t.Fatalf("string of %d: %v", pre, err)
		}
		args := els[0].Msg.Arguments
		if len(args) != 4 || args[0] != string(big) || !bytes.Equal(args[1].([]byte), blob) || args[2] != "end" || args[3] != int32(42) {
			t.Fatalf("string of %d: decoded %s", pre, Format(els[0].Msg))
		}
	}
	p := msg("/big", ",b", oscBlob(bytes.Repeat([]byte{9}, 60000)))
	els, err := Decode(p)
	if err != nil {
		t.Fatal(err)
	}
	if b := els[0].Msg.Arguments[0].([]byte); len(b) != 60000 {
		t.Fatalf("blob of 60000 bytes decoded as %d bytes", len(b))
	}
}

func TestDecodeBundle(t *testing.T) {
	now := time.Now()
	future := now.Add(time.Hour).Truncate(time.Microsecond)
	later := future.Add(time.Minute)
	past := now.Add(-time.Hour).Truncate(time.Microsecond)
	m := func(a string) []byte { return msg(a, ",") }

	t.Run("order of interleaved messages and bundles", func(t *testing.T) {
		p := bundle(1, m("/1"), bundle(1, m("/2"), bundle(1, m("/3")), m("/4")), m("/5"), bundle(1, m("/6")), m("/7"))
		els, err := Decode(p)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range els {
			got = append(got, e.Msg.Address)
			if !e.At.IsZero() {
				t.Errorf("%s: At = %v, want zero (time tag 1)", e.Msg.Address, e.At)
			}
		}
		if strings.Join(got, " ") != "/1 /2 /3 /4 /5 /6 /7" {
			t.Errorf("order %v, want /1 .. /7", got)
		}
	})
	t.Run("times", func(t *testing.T) {
		p := bundle(ntp(future), m("/f"), bundle(ntp(later), m("/l")), bundle(1, m("/inner-immediate")), bundle(ntp(past), m("/inner-past")))
		els, err := Decode(p)
		if err != nil {
			t.Fatal(err)
		}
		want := []time.Time{future, later, future, future}
		for i, e := range els {
			if d := e.At.Sub(want[i]); d < 0 || d > time.Microsecond {
				t.Errorf("%s: At = %v, want %v", e.Msg.Address, e.At, want[i])
			}
		}
	})
	t.Run("past", func(t *testing.T) {
		els, err := Decode(bundle(ntp(past), m("/p")))
		if err != nil {
			t.Fatal(err)
		}
		if d := els[0].At.Sub(past); d < 0 || d > time.Microsecond {
			t.Errorf("At = %v, want %v", els[0].At, past)
		}
		els, err = Decode(bundle(0, m("/zero")))
		if err != nil || !els[0].At.IsZero() {
			t.Errorf("time tag 0: %v, %v; want immediately", els, err)
		}
	})
	t.Run("empty bundle", func(t *testing.T) {
		els, err := Decode(bundle(1))
		if err != nil || len(els) != 0 {
			t.Errorf("Decode(empty bundle) = %v, %v; want no element, no error", els, err)
		}
	})
	t.Run("go-osc encoder", func(t *testing.T) {
		b := osc.NewBundle(future)
		b.Append(osc.NewMessage("/a", int32(1)))
		b.Append(osc.NewMessage("/b", "x"))
		p, err := b.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		els, err := Decode(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(els) != 2 || Format(els[0].Msg) != "/a i 1" || Format(els[1].Msg) != `/b s "x"` {
			t.Fatalf("decoded %v", els)
		}
		if d := els[0].At.Sub(future); d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("At = %v, want %v", els[0].At, future)
		}
	})
}

var malformed = []struct {
	name   string
	packet []byte
	want   string
}{
	{"empty", nil, "empty packet"},
	{"no leading slash", []byte("led\x00,i\x00\x00\x00\x00\x00\x01"), "does not start with / or #"},
	{"zeros", make([]byte, 8), "does not start with / or #"},
	{"unknown type tag", msg("/led", ",x", be32(1)), "unknown type tag 'x'"},
	{"unknown type tag after good ones", msg("/led", ",iI", be32(1)), "unknown type tag 'I'"},
	{"array", msg("/led", ",[i]", be32(1)), "unknown type tag '['"},
	{"address without NUL", []byte("/led"), "truncated string"},
	{"address without padding", []byte("/led\x00\x00"), "truncated string"},
	{"address padding not zero", []byte("/l\x00x,\x00\x00\x00"), "non-zero padding"},
	{"type tags without NUL", cat(oscString("/led"), []byte(",iii")), "truncated string"},
	{"type tags without comma", msg("/led", "i", be32(1)), "does not start with ','"},
	{"truncated int", msg("/led", ",i", []byte{0, 0}), "truncated argument 1 (i)"},
	{"missing int", msg("/led", ",ii", be32(1)), "truncated argument 2 (i)"},
	{"truncated double", msg("/led", ",d", be32(1)), "truncated argument 1 (d)"},
	{"truncated timetag", msg("/led", ",t", be32(1)), "truncated argument 1 (t)"},
	{"truncated string argument", msg("/s", ",s", []byte("abcd")), "truncated string"},
	{"string padding not zero", msg("/s", ",s", []byte("ab\x00x")), "non-zero padding"},
	{"blob length beyond packet", msg("/b", ",b", be32(100), []byte{1, 2, 3, 4}), "bad blob length 100"},
	{"negative blob length", msg("/b", ",b", be32(math.MaxUint32), []byte{1, 2, 3, 4}), "bad blob length -1"},
	{"blob without length", msg("/b", ",b", []byte{0, 0}), "truncated argument 1 (b)"},
	{"blob without padding", msg("/b", ",b", be32(3), []byte{1, 2, 3}), "truncated blob padding"},
	{"blob padding not zero", msg("/b", ",b", be32(3), []byte{1, 2, 3, 4}), "non-zero padding"},
	{"bytes after the arguments", msg("/led", ",i", be32(1), be32(2)), "4 unexpected bytes"},
	{"bytes after no arguments", msg("/led", ",", be32(2)), "4 unexpected bytes"},
	{"old message with bytes", cat(oscString("/led"), oscString("abc")), "does not start with ','"},
	{"hash but not bundle", []byte("#bundlX\x00\x00\x00\x00\x00\x00\x00\x00\x01"), "not with \"#bundle\""},
	{"truncated bundle header", []byte("#bundle\x00\x00\x00"), "truncated bundle header"},
	{"truncated bundle tag", []byte("#bun"), "truncated bundle header"},
	{"bundle tag without NUL", []byte("#bundleX\x00\x00\x00\x00\x00\x00\x00\x01"), "not with \"#bundle\""},
	{"hash alone", []byte("#"), "truncated bundle header"},
	{"bundle element size beyond packet", cat(bundle(1), be32(7), []byte("/a\x00\x00")), "bundle element size 7 beyond packet"},
	{"bundle element size beyond packet, aligned", cat(bundle(1), be32(8), []byte("/a\x00\x00")), "bundle element size 8 beyond packet"},
	{"bundle element size not a multiple of 4", cat(bundle(1), be32(5), []byte("/a\x00\x00,\x00\x00\x00")), "must be a multiple of 4"},
	{"bundle element size zero", cat(bundle(1), be32(0)), "bad bundle element size 0"},
	{"bundle element size negative", cat(bundle(1), be32(math.MaxUint32), []byte("/a\x00\x00")), "bad bundle element size -1"},
	{"truncated bundle element size", cat(bundle(1, msg("/a", ",")), []byte{0, 0}), "truncated bundle element size"},
	{"bundle element not OSC", bundle(1, []byte("abcd")), "bundle element at byte 20 does not start with / or #"},
	{"bad message in bundle", bundle(1, msg("/a", ",")[:4], msg("/b", ",x", be32(1))), "message at byte 28: unknown type tag 'x'"},
	{"bad message in nested bundle", bundle(1, bundle(1, msg("/b", ",i"))), "truncated argument 1 (i)"},
	{"bad message after good ones", bundle(1, msg("/a", ",i", be32(1)), msg("/b", ",i", []byte{1, 2, 3, 4, 5, 6, 7, 8})), "unexpected bytes"},
}

func TestDecodeMalformed(t *testing.T) {
	for _, c := range malformed {
		t.Run(c.name, func(t *testing.T) {
			els, err := Decode(c.packet)
			if err == nil {
				t.Fatalf("Decode(%q) = %d elements, want an error with %q", c.packet, len(els), c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("Decode(%q): %v\nwant an error with %q", c.packet, err, c.want)
			}
			if els != nil {
				t.Errorf("Decode returned elements with its error")
			}
		})
	}
}

// FuzzDecode checks that Decode never panics, that what it accepts is
// well-formed (an address starting with '/', encoded again byte for byte),
// and that it reads a message as go-osc's ParsePacket does where go-osc reads
// right: a message of at most 4096 bytes (its reader's size) with a type tag
// string and no empty blob.
func FuzzDecode(f *testing.F) {
	for _, c := range malformed {
		f.Add(c.packet)
	}
	f.Add(msg("/test", ",i", be32(1)))
	f.Add(msg("/all", ",ifsbhdtTFN", be32(1), be32(2), oscString("three"), oscBlob([]byte("four")), be64(5), be64(6), be64(7), nil))
	f.Add(msg("/b", ",b", oscBlob(nil)))
	f.Add(oscString("/old"))
	f.Add(bundle(1, msg("/a", ",i", be32(1)), bundle(ntp(time.Now()), msg("/b", ",s", oscString("x"))), msg("/c", ",")))
	// One Decoder for every input: it must read each as Decode does,
	// whatever it decoded before.
	var dec Decoder
	f.Fuzz(func(t *testing.T, p []byte) {
		els, err := Decode(p)
		reused, rerr := dec.Decode(nil, p)
		if (err == nil) != (rerr == nil) || len(els) != len(reused) {
			t.Fatalf("Decode: %d elements, %v; Decoder.Decode: %d elements, %v", len(els), err, len(reused), rerr)
		}
		for i := range reused {
			if !sameElement(els[i], reused[i]) {
				t.Fatalf("element %d: Decode %s, Decoder.Decode %s", i, Format(els[i].Msg), Format(reused[i].Msg))
			}
		}
		if err != nil {
			return
		}
		if len(els) > MaxMessages {
			t.Fatalf("accepted %d messages, more than MaxMessages", len(els))
		}
		for _, e := range els {
			if !strings.HasPrefix(e.Msg.Address, "/") {
				t.Fatalf("accepted a message with address %q", e.Msg.Address)
			}
			_ = Format(e.Msg)
		}
		if p[0] != '/' {
			return
		}
		m := els[0].Msg
		tagged := len(oscString(m.Address)) < len(p)
		if tagged && len(p) <= 4096 && !hasEmptyBlob(m) {
			ref, err := goOSC(p)
			if err != nil {
				t.Fatalf("Decode read %s, go-osc failed: %v", Format(m), err)
			}
			if Format(ref) != Format(m) {
				t.Fatalf("go-osc read %s, Decode %s", Format(ref), Format(m))
			}
		}
		if !tagged || strings.ContainsRune(typeTags(m), 't') {
			return // no type tag string, or go-osc's time tags round to nanoseconds
		}
		enc, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("MarshalBinary: %v", err)
		}
		if !bytes.Equal(enc, p) {
			t.Fatalf("accepted %q, which encodes again as %q", p, enc)
		}
	})
}

// goOSC decodes a message with go-osc's ParsePacket, the fuzzer's reference.
func goOSC(p []byte) (m *osc.Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	pk, err := osc.ParsePacket(string(p))
	if err != nil {
		return nil, err
	}
	m, ok := pk.(*osc.Message)
	if !ok {
		return nil, fmt.Errorf("not a message: %T", pk)
	}
	return m, nil
}

func hasEmptyBlob(m *osc.Message) bool {
	for _, a := range m.Arguments {
		if b, ok := a.([]byte); ok && len(b) == 0 {
			return true
		}
	}
	return false
}

func typeTags(m *osc.Message) string {
	var b []byte
	for _, a := range m.Arguments {
		b = append(b, typeTag(a))
	}
	return string(b)
}

func BenchmarkDecode(b *testing.B) {
	for _, c := range []struct {
		name   string
		packet []byte
	}{
		{"int", msg("/led", ",i", be32(1))},
		{"float-string", msg("/mixer/fader/1", ",fs", be32(math.Float32bits(0.5)), oscString("hello"))},
		{"bundle-4", bundle(1, msg("/a", ",i", be32(1)), msg("/b", ",i", be32(2)), msg("/c", ",f", be32(3)), msg("/d", ",T"))},
		{"blob-8k", msg("/b", ",b", oscBlob(make([]byte, 8192)))},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.packet)))
			for b.Loop() {
				if _, err := Decode(c.packet); err != nil {
					b.Fatal(err)
				}
			}
		})
		// What the UDP reader does: one Decoder, one element slice.
		b.Run(c.name+"/Decoder", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.packet)))
			var d Decoder
			var elems []Element
			for b.Loop() {
				var err error
				if elems, err = d.Decode(elems, c.packet); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// tinyBundle is a bundle (time tag 1) of n messages "/a" without arguments,
// 12 bytes each with their size.
func tinyBundle(n int) []byte {
	elems := make([][]byte, n)
	for i := range elems {
		elems[i] = msg("/a", ",")
	}
	return bundle(1, elems...)
}

func TestDecodeMessageCap(t *testing.T) {
	els, err := Decode(tinyBundle(MaxMessages))
	if err != nil || len(els) != MaxMessages {
		t.Fatalf("bundle of exactly %d messages: %d elements, %v; want all of them", MaxMessages, len(els), err)
	}
	// Nested bundles count together.
	nested := bundle(1, tinyBundle(MaxMessages/2), tinyBundle(MaxMessages/2), msg("/one-too-many", ","))
	if _, err := Decode(nested); err == nil || !strings.Contains(err.Error(), "bundle holds more than 1024 messages") {
		t.Errorf("nested bundles of %d messages: %v, want the cap", MaxMessages+1, err)
	}
	// A 64 KB datagram of tiny messages is refused as a whole.
	big := tinyBundle((65507 - 16) / 12)
	if len(big) > 65507 || len(big) < 65000 {
		t.Fatalf("test bundle is %d bytes", len(big))
	}
	els, err = Decode(big)
	if err == nil || els != nil {
		t.Fatalf("64 KB bundle of %d messages: %d elements, %v; want an error", (65507-16)/12, len(els), err)
	}
	want := fmt.Sprintf("bundle holds more than 1024 messages (the limit, codec.MaxMessages, is reached at byte %d)", 16+MaxMessages*12+4)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want %q", err, want)
	}
	// Detected at the 1025th message: what comes after is not even read.
	broken := append(tinyBundle(MaxMessages+1), 0xff, 0xff, 0xff, 0xff)
	if _, err := Decode(broken); err == nil || !strings.Contains(err.Error(), "more than 1024 messages") {
		t.Errorf("cap then garbage: %v, want the cap", err)
	}
}

// TestDecodeTimeTagEras checks NTP's era rule: time tags after 2036-02-07
// (era 1) decode to their date, not to 1900, as go-osc's encoder writes them.
func TestDecodeTimeTagEras(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(2026, 5, 6, 21, 0, 0, 300e6, time.UTC),
		time.Date(2036, 2, 7, 6, 28, 15, 0, time.UTC), // the last second of era 0
		time.Date(2036, 2, 7, 6, 28, 17, 0, time.UTC), // the second second of era 1
		time.Date(2036, 2, 8, 0, 0, 0, 0, time.UTC),
		time.Date(2100, 1, 1, 12, 0, 0, 250e6, time.UTC),
	} {
		b := osc.NewBundle(at)
		b.Append(osc.NewMessage("/x"))
		p, err := b.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		els, err := Decode(p)
		if err != nil {
			t.Fatal(err)
		}
		if d := els[0].At.Sub(at); d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("go-osc's time tag for %v decodes as %v", at, els[0].At)
		}
		own, err := Decode(bundle(ntp(at), msg("/x", ",")))
		if err != nil {
			t.Fatal(err)
		}
		if d := own[0].At.Sub(at); d < 0 || d > time.Nanosecond {
			t.Errorf("time tag %x for %v decodes as %v", ntp(at), at, own[0].At)
		}
	}
	for _, tt := range []uint64{0, 1, 0xffffffff} {
		els, err := Decode(bundle(tt, msg("/x", ",")))
		if err != nil || !els[0].At.IsZero() {
			t.Errorf("time tag %d: %v, %v; want immediately", tt, els, err)
		}
	}
}

func BenchmarkDecodeBundle64K(b *testing.B) {
	p := tinyBundle((65507 - 16) / 12)
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, err := Decode(p); err == nil {
			b.Fatal("a 64 KB bundle of tiny messages was accepted")
		}
	}
}

// BenchmarkDecodeBundle1024 decodes the largest bundle Decode accepts, of
// tiny messages: what one datagram can make a receiver allocate.
func BenchmarkDecodeBundle1024(b *testing.B) {
	p := tinyBundle(MaxMessages)
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, err := Decode(p); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDecodeBundle1024Allocates bounds what the largest accepted bundle of
// tiny messages allocates: under 2 MB.
func TestDecodeBundle1024Allocates(t *testing.T) {
	r := testing.Benchmark(BenchmarkDecodeBundle1024)
	if r.N == 0 {
		t.Fatal("benchmark did not run")
	}
	if n := r.AllocedBytesPerOp(); n >= 2<<20 {
		t.Errorf("a bundle of %d tiny messages allocates %d bytes, want under 2 MB", MaxMessages, n)
	}
}

// A reader that keeps one slice pays two allocations for /led i 1: the
// message with its argument list, and the address.
func TestDecodeAppendReuses(t *testing.T) {
	b, err := osc.NewMessage("/led", int32(1)).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]Element, 0, 4)
	allocs := testing.AllocsPerRun(100, func() {
		out, err := DecodeAppend(dst, b)
		if err != nil || len(out) != 1 || out[0].Msg.Address != "/led" || out[0].Msg.Arguments[0] != int32(1) {
			t.Fatalf("DecodeAppend = %v, %v", out, err)
		}
	})
	if allocs > 2 {
		t.Errorf("%v allocations per datagram, want at most 2", allocs)
	}
	if out, err := DecodeAppend(dst, []byte("/led\x00\x00\x00\x00,x\x00\x00")); err == nil || len(out) != 0 {
		t.Errorf("a malformed datagram: %v, %v; want no elements and an error", out, err)
	}
}
