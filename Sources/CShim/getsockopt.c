// getsockopt(2): SO_ERROR on a socket whose tunnel a signal interrupted finishes the exchange
// and answers its outcome, as the kernel answers for an interrupted connect. Everything else is
// libc's after one table load.
#include "socksify_shim.h"

SX_EXPORT int getsockopt(int fd, int level, int name, void *value, socklen_t *length) {
    if (level != SOL_SOCKET || name != SO_ERROR || !sx_pending_marked(fd) || value == NULL || length == NULL ||
        *length < (socklen_t)sizeof(int)) {
        return sx_real_getsockopt(fd, level, name, value, length);
    }
    int outcome = sx_core_socket_error(fd);
    *(int *)value = outcome;
    *length = sizeof(int);
    return 0;
}
