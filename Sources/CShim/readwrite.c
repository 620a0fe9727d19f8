// read(2) and write(2) on a connected UDP socket with an association are recv and send; on any
// other descriptor they are libc's, after one compare: no call, no frame, a tail jump to libc
// (objdump -d: cmp, branch, mov, jmp *%rax). Below the limit (once a UDP association exists),
// the table byte is read inline too: six instructions more, still no call.
#define _GNU_SOURCE
#include "socksify_shim.h"

// The UDP path is a call that is not a tail call: SwiftPM compiles with frame pointers, and the
// compiler then sets up the frame on that path only. (No __builtin_expect on the limit test: it
// makes clang move the whole rare path out of line, frame setup back on the fast path.)
#define SX_NOT_TAIL(call)                                                                   \
    do {                                                                                    \
        ssize_t result_ = (call);                                                           \
        __asm__ volatile("" : "+r"(result_));                                               \
        return result_;                                                                     \
    } while (0)

SX_EXPORT ssize_t read(int fd, void *buffer, size_t length) {
    if (sx_udp_below_limit(fd) && sx_udp_marked_below_limit(fd)) SX_NOT_TAIL(recvfrom(fd, buffer, length, 0, NULL, NULL));
    return __atomic_load_n(&sx_next_read, __ATOMIC_RELAXED)(fd, buffer, length);
}

SX_EXPORT ssize_t write(int fd, const void *buffer, size_t length) {
    if (sx_udp_below_limit(fd) && sx_udp_marked_below_limit(fd)) SX_NOT_TAIL(sendto(fd, buffer, length, 0, NULL, 0));
    return __atomic_load_n(&sx_next_write, __ATOMIC_RELAXED)(fd, buffer, length);
}

// readv(2) and writev(2): on a marked socket (a UDP association, or a tunnel still going) they
// are recvmsg and sendmsg, so the core sees them as it sees read and write; else libc's.
SX_EXPORT ssize_t readv(int fd, const struct iovec *vector, int count) {
    if (sx_udp_below_limit(fd) && sx_udp_marked_below_limit(fd) && count >= 0) {
        struct msghdr message = {.msg_iov = (struct iovec *)vector, .msg_iovlen = (size_t)count};
        return recvmsg(fd, &message, 0);
    }
    return sx_real_readv(fd, vector, count);
}

SX_EXPORT ssize_t writev(int fd, const struct iovec *vector, int count) {
    if (sx_udp_below_limit(fd) && sx_udp_marked_below_limit(fd) && count >= 0) {
        struct msghdr message = {.msg_iov = (struct iovec *)vector, .msg_iovlen = (size_t)count};
        return sendmsg(fd, &message, 0);
    }
    return sx_real_writev(fd, vector, count);
}
