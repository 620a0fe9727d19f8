// close(2), dup2(2), dup3(2): a UDP association lives as long as a descriptor of its socket.
// Other descriptors pay one table load.
#define _GNU_SOURCE
#include "socksify_shim.h"

SX_EXPORT int close(int fd) {
    if (sx_udp_marked(fd)) sx_core_udp_close(fd);
    return sx_real_close(fd);
}

SX_EXPORT int dup2(int fd, int copy) {
    if (fd != copy && sx_udp_marked(copy)) sx_core_udp_close(copy);
    int result = sx_real_dup2(fd, copy);
    if (result >= 0 && fd != copy && sx_udp_marked(fd)) sx_core_udp_dup(fd, copy);
    return result;
}

SX_EXPORT int dup3(int fd, int copy, int flags) {
    if (fd != copy && sx_udp_marked(copy)) sx_core_udp_close(copy);
    int result = sx_real_dup3(fd, copy, flags);
    if (result >= 0 && sx_udp_marked(fd)) sx_core_udp_dup(fd, copy);
    return result;
}
