// socket(2): in strict mode, raw and packet sockets are refused (they bypass any proxy).
#include "socksify_shim.h"

SX_EXPORT int socket(int domain, int type, int protocol) {
    if ((domain == AF_INET || domain == AF_INET6 || domain == AF_PACKET) && sx_shim_ready()) {
        int refusal = sx_core_check_socket(domain, type);
        if (refusal) { errno = refusal; return -1; }
    }
    return sx_real_socket(domain, type, protocol);
}
