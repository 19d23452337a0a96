//go:build unix

package main

import (
	"os"
	"os/signal"
	"syscall"
)

// notifyUSR1 delivers SIGUSR1 (kill -USR1: print the counters) to ch.
func notifyUSR1(ch chan os.Signal) { signal.Notify(ch, syscall.SIGUSR1) }
