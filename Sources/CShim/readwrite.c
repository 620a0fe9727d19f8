// read(2) and write(2) on a connected UDP socket with an association are recv and send; on any
// other descriptor they are libc's, after one table load.
#define _GNU_SOURCE
#include "socksify_shim.h"


SX_EXPORT ssize_t read(int fd, void *buffer, size_t length) {
    if (sx_udp_marked(fd)) return recvfrom(fd, buffer, length, 0, NULL, NULL);
    return sx_real_read(fd, buffer, length);
}

SX_EXPORT ssize_t write(int fd, const void *buffer, size_t length) {
    if (sx_udp_marked(fd)) return sendto(fd, buffer, length, 0, NULL, 0);
    return sx_real_write(fd, buffer, length);
}
