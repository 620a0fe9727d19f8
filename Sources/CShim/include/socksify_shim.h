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

// The fast path of read and write (readwrite.c), inline: one load of the limit of marked UDP
// descriptors (udp_marks.c), and the real function called through its pointer (real.c), so a
// descriptor that is not a proxied UDP socket costs a compare, a branch and an indirect jump.
#define SX_HIDDEN __attribute__((visibility("hidden")))
extern SX_HIDDEN unsigned int sx_udp_marks_limit;
extern SX_HIDDEN unsigned char *sx_udp_marks_table;
extern SX_HIDDEN ssize_t (*sx_next_read)(int fd, void *buf, size_t len);
extern SX_HIDDEN ssize_t (*sx_next_write)(int fd, const void *buf, size_t len);
// sx_udp_marked(fd), inline, in two steps. The limit is read as READ_ONCE does (a volatile
// aligned word) so the compiler folds it into the compare: a descriptor at or above it (all of
// them until a UDP association exists) is not marked. Below it, the table byte decides: the
// limit is raised only after the table exists and only to numbers inside it.
static inline int sx_udp_below_limit(int fd) {
    return (unsigned int)fd < *(volatile unsigned int *)&sx_udp_marks_limit;
}
static inline int sx_udp_marked_below_limit(int fd) {
    const unsigned char *table = __atomic_load_n(&sx_udp_marks_table, __ATOMIC_ACQUIRE);
    return table != NULL && (__atomic_load_n(&table[fd], __ATOMIC_RELAXED) & SX_MARKS_IO);
}

// The same test for every call the core may have to see (recv, send and friends): inline, one
// compare for a program without a UDP association or an interrupted tunnel.
static inline int sx_io_marked_fast(int fd) {
    return sx_udp_below_limit(fd) && sx_udp_marked_below_limit(fd);
}

// The wait interposers (waits.c, epoll.c): whether any asynchronous tunnel is going (one load
// while none is), and their deadlines on the monotonic clock (UINT64_MAX: none).
static inline int sx_waits_watching(void) {
    return __atomic_load_n(&sx_async_tunnels, __ATOMIC_ACQUIRE) != 0 && sx_shim_started();
}
// A timeout the kernel would refuse (EINVAL): such a call is handed to libc as it is.
static inline int sx_timeout_valid(const struct timespec *timeout) {
    return timeout == NULL || (timeout->tv_sec >= 0 && timeout->tv_nsec >= 0 && timeout->tv_nsec < 1000000000);
}
static inline uint64_t sx_deadline_after(const struct timespec *timeout) {
    if (timeout == NULL) return UINT64_MAX;
    return sx_monotonic_ns() + (uint64_t)timeout->tv_sec * 1000000000u + (uint64_t)timeout->tv_nsec;
}
static inline uint64_t sx_deadline_after_ms(int timeout_ms) {
    return timeout_ms < 0 ? UINT64_MAX : sx_monotonic_ns() + (uint64_t)timeout_ms * 1000000u;
}
static inline struct timespec sx_time_left(uint64_t end) {
    uint64_t now = sx_monotonic_ns(), left = end > now ? end - now : 0;
    return (struct timespec){.tv_sec = (time_t)(left / 1000000000u), .tv_nsec = (long)(left % 1000000000u)};
}

#endif
