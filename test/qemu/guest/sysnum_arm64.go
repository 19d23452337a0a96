package main

import "syscall"

// sysFinitModule is finit_module(2) on linux/arm64, where the guest runs.
const sysFinitModule = syscall.SYS_FINIT_MODULE
