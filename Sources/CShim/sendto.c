// sendto(2), sendmsg(2), sendmmsg(2), send(2): the core routes each datagram. Through a proxy it
// is wrapped for the UDP association; refused ones fail with the logged errno; direct ones go to
// libc untouched (SX_PASS).
#define _GNU_SOURCE
#include "socksify_shim.h"

SX_EXPORT ssize_t sendmsg(int fd, const struct msghdr *message, int flags) {
    if (message == NULL || (message->msg_name == NULL && !sx_io_marked_fast(fd)) || !sx_shim_ready()) {
        return sx_real_sendmsg(fd, message, flags);
    }
    ssize_t sent = sx_core_sendmsg(fd, message, flags);
    return sent == SX_PASS ? sx_real_sendmsg(fd, message, flags) : sent;
}

SX_EXPORT ssize_t sendto(int fd, const void *buffer, size_t length, int flags, const struct sockaddr *address,
                         socklen_t address_length) {
    if ((address == NULL && !sx_io_marked_fast(fd)) || !sx_shim_ready()) {
        return sx_real_sendto(fd, buffer, length, flags, address, address_length);
    }
    struct iovec vector = { (void *)buffer, length };
    struct msghdr message = { (void *)address, address_length, &vector, 1, NULL, 0, 0 };
    ssize_t sent = sx_core_sendmsg(fd, &message, flags);
    return sent == SX_PASS ? sx_real_sendto(fd, buffer, length, flags, address, address_length) : sent;
}

SX_EXPORT ssize_t send(int fd, const void *buffer, size_t length, int flags) {
    if (!sx_io_marked_fast(fd)) return sx_real_send(fd, buffer, length, flags);
    return sendto(fd, buffer, length, flags, NULL, 0);
}

SX_EXPORT int sendmmsg(int fd, struct mmsghdr *messages, unsigned int count, int flags) {
    if (messages == NULL || !sx_shim_ready()) return sx_real_sendmmsg(fd, messages, count, flags);
    int any = sx_io_marked_fast(fd);
    for (unsigned int i = 0; i < count && !any; i++) any = messages[i].msg_hdr.msg_name != NULL;
    if (!any) return sx_real_sendmmsg(fd, messages, count, flags);
    // One at a time through the core, as the kernel would: stop at the first failure.
    unsigned int done = 0;
    for (; done < count; done++) {
        ssize_t sent = sendmsg(fd, &messages[done].msg_hdr, flags);
        if (sent < 0) break;
        messages[done].msg_len = (unsigned int)sent;
    }
    return done > 0 ? (int)done : -1;
}

// glibc exports send under a second public name too.
SX_EXPORT ssize_t __send(int fd, const void *buffer, size_t length, int flags) __attribute__((alias("send")));
