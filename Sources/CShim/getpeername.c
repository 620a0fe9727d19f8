// getpeername(2): a proxied socket reports the destination the program asked for.
#include "socksify_shim.h"
#include "socksify_libc.h"

SX_EXPORT int getpeername(int fd, struct sockaddr *address, socklen_t *length) {
    // Only a socket with a proxied peer, a UDP association or a tunnel still going (4: it is
    // connected to the proxy, but the program's connect is not done) answers other than the kernel.
    if (!sx_shim_started() || !(sx_fd_facts(fd) & (SX_FACT_PEER | 4 | 1))) return sx_real_getpeername(fd, address, length);
    return sx_core_getpeername(fd, address, length);
}
