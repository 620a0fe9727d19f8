// gethostbyaddr(3) and gethostbyaddr_r: a synthetic address answers with its name; when names
// go to the proxy, other addresses are answered from /etc/hosts or not at all (no PTR query).
#define _GNU_SOURCE
#include "resolver_results.h"
#include "socksify_shim.h"

SX_EXPORT int gethostbyaddr_r(const void *address, socklen_t length, int type, struct hostent *ret, char *buffer,
                              size_t buflen, struct hostent **result, int *h_errnop) {
    int usable = address != NULL && ((type == AF_INET && length == 4) || (type == AF_INET6 && length == 16));
    if (!usable || !sx_shim_ready()) {
        return sx_real_gethostbyaddr_r(address, length, type, ret, buffer, buflen, result, h_errnop);
    }
    sx_resolution answer = { 0 };
    *result = NULL;
    switch (sx_core_reverse(type, address, &answer)) {
    case SX_RESOLVE_ANSWERED:
        if (sx_build_hostent(&answer, type, ret, buffer, buflen) != 0) {
            *h_errnop = NETDB_INTERNAL;
            errno = ERANGE;
            return ERANGE;
        }
        *result = ret;
        *h_errnop = NETDB_SUCCESS;
        return 0;
    case SX_RESOLVE_NOT_FOUND:
    case SX_RESOLVE_REFUSED:
        *h_errnop = HOST_NOT_FOUND;
        return 0;
    default:
        return sx_real_gethostbyaddr_r(address, length, type, ret, buffer, buflen, result, h_errnop);
    }
}

static __thread struct hostent thread_entry;
static __thread char thread_buffer[1024];

// The core's answers fit a small per-thread buffer; anything else is libc's own call.
SX_EXPORT struct hostent *gethostbyaddr(const void *address, socklen_t length, int type) {
    int usable = address != NULL && ((type == AF_INET && length == 4) || (type == AF_INET6 && length == 16));
    if (!usable || !sx_shim_ready()) return sx_real_gethostbyaddr(address, length, type);
    sx_resolution answer = { 0 };
    switch (sx_core_reverse(type, address, &answer)) {
    case SX_RESOLVE_ANSWERED:
        if (sx_build_hostent(&answer, type, &thread_entry, thread_buffer, sizeof thread_buffer) != 0) {
            h_errno = NETDB_INTERNAL;
            return NULL;
        }
        return &thread_entry;
    case SX_RESOLVE_NOT_FOUND:
    case SX_RESOLVE_REFUSED:
        h_errno = HOST_NOT_FOUND;
        return NULL;
    default:
        return sx_real_gethostbyaddr(address, length, type);
    }
}
