// One byte per descriptor number: is it a UDP socket with a SOCKS association? The interposers
// of read, write, recv and friends check it first, so ordinary descriptors pay one load.
#define _GNU_SOURCE
#include "socksify_libc.h"
#include <stdatomic.h>
#include <sys/mman.h>

static _Atomic(unsigned char *) marks;

int sx_udp_marked(int fd) {
    unsigned char *table = atomic_load_explicit(&marks, memory_order_acquire);
    if (table == NULL || fd < 0 || fd >= SX_UDP_MARKS) return 0;
    return __atomic_load_n(&table[fd], __ATOMIC_RELAXED);
}

int sx_udp_mark(int fd, int on) {
    if (fd < 0 || fd >= SX_UDP_MARKS) return -1;
    unsigned char *table = atomic_load_explicit(&marks, memory_order_acquire);
    if (table == NULL) {
        unsigned char *fresh = mmap(NULL, SX_UDP_MARKS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (fresh == MAP_FAILED) return -1;
        unsigned char *expected = NULL;
        if (!atomic_compare_exchange_strong(&marks, &expected, fresh)) {
            munmap(fresh, SX_UDP_MARKS);
            table = expected;
        } else {
            table = fresh;
        }
    }
    __atomic_store_n(&table[fd], on ? 1 : 0, __ATOMIC_RELAXED);
    return 0;
}

int sx_socket_protocol(int fd) {
    int value = 0;
    socklen_t len = sizeof value;
    return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &value, &len) == 0 ? value : -1;
}

int sx_socket_local_port(int fd) {
    struct sockaddr_storage address;
    socklen_t len = sizeof address;
    if (getsockname(fd, (struct sockaddr *)&address, &len) != 0) return -1;
    if (address.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&address)->sin_port);
    if (address.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&address)->sin6_port);
    return -1;
}
