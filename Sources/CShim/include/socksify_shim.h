// The boundary between the C interposers and the Swift core (Sources/ShimCore/Exports.swift).
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

// Swift core entry points.
void sx_core_init(void);
void sx_core_hold_name_map(void);
int sx_core_connect(int fd, const struct sockaddr *address, socklen_t length);
int sx_core_getpeername(int fd, struct sockaddr *address, socklen_t *length);
int sx_core_resolve(const char *name, int family, sx_resolution *out);
int sx_core_reverse(int family, const unsigned char *bytes, sx_resolution *out);
// Datagrams: -2 (SX_PASS) means "not ours: call libc with the program's arguments".
#define SX_PASS (-2)
ssize_t sx_core_sendmsg(int fd, const struct msghdr *message, int flags);
ssize_t sx_core_recvmsg(int fd, struct msghdr *message, int flags);
void sx_core_udp_close(int fd);
void sx_core_udp_dup(int fd, int copy);
int sx_core_check_socket(int domain, int type);
int sx_core_check_io_uring(void);
// The program is about to close or replace a descriptor the shim owns: the shim moves it away.
void sx_core_relocate_own(int fd);
int sx_core_resolver_call_refused(const char *function);
void sx_core_note_local_answer(const char *name, int family, const unsigned char *bytes);

// True once the core is initialised; initialises it on first use. False only for calls made
// while the core is initialising on this thread: those go straight to libc.
int sx_shim_ready(void);
// True if the core has been initialised (never initialises it).
int sx_shim_started(void);

#endif
