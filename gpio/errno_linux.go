package gpio

import "syscall"

// errRemoteIO is what the kernel's I2C drivers return when no chip
// acknowledges its address.
const errRemoteIO = syscall.EREMOTEIO
