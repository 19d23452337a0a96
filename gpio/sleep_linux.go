package gpio

import (
	"syscall"
	"time"
)

// preciseSleep sleeps d in one nanosleep system call: the kernel wakes the
// thread within its timer slack (50µs by default), where a Go timer in an
// idle process wakes on a millisecond epoll_wait timeout. It blocks its OS
// thread (the runtime gives the P to another thread meanwhile).
func preciseSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(d.Nanoseconds())
	for {
		var left syscall.Timespec
		if err := syscall.Nanosleep(&ts, &left); err != syscall.EINTR {
			return
		}
		ts = left
	}
}
