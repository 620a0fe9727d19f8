// What the C interposers share: the real calls, the core's entry points (socksify_abi.h).
#ifndef SOCKSIFY_SHIM_H
#define SOCKSIFY_SHIM_H

#include "socksify_libc.h"

#ifdef _GNU_SOURCE
int sx_real_sendmmsg(int fd, struct mmsghdr *messages, unsigned int count, int flags);
// The interposers, callable from each other (syscall.c dispatches to them).
int sendmmsg(int fd, struct mmsghdr *messages, unsigned int count, int flags);
int recvmmsg(int fd, struct mmsghdr *messages, unsigned int count, int flags, struct timespec *timeout);
#endif

#define SX_EXPORT __attribute__((visibility("default")))

#include "socksify_abi.h"

// True once the core is initialised; initialises it on first use. False only for calls made
// while the core is initialising on this thread: those go straight to libc.
int sx_shim_ready(void);
// True if the core has been initialised (never initialises it).
int sx_shim_started(void);

#endif
