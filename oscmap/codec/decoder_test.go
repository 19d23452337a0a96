package codec

import (
	"fmt"
	"math"
	"reflect"
	"runtime"
	"testing"
	"time"
)

// sameElement reports whether a and b are the same message due at the same
// time (an empty argument list and none are the same; a NaN is the same NaN
// when its bits are).
func sameElement(a, b Element) bool {
	if !a.At.Equal(b.At) || a.Msg.Address != b.Msg.Address || len(a.Msg.Arguments) != len(b.Msg.Arguments) {
		return false
	}
	for i, x := range a.Msg.Arguments {
		y := b.Msg.Arguments[i]
		switch x := x.(type) {
		case float32:
			if y, ok := y.(float32); !ok || math.Float32bits(x) != math.Float32bits(y) {
				return false
			}
		case float64:
			if y, ok := y.(float64); !ok || math.Float64bits(x) != math.Float64bits(y) {
				return false
			}
		default:
			if !reflect.DeepEqual(x, y) {
				return false
			}
		}
	}
	return true
}

// A Decoder reads a sequence of datagrams as Decode reads each alone, though
// it reuses the messages of the one before.
func TestDecoderMatchesDecode(t *testing.T) {
	packets := [][]byte{
		msg("/led", ",i", be32(1)),
		msg("/all", ",ifsbhdtTFN", be32(1), be32(2), oscString("three"), oscBlob([]byte("four")), be64(5), be64(6), be64(7), nil),
		bundle(1, msg("/a", ",i", be32(1)), bundle(ntp(time.Now()), msg("/b", ",s", oscString("x"))), msg("/c", ",")),
		oscString("/old"),
		msg("/led", ",f", be32(0x3f800000)),
		msg("/x", ",i", be32(7)),
		msg("/led", ",i", be32(0)),
	}
	var d Decoder
	for round := range 3 {
		for k, p := range packets {
			want, err := Decode(p)
			if err != nil {
				t.Fatalf("packet %d: %v", k, err)
			}
			got, err := d.Decode(nil, p)
			if err != nil {
				t.Fatalf("round %d, packet %d: Decoder: %v", round, k, err)
			}
			if len(got) != len(want) {
				t.Fatalf("round %d, packet %d: Decoder read %d elements, Decode %d", round, k, len(got), len(want))
			}
			for i := range got {
				if !sameElement(got[i], want[i]) {
					t.Fatalf("round %d, packet %d, element %d: Decoder read %s, Decode %s", round, k, i, Format(got[i].Msg), Format(want[i].Msg))
				}
			}
		}
	}
}

// Once warm, a Decoder allocates nothing for a message or a bundle of
// messages with numeric, boolean and nil arguments.
func TestDecoderAllocatesNothing(t *testing.T) {
	for _, p := range [][]byte{
		msg("/led", ",i", be32(1)),
		msg("/led", ",i", be32(100000)), // an int32 beyond 255 is boxed: one allocation by the runtime
		bundle(1, msg("/a", ",i", be32(1)), msg("/b", ",TFN"), msg("/c", ",ii", be32(0), be32(1))),
	} {
		var d Decoder
		elems, _ := d.Decode(nil, p)
		want := 0.0
		if elems[0].Msg.Arguments[0] == any(int32(100000)) {
			want = 1
		}
		got := testing.AllocsPerRun(100, func() {
			elems, _ = d.Decode(elems, p)
		})
		if got != want {
			t.Errorf("%s: %v allocations per datagram, want %v", Format(elems[0].Msg), got, want)
		}
	}
}

// A message kept with Clone survives the next Decode, which reuses the
// original.
func TestDecoderClone(t *testing.T) {
	var d Decoder
	first, _ := d.Decode(nil, msg("/led", ",i", be32(1)))
	kept := Clone(first[0].Msg)
	d.Decode(nil, msg("/fan", ",i", be32(0)))
	if got := Format(kept); got != "/led i 1" {
		t.Errorf("clone after the next Decode: %q, want /led i 1", got)
	}
	if first[0].Msg.Address != "/fan" {
		t.Errorf("the original was not reused: %q (the test assumes it is)", first[0].Msg.Address)
	}
}

