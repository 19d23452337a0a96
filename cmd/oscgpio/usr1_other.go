//go:build !unix

package main

import "os"

// notifyUSR1 does nothing where there is no SIGUSR1.
func notifyUSR1(chan os.Signal) {}
