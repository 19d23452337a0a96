package transport

import (
	"math"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/oscgpio/oscgpio/oscmap/codec"
)

func oscBlob(b []byte) []byte {
	out := append(be32(uint32(len(b))), b...)
	for len(out)%4 != 0 {
		out = append(out, 0)
	}
	return out
}

// TestHeldSizeIsMeasured holds n decoded copies of a message in a scheduler
// and compares the heap they take (runtime.MemStats, after a collection) with
// what the scheduler counts against its limit: within 20%.
func TestHeldSizeIsMeasured(t *testing.T) {
	for _, c := range []struct {
		name   string
		packet []byte
		n      int
	}{
		{"tiny", msg("/x", ",i", be32(1)), 10000},
		{"int 1000", msg("/led/1", ",i", be32(1000)), 10000},
		{"no argument", msg("/go", ","), 10000},
		{"fader", msg("/mixer/fader/1", ",fs", be32(math.Float32bits(0.5)), oscString("a string of 26 characters.")), 5000},
		{"all types", msg("/all", ",ifsbhdtTFN", be32(1), be32(2), oscString("three"), oscBlob([]byte("four")), be64(1<<40), be64(6), be64(7<<32), nil), 5000},
		{"blob 1000", msg("/b", ",b", oscBlob(make([]byte, 1000))), 2000},
		{"blob 60000", msg("/b", ",b", oscBlob(make([]byte, 60000))), 50},
	} {
		t.Run(c.name, func(t *testing.T) {
			var s scheduler
			now := time.Now()
			at := now.Add(time.Hour)
			// Eight senders: one alone may hold a quarter of the queue.
			senders := make([]netip.AddrPort, 8)
			for i := range senders {
				senders[i] = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, byte(1 + i)}), 9000)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for k := range c.n {
				from := senders[k%len(senders)]
				els, err := codec.Decode(c.packet)
				if err != nil {
					t.Fatal(err)
				}
				els[0].At = at
				if !s.push(now, els[0], from) {
					t.Fatalf("held %d messages of %d bytes: the limit is reached", s.len(), s.bytes())
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			real := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(c.n)
			counted := float64(s.bytes()) / float64(c.n)
			t.Logf("%d held: %.0f bytes each on the heap, %.0f counted (%.2f)", c.n, real, counted, counted/real)
			if r := counted / real; r < 0.8 || r > 1.2 {
				t.Errorf("a held message takes %.0f bytes, the scheduler counts %.0f: more than 20%% apart", real, counted)
			}
			runtime.KeepAlive(&s)
		})
	}
}
