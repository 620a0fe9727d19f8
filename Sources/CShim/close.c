// Every way a descriptor number is closed or becomes a copy: close(2), close_range(2),
// closefrom(3), dup(2), dup2, dup3, fcntl(F_DUPFD…). A UDP association lives as long as a
// descriptor of its socket; the shim's own descriptors (UDP control connections) are moved out
// of the way before the program closes or replaces their number. Other descriptors pay one load.
#define _GNU_SOURCE
#include "socksify_shim.h"
#include <limits.h>
#include <stdarg.h>

// Before fd stops meaning what it meant. Not in a vfork child: the marks are its parent's.
static void forget(int fd) {
    if (__atomic_load_n(&sx_bind_watch, __ATOMIC_ACQUIRE) != 0 && sx_shim_started()) sx_core_bind_forget(fd);
    int facts = sx_fd_facts(fd);
    if (facts == 0) return;
    // Only the transport or the proxied peer noted: a vfork child forgetting the parent's
    // would cost the parent a getsockopt on connect, or getpeername naming the proxy rather
    // than the destination; not worth a getpid on every close of a proxied socket.
    if ((facts & 7) && sx_marks_borrowed()) return;
    if (facts & 2 && !sx_log_relocate(fd)) sx_core_relocate_own(fd);
    if (facts & 1) sx_core_udp_close(fd);
    if (facts & 4) sx_core_forget_interrupted(fd);
    if (facts & SX_FACT_EPOLL) sx_epoll_forget(fd);
    int noted = SX_FACT_KIND | SX_FACT_PEER | SX_FACT_SNDTIMEO | SX_FACT_EPOLL;
    if (facts & noted) sx_fd_facts_set(fd, noted, 0);
}

// Before fd is copied: an interrupted tunnel is finished first (the copy is a plain socket).
static void settle(int fd) {
    if (sx_pending_marked(fd) && !sx_marks_borrowed()) sx_core_settle(fd);
}

// After: copy now refers to fd's socket: its association, its transport, its proxied peer.
static void follow(int fd, int copy) {
    int facts = sx_fd_facts(fd);
    if (facts == 0 || ((facts & 1) && sx_marks_borrowed())) return;  // a vfork child: not its associations
    if (facts & 1) sx_core_udp_dup(fd, copy);
    if (facts & SX_FACT_PEER) sx_core_peer_dup(fd, copy);
    if (facts & (SX_FACT_KIND | SX_FACT_SNDTIMEO)) sx_fd_facts_set(copy, SX_FACT_KIND | SX_FACT_SNDTIMEO, facts);
}

SX_EXPORT int close(int fd) {
    forget(fd);
    return sx_real_close(fd);
}

SX_EXPORT int dup2(int fd, int copy) {
    settle(fd);
    if (fd != copy) forget(copy);
    int result = sx_real_dup2(fd, copy);
    if (result >= 0 && fd != copy) follow(fd, copy);
    return result;
}

SX_EXPORT int dup3(int fd, int copy, int flags) {
    settle(fd);
    if (fd != copy) forget(copy);
    int result = sx_real_dup3(fd, copy, flags);
    if (result >= 0) follow(fd, copy);
    return result;
}

SX_EXPORT int dup(int fd) {
    settle(fd);
    int result = sx_real_dup(fd);
    if (result >= 0) follow(fd, result);
    return result;
}

static int do_fcntl(const char *name, int fd, int command, long argument) {
    static int (*real_fcntl)(int, int, ...);
    static int (*real_fcntl64)(int, int, ...);
    int (**slot)(int, int, ...) = name[5] == '6' ? &real_fcntl64 : &real_fcntl;
    if (*slot == NULL) *slot = (int (*)(int, int, ...))sx_real_symbol(name);
    if (*slot == NULL) *slot = (int (*)(int, int, ...))sx_real_symbol("fcntl");
    int duplicates = command == F_DUPFD || command == F_DUPFD_CLOEXEC;
    if (duplicates) settle(fd);
    int result = (*slot)(fd, command, argument);
    if (result >= 0 && duplicates) follow(fd, result);
    return result;
}

// fcntl's third argument is an int or a pointer; passed on as a long, as the kernel reads it.
SX_EXPORT int fcntl(int fd, int command, ...) {
    va_list arguments;
    va_start(arguments, command);
    long argument = va_arg(arguments, long);
    va_end(arguments);
    return do_fcntl("fcntl", fd, command, argument);
}

SX_EXPORT int fcntl64(int fd, int command, ...) {
    va_list arguments;
    va_start(arguments, command);
    long argument = va_arg(arguments, long);
    va_end(arguments);
    return do_fcntl("fcntl64", fd, command, argument);
}

static int real_close_range(unsigned int first, unsigned int last, int flags) {
    static int (*real)(unsigned int, unsigned int, int);
    if (real == NULL) real = (int (*)(unsigned int, unsigned int, int))sx_real_symbol("close_range");
    if (real == NULL) { errno = ENOSYS; return -1; }
    return real(first, last, flags);
}

// The range is closed around the shim's own descriptors, which stay open (the program never
// opened them); the associations of the program's UDP sockets in it end.
SX_EXPORT int close_range(unsigned int first, unsigned int last, int flags) {
    if (first > last || (flags & CLOSE_RANGE_CLOEXEC) || sx_marks_borrowed()) return real_close_range(first, last, flags);
    int bounded_last = last > (unsigned int)INT_MAX ? INT_MAX : (int)last;
    unsigned int from = first;  // where the part still to close starts
    unsigned int scan = first;
    int fd;
    while (scan <= (unsigned int)bounded_last && sx_any_marked_in((int)scan, bounded_last, &fd)) {
        int facts = sx_fd_facts(fd);
        if (facts & 1) sx_core_udp_close(fd);
        if (facts & 4) sx_core_forget_interrupted(fd);
        if (!(facts & 2)) sx_fd_facts_set(fd, SX_FACT_KIND | SX_FACT_PEER | SX_FACT_SNDTIMEO, 0);
        if (facts & 2) {
            if ((unsigned int)fd > from && real_close_range(from, (unsigned int)fd - 1, flags) != 0) return -1;
            from = (unsigned int)fd + 1;
        }
        scan = (unsigned int)fd + 1;
    }
    if (from > last) return 0;
    return real_close_range(from, last, flags);
}

SX_EXPORT void closefrom(int lowest) {
    if (lowest < 0) lowest = 0;
    if (close_range((unsigned int)lowest, ~0U, 0) == 0) return;
    // No close_range (kernel < 5.9): one by one, as glibc's own fallback does.
    for (int fd = lowest; fd < 65536; fd++) {
        if (!sx_own_marked(fd)) close(fd);
    }
}

// glibc's exported second names for the same calls: a program linked against them keeps the
// registry true as well.
SX_EXPORT int __close(int fd) __attribute__((alias("close")));
SX_EXPORT int __dup2(int fd, int copy) __attribute__((alias("dup2")));
SX_EXPORT int __fcntl(int fd, int command, ...) __attribute__((alias("fcntl")));
