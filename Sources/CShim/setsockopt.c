// setsockopt(2): the only option socksify keeps note of is SO_SNDTIMEO, a blocking connect's
// limit, so a proxied connect honours it without asking the kernel on every connect.
#include "socksify_shim.h"

SX_EXPORT int setsockopt(int fd, int level, int name, const void *value, socklen_t length) {
    int result = sx_real_setsockopt(fd, level, name, value, length);
    if (result == 0 && level == SOL_SOCKET && (name == SO_SNDTIMEO_OLD || name == SO_SNDTIMEO_NEW) && value != NULL) {
        int set = 0;
        for (socklen_t i = 0; i < length && !set; i++) set = ((const unsigned char *)value)[i] != 0;
        sx_fd_facts_set(fd, SX_FACT_SNDTIMEO, set ? SX_FACT_SNDTIMEO : 0);
    }
    return result;
}
