//go:build !linux

package gpio

import "time"

// preciseSleep is time.Sleep off Linux.
func preciseSleep(d time.Duration) { time.Sleep(d) }
