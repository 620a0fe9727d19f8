// close(2), dup2(2), dup3(2): a descriptor number that is closed or replaced stops being a
// proxied socket. Before the core has started there is nothing to forget.
#define _GNU_SOURCE
#include "socksify_shim.h"
#include "socksify_libc.h"

SX_EXPORT int close(int fd) {
    if (sx_shim_started()) sx_core_forget(fd);
    return sx_real_close(fd);
}

SX_EXPORT int dup2(int oldfd, int newfd) {
    if (sx_shim_started() && oldfd != newfd) sx_core_forget(newfd);
    return sx_real_dup2(oldfd, newfd);
}

SX_EXPORT int dup3(int oldfd, int newfd, int flags) {
    if (sx_shim_started() && oldfd != newfd) sx_core_forget(newfd);
    return sx_real_dup3(oldfd, newfd, flags);
}
