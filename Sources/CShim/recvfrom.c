// recvfrom(2), recvmsg(2), recvmmsg(2), recv(2): on a UDP socket with an association, the core
// unwraps each datagram from the relay. Every other descriptor pays one table load.
#define _GNU_SOURCE
#include "socksify_shim.h"

SX_EXPORT ssize_t recvmsg(int fd, struct msghdr *message, int flags) {
    if (!sx_io_marked_fast(fd) || message == NULL) return sx_real_recvmsg(fd, message, flags);
    ssize_t received = sx_core_recvmsg(fd, message, flags);
    return received == SX_PASS ? sx_real_recvmsg(fd, message, flags) : received;
}

SX_EXPORT ssize_t recvfrom(int fd, void *buffer, size_t length, int flags, struct sockaddr *address,
                           socklen_t *address_length) {
    if (!sx_io_marked_fast(fd)) return sx_real_recvfrom(fd, buffer, length, flags, address, address_length);
    struct iovec vector = { buffer, length };
    struct msghdr message = { address, address && address_length ? *address_length : 0, &vector, 1, NULL, 0, 0 };
    ssize_t received = sx_core_recvmsg(fd, &message, flags);
    if (received == SX_PASS) return sx_real_recvfrom(fd, buffer, length, flags, address, address_length);
    if (received >= 0 && address && address_length) *address_length = message.msg_namelen;
    return received;
}

SX_EXPORT ssize_t recv(int fd, void *buffer, size_t length, int flags) {
    if (!sx_io_marked_fast(fd)) return sx_real_recv(fd, buffer, length, flags);
    return recvfrom(fd, buffer, length, flags, NULL, NULL);
}

SX_EXPORT int recvmmsg(int fd, struct mmsghdr *messages, unsigned int count, int flags, struct timespec *timeout) {
    static int (*real)(int, struct mmsghdr *, unsigned int, int, struct timespec *);
    if (real == NULL) real = (int (*)(int, struct mmsghdr *, unsigned int, int, struct timespec *))sx_real_symbol("recvmmsg");
    if (!sx_io_marked_fast(fd)) return real(fd, messages, count, flags, timeout);
    // The first datagram as the flags say; after MSG_WAITFORONE the rest only if already there.
    unsigned int done = 0;
    int each = flags & ~MSG_WAITFORONE;
    for (; done < count; done++) {
        ssize_t received = recvmsg(fd, &messages[done].msg_hdr, each);
        if (received < 0) break;
        messages[done].msg_len = (unsigned int)received;
        if (flags & MSG_WAITFORONE) each |= MSG_DONTWAIT;
    }
    return done > 0 ? (int)done : -1;
}
