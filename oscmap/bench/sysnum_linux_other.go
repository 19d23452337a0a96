//go:build linux && !amd64 && !386

package bench

import "syscall"

// sysSendmmsg is sendmmsg(2).
const sysSendmmsg = syscall.SYS_SENDMMSG
