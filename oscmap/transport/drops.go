package transport

import (
	"sync"
	"sync/atomic"
	"time"
)

// dropTick is how often the kernel's drop counter is read while datagrams
// arrive.
const dropTick = 250 * time.Millisecond

// dropCounter follows the kernel's cumulative drop counter of the socket.
type dropCounter struct {
	mu    sync.Mutex
	last  uint32 // the kernel's counter at the last read
	total atomic.Uint64
}

// readDrops reads the kernel's drop counter and adds what is new to
// Stats.KernelDrops; it returns how many are new. A closed socket reads as no
// new drops.
func (u *UDP) readDrops() uint64 {
	if !u.sock.dropsOK {
		return 0
	}
	u.drops.mu.Lock()
	defer u.drops.mu.Unlock()
	v, ok := memInfoDrops(u.conn)
	if !ok {
		return 0
	}
	d := uint64(v - u.drops.last) // modulo 2^32, as the kernel counts
	u.drops.last = v
	u.drops.total.Add(d)
	return d
}

// dropClock is the time source of the drop watcher (a fake one in tests).
type dropClock struct {
	after func(time.Duration) <-chan time.Time
	now   func() time.Time
}

var realClock = dropClock{after: time.After, now: time.Now}

// watchDrops reads the kernel's drop counter while datagrams arrive, so that
// drops at the end of a burst are counted too, and logs new drops as a
// warning, at most once a second. It sleeps while the socket is idle: the
// reader signals each datagram on activity (a 1-slot channel); once
// signalled, the watcher reads the counter every dropTick until a tick finds
// no new datagram, no new drop and nothing left to log, then waits for the
// next signal. It returns when done is closed, after a last log line.
func (u *UDP) watchDrops(activity chan struct{}, done <-chan struct{}, clk dropClock) {
	var logged uint64 // the total at the last log line
	var lastLog time.Time
	// report logs the drops not logged yet, unless a line went out less
	// than a second ago (and not final); it returns whether some are left.
	report := func(final bool) bool {
		total := u.drops.total.Load()
		if total == logged {
			return false
		}
		now := clk.now()
		if !final && !lastLog.IsZero() && now.Sub(lastLog) < time.Second {
			return true
		}
		why := "packets dropped by the kernel: the socket's receive buffer was full (sent faster than read)"
		if u.kernelAllow {
			why = "packets dropped by the kernel: from senders not in the allow list, or the socket's receive buffer was full (sent faster than read)"
		}
		u.log.Warn(why, "addr", u.Addr().String(), "new", total-logged, "total", total)
		logged, lastLog = total, now
		return false
	}
	for {
		select {
		case <-done:
			report(true)
			return
		case <-activity:
		}
		packets := u.packets.Load()
		for busy := true; busy; {
			select {
			case <-done:
				u.readDrops()
				report(true)
				return
			case <-clk.after(dropTick):
			}
			// Drain the signal first: a datagram read after this load
			// signals again, so none is missed when the watcher waits.
			select {
			case <-activity:
			default:
			}
			p := u.packets.Load()
			newDrops := u.readDrops()
			left := report(false)
			busy = p != packets || newDrops != 0 || left
			packets = p
		}
	}
}