// What a Decoder keeps is bounded, whatever the datagrams held.
func TestDecoderBounds(t *testing.T) {
	var d Decoder
	var elems [][]byte
	for i := range 300 {
		elems = append(elems, msg("/m"+string(rune('a'+i%26))+string(rune('a'+i/26)), ",i", be32(1)))
	}
	if _, err := d.Decode(nil, bundle(1, elems...)); err != nil {
		t.Fatal(err)
	}
	args := make([][]byte, 100)
	tags := ","
	for i := range args {
		args[i] = be32(uint32(i))
		tags += "i"
	}
	long, err := d.Decode(nil, msg("/long", tags, args...))
	if err != nil {
		t.Fatal(err)
	}
	if len(long[0].Msg.Arguments) != 100 {
		t.Fatalf("%d arguments, want 100", len(long[0].Msg.Arguments))
	}
	if len(d.msgs) > keptMessages {
		t.Errorf("keeps %d messages, at most %d", len(d.msgs), keptMessages)
	}
	for _, m := range d.msgs {
		if cap(m.Arguments) > keptArgs {
			t.Errorf("keeps an argument list of %d", cap(m.Arguments))
		}
	}
	if len(d.names) > maxNames {
		t.Errorf("keeps %d addresses, at most %d", len(d.names), maxNames)
	}
}

// bundleOf is a bundle of n messages "/a" with no argument, the last one
// carrying a blob of size bytes.
func bundleOf(n, size int) []byte {
	var els [][]byte
	for range n - 1 {
		els = append(els, msg("/a", ","))
	}
	return bundle(1, append(els, msg("/a", ",b", oscBlob(make([]byte, size))))...)
}

// A Decoder lets go of the arguments of the messages a datagram did not
// reuse: datagrams of 64, 63, ... 1 messages, each with a 60 KB blob in its
// last message, then a small one, leave no blob held (4 MB before).
func TestDecoderKeepsNoStaleArguments(t *testing.T) {
	heap := func() int64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	var d Decoder
	var dst []Element
	before := heap()
	for n := keptMessages; n >= 1; n-- {
		var err error
		if dst, err = d.Decode(dst, bundleOf(n, 60000)); err != nil {
			t.Fatal(err)
		}
	}
	dst, _ = d.Decode(dst, msg("/a", ","))
	clear(dst)
	for i, m := range d.msgs {
		for _, a := range m.Arguments[:cap(m.Arguments)] {
			if a != nil {
				t.Fatalf("kept message %d (of %d used) still holds an argument of %T", i, d.used, a)
			}
		}
	}
	if held := heap() - before; held > 1<<20 {
		t.Errorf("the Decoder holds %d bytes after a small datagram", held)
	}
	runtime.KeepAlive(&d)
	// A malformed datagram lets go of what it decoded before its defect.
	if _, err := d.Decode(nil, bundle(1, msg("/a", ",b", oscBlob(make([]byte, 1000))), []byte("junk"))); err == nil {
		t.Fatal("a bundle with junk decoded")
	}
	for i, m := range d.msgs {
		for _, a := range m.Arguments[:cap(m.Arguments)] {
			if a != nil {
				t.Fatalf("after a malformed datagram, kept message %d holds an argument of %T", i, a)
			}
		}
	}
}

// Addresses seen once (a scan) do not keep out those seen all the time: once
// maxNames are kept, the keeping starts again.
func TestDecoderInternsAfterAScan(t *testing.T) {
	var d Decoder
	for i := range maxNames + 10 {
		d.Decode(nil, msg(fmt.Sprintf("/scan/%d", i), ","))
	}
	p := msg("/led", ",i", be32(1))
	elems, _ := d.Decode(nil, p)
	if n := testing.AllocsPerRun(100, func() { elems, _ = d.Decode(elems, p) }); n != 0 {
		t.Errorf("/led after a scan of %d addresses: %v allocations, want 0 (interned)", maxNames+10, n)
	}
	if len(d.names) > maxNames {
		t.Errorf("keeps %d addresses, at most %d", len(d.names), maxNames)
	}
}
