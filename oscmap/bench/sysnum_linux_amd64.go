package bench

// sysSendmmsg is sendmmsg(2) on linux/amd64 (the syscall package lacks it).
const sysSendmmsg = 307
