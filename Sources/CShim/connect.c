// connect(2): every AF_INET/AF_INET6 stream connect is decided by the core.
#include "socksify_shim.h"
#include "socksify_libc.h"

SX_EXPORT int connect(int fd, const struct sockaddr *address, socklen_t length) {
    if (!sx_shim_ready()) return sx_real_connect(fd, address, length);
    if (__atomic_load_n(&sx_bind_watch, __ATOMIC_ACQUIRE) != 0) sx_core_bind_release(fd);
    return sx_core_connect(fd, address, length);
}

// glibc exports connect under a second public name too; a program linked against it is judged
// the same way.
SX_EXPORT int __connect(int fd, const struct sockaddr *address, socklen_t length) __attribute__((alias("connect")));
