// sendto(2), sendmsg(2), sendmmsg(2): datagrams the policy forbids (DNS leaving directly, any
// UDP in strict mode) fail with EPERM, as a local firewall would make them.
#define _GNU_SOURCE
#include "socksify_shim.h"

SX_EXPORT ssize_t sendto(int fd, const void *buffer, size_t length, int flags, const struct sockaddr *address,
                         socklen_t address_length) {
    if (address != NULL && sx_shim_ready()) {
        int refusal = sx_core_check_datagram(fd, address, address_length);
        if (refusal) { errno = refusal; return -1; }
    }
    return sx_real_sendto(fd, buffer, length, flags, address, address_length);
}

SX_EXPORT ssize_t sendmsg(int fd, const struct msghdr *message, int flags) {
    if (message != NULL && message->msg_name != NULL && sx_shim_ready()) {
        int refusal = sx_core_check_datagram(fd, message->msg_name, message->msg_namelen);
        if (refusal) { errno = refusal; return -1; }
    }
    return sx_real_sendmsg(fd, message, flags);
}

SX_EXPORT int sendmmsg(int fd, struct mmsghdr *messages, unsigned int count, int flags) {
    if (messages != NULL && sx_shim_ready()) {
        for (unsigned int i = 0; i < count; i++) {
            const struct msghdr *m = &messages[i].msg_hdr;
            if (m->msg_name == NULL) continue;
            int refusal = sx_core_check_datagram(fd, m->msg_name, m->msg_namelen);
            if (refusal) {
                if (i > 0) return sx_real_sendmmsg(fd, messages, i, flags);  // send what was allowed
                errno = refusal;
                return -1;
            }
        }
    }
    return sx_real_sendmmsg(fd, messages, count, flags);
}
