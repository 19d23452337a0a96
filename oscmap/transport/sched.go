package transport

import (
	"container/heap"
	"math/bits"
	"net/netip"
	"time"
	"unsafe"

	"github.com/hypebeast/go-osc/osc"

	"github.com/oscgpio/oscgpio/oscmap/codec"
)

const (
	// maxHeld bounds the messages held for a future time tag, and
	// maxHeldBytes the memory they take (see heldSize), so that bundles dated
	// far ahead cannot grow the process until the kernel kills it.
	maxHeld      = 1 << 16
	maxHeldBytes = 4 << 20
)

// scheduler holds the messages due in the future: a min-heap by due time,
// then arrival. Used by Serve's goroutine only.
type scheduler struct {
	queue    pending
	seq      uint64
	msgBytes int // sum of the held messages' heldSize

	perSender   map[netip.Addr]int // messages held per sender
	senderBytes map[netip.Addr]int // their heldSize per sender
}

// held is a message waiting for its time tag.
type held struct {
	due  time.Time
	seq  uint64
	msg  *osc.Message
	from netip.AddrPort
	size int // heldSize(msg)
}

// heldEntry is what one place in the queue costs.
const heldEntry = int(unsafe.Sizeof(held{}))

func (s *scheduler) len() int { return len(s.queue) }

// bytes is the memory the held messages take: the messages and the queue's
// array.
func (s *scheduler) bytes() int { return s.msgBytes + cap(s.queue)*heldEntry }

// push holds e until e.At, unless the held messages are at their limit
// (false). The due time is taken on the monotonic clock, so a change of the
// wall clock does not move it.
func (s *scheduler) push(now time.Time, e codec.Element, from netip.AddrPort) bool {
	size := heldSize(e.Msg, len(e.Msg.Arguments))
	// A share per sender: no one sender may take more than a quarter of
	// the queue, so a flood of future bundles cannot crowd out a cue.
	sender := from.Addr()
	if s.perSender == nil {
		s.perSender = map[netip.Addr]int{}
	}
	if s.perSender[sender] >= maxHeld/4 || s.senderBytes[sender]+size > maxHeldBytes/4 {
		return false
	}
	queueBytes := cap(s.queue) * heldEntry
	if len(s.queue) == cap(s.queue) {
		queueBytes = (len(s.queue) + 1) * 5 / 4 * heldEntry // about what append grows it to
	}
	if len(s.queue) >= maxHeld || s.msgBytes+size+queueBytes > maxHeldBytes {
		return false
	}
	s.seq++
	s.msgBytes += size
	s.perSender[sender]++
	if s.senderBytes == nil {
		s.senderBytes = map[netip.Addr]int{}
	}
	s.senderBytes[sender] += size
	// The decoder reuses e.Msg for the next datagram: hold a copy (its
	// argument list as long as it is, as heldSize counted).
	msg := codec.Clone(e.Msg)
	heap.Push(&s.queue, held{due: now.Add(e.At.Sub(now)), seq: s.seq, msg: msg, from: from, size: size})
	return true
}

// popDue takes the first held message if it is due at now.
func (s *scheduler) popDue(now time.Time) (held, bool) {
	if len(s.queue) == 0 || s.queue[0].due.After(now) {
		return held{}, false
	}
	m := heap.Pop(&s.queue).(held)
	s.msgBytes -= m.size
	a := m.from.Addr()
	if s.perSender[a]--; s.perSender[a] <= 0 {
		delete(s.perSender, a)
		delete(s.senderBytes, a)
	} else {
		s.senderBytes[a] -= m.size
	}
	if len(s.queue) == 0 && cap(s.queue) > 1024 {
		s.queue = nil // give a large array back
	}
	return m, true
}

// next is when the first held message is due; zero when none is held.
func (s *scheduler) next() time.Time {
	if len(s.queue) == 0 {
		return time.Time{}
	}
	return s.queue[0].due
}

// heldSize is the memory a decoded message takes on the heap, as Go's
// allocator rounds it: the osc.Message, its address, its argument slice
// (of capacity argCap) and each argument's boxed value, string or blob. TestHeldSizeIsMeasured checks
// it against runtime.MemStats.
func heldSize(m *osc.Message, argCap int) int {
	n := allocSize(int(unsafe.Sizeof(osc.Message{}))) + stringSize(len(m.Address))
	if argCap > 0 {
		n += allocSize(argCap * int(unsafe.Sizeof(any(nil))))
	}
	for _, a := range m.Arguments {
		switch v := a.(type) {
		case int32, float32:
			n += 4 // boxed, in the allocator's 16-byte blocks for tiny values
		case int64, float64:
			n += 8
		case string:
			n += allocSize(int(unsafe.Sizeof(""))) + stringSize(len(v))
		case []byte:
			n += allocSize(int(unsafe.Sizeof([]byte(nil)))) + allocSize(cap(v))
		case osc.Timetag:
			n += allocSize(int(unsafe.Sizeof(v)))
		case bool, nil:
			// true, false and nil are not allocated
		default:
			n += 16
		}
	}
	return n
}

// stringSize is what the bytes of a string take: strings under 16 bytes
// share the allocator's 16-byte blocks.
func stringSize(n int) int {
	if n < 16 {
		return n
	}
	return allocSize(n)
}

// allocSize approximates the size class Go's allocator rounds an object of n
// bytes to: within 1/8 above n up to 32 KiB, whole 8 KiB pages beyond.
func allocSize(n int) int {
	switch {
	case n <= 0:
		return 0
	case n <= 16:
		return (n + 7) &^ 7
	case n > 32<<10:
		return (n + 8191) &^ 8191
	}
	step := 1 << (bits.Len(uint(n-1)) - 3) // 8 classes per power of two
	return (n + step - 1) &^ (step - 1)
}

// pending is a min-heap of held messages by due time, then arrival.
type pending []held

func (p pending) Len() int { return len(p) }
func (p pending) Less(i, j int) bool {
	if p[i].due.Equal(p[j].due) {
		return p[i].seq < p[j].seq
	}
	return p[i].due.Before(p[j].due)
}
func (p pending) Swap(i, j int) { p[i], p[j] = p[j], p[i] }
func (p *pending) Push(x any)   { *p = append(*p, x.(held)) }
func (p *pending) Pop() any {
	old := *p
	x := old[len(old)-1]
	old[len(old)-1] = held{}
	*p = old[:len(old)-1]
	return x
}
