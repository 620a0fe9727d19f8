// socket(2): raw and packet sockets, and families the proxy cannot carry, are judged by the core
// (refused in strict mode, logged otherwise). Unix and netlink sockets pay one comparison.
#include "socksify_shim.h"

SX_EXPORT int socket(int domain, int type, int protocol) {
    if (domain != AF_UNIX && domain != AF_NETLINK && sx_shim_ready()) {
        int refusal = sx_core_check_socket(domain, type);
        if (refusal) { errno = refusal; return -1; }
    }
    int fd = sx_real_socket(domain, type, protocol);
    // What the program said, kept so its connect need not ask the kernel again.
    // (A vfork child noting its socket in the parent's table costs the parent at most a
    // getsockopt later: not worth a getpid on every socket().)
    if (fd >= 0 && (domain == AF_INET || domain == AF_INET6) && sx_shim_started()) {
        sx_core_socket_created(fd, type, protocol);
    }
    return fd;
}
