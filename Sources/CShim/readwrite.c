// read(2) and write(2) on a connected UDP socket with an association are recv and send; on any
// other descriptor they are libc's, after one compare: no call, no frame, a tail jump to libc
// (objdump -d: cmp, branch, jmp *sx_next_read).
#define _GNU_SOURCE
#include "socksify_shim.h"


SX_EXPORT ssize_t read(int fd, void *buffer, size_t length) {
    if (__builtin_expect(sx_udp_maybe_marked(fd), 0) && sx_udp_marked(fd)) return recvfrom(fd, buffer, length, 0, NULL, NULL);
    return __atomic_load_n(&sx_next_read, __ATOMIC_RELAXED)(fd, buffer, length);
}

SX_EXPORT ssize_t write(int fd, const void *buffer, size_t length) {
    if (__builtin_expect(sx_udp_maybe_marked(fd), 0) && sx_udp_marked(fd)) return sendto(fd, buffer, length, 0, NULL, 0);
    return __atomic_load_n(&sx_next_write, __ATOMIC_RELAXED)(fd, buffer, length);
}
