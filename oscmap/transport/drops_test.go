package transport

import (
	"strings"
	"testing"
	"time"
)

// fakeDropClock drives watchDrops: each tick it asks for is a channel the
// test fires, and it tells when the watcher waits for activity.
type fakeDropClock struct {
	asked chan chan time.Time
	now   time.Time
}

func (f *fakeDropClock) clock() dropClock {
	return dropClock{
		after: func(time.Duration) <-chan time.Time {
			c := make(chan time.Time, 1)
			f.asked <- c
			return c
		},
		now: func() time.Time { return f.now },
	}
}

// TestWatchDropsSleepsWhileIdle checks that the drop watcher asks for no
// tick until a datagram is read, ticks while datagrams or drops keep coming,
// and then asks for no more ticks; and that it logs drops at most once a
// second.
func TestWatchDropsSleepsWhileIdle(t *testing.T) {
	log, lb := testLogger()
	u, err := ListenUDP("127.0.0.1:0", log)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	u.sock.dropsOK = false // the test plays the kernel's counter
	f := &fakeDropClock{asked: make(chan chan time.Time), now: time.Unix(1000, 0)}
	activity := make(chan struct{}, 1)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		u.watchDrops(activity, done, f.clock())
	}()
	noTick := func(what string) {
		t.Helper()
		select {
		case <-f.asked:
			t.Fatalf("the watcher asked for a tick %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
	tick := func() chan time.Time {
		t.Helper()
		select {
		case c := <-f.asked:
			return c
		case <-time.After(wait):
			t.Fatal("the watcher asked for no tick")
			return nil
		}
	}
	noTick("before any datagram")

	u.packets.Add(1)
	activity <- struct{}{}
	c := tick()
	u.packets.Add(1)
	u.drops.total.Add(3)
	f.now = f.now.Add(250 * time.Millisecond)
	c <- f.now // new packet and drops: busy, logged
	c = tick()
	u.drops.total.Add(2)
	f.now = f.now.Add(250 * time.Millisecond)
	c <- f.now // new drops, not logged yet (under a second)
	c = tick()
	f.now = f.now.Add(250 * time.Millisecond)
	c <- f.now // nothing new, but 2 drops not logged: keep ticking
	c = tick()
	f.now = f.now.Add(600 * time.Millisecond)
	c <- f.now // the second is over: logged, nothing left
	noTick("after a quiet tick")

	close(done)
	<-stopped
	lines := strings.Count(lb.String(), "packets dropped by the kernel")
	if lines != 2 || !strings.Contains(lb.String(), "new=3 total=3") || !strings.Contains(lb.String(), "new=2 total=5") {
		t.Errorf("want two warnings, new=3 total=3 then new=2 total=5:\n%s", lb)
	}
}
