//go:build !linux

package gpio

import "syscall"

// errRemoteIO is Linux's EREMOTEIO, which other systems' syscall packages do
// not name (this package builds for the show computer too; no bus is opened
// there).
const errRemoteIO = syscall.Errno(121)
