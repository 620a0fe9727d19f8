// socket(2): raw and packet sockets, and families the proxy cannot carry, are judged by the core
// (refused in strict mode, logged otherwise), which also notes an IP socket's transport for its
// connect. Unix and netlink sockets pay one comparison.
#include "socksify_shim.h"

SX_EXPORT int socket(int domain, int type, int protocol) {
    if (domain != AF_UNIX && domain != AF_NETLINK && sx_shim_ready()) return sx_core_socket(domain, type, protocol);
    return sx_real_socket(domain, type, protocol);
}
