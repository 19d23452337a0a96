//go:build !arm64

package main

// sysFinitModule is 0 where the guest does not run: its syscall table is not
// needed there, but the package still builds for `go vet ./...`.
const sysFinitModule = 0
