// gethostbyname(3), gethostbyname2, and their reentrant _r forms: answered by the core when it
// resolves the name itself, else by libc. The non-reentrant forms use a per-thread buffer.
#define _GNU_SOURCE
#include "resolver_results.h"
#include "socksify_shim.h"

SX_EXPORT int gethostbyname2_r(const char *name, int family, struct hostent *ret, char *buffer, size_t length,
                               struct hostent **result, int *h_errnop) {
    if (name == NULL || (family != AF_INET && family != AF_INET6) || !sx_shim_ready()) {
        return sx_real_gethostbyname2_r(name, family, ret, buffer, length, result, h_errnop);
    }
    sx_resolution answer = { 0 };
    *result = NULL;
    switch (sx_core_resolve(name, family, &answer)) {
    case SX_RESOLVE_ANSWERED:
        if (sx_build_hostent(&answer, family, ret, buffer, length) != 0) {
            *h_errnop = NETDB_INTERNAL;
            errno = ERANGE;
            return ERANGE;
        }
        *result = ret;
        *h_errnop = NETDB_SUCCESS;
        return 0;
    case SX_RESOLVE_NOT_FOUND:
        *h_errnop = HOST_NOT_FOUND;
        return 0;
    case SX_RESOLVE_REFUSED:
        *h_errnop = NO_RECOVERY;
        return 0;
    default: {
        int status = sx_real_gethostbyname2_r(name, family, ret, buffer, length, result, h_errnop);
        if (status == 0 && *result != NULL) {
            for (char **a = (*result)->h_addr_list; *a != NULL; a++) {
                sx_core_note_local_answer(name, (*result)->h_addrtype, (const unsigned char *)*a);
            }
        }
        return status;
    }
    }
}

SX_EXPORT int gethostbyname_r(const char *name, struct hostent *ret, char *buffer, size_t length,
                              struct hostent **result, int *h_errnop) {
    return gethostbyname2_r(name, AF_INET, ret, buffer, length, result, h_errnop);
}

static __thread struct hostent thread_entry;
static __thread char thread_buffer[2048];

// Answers the core gives fit a small per-thread buffer; anything else is libc's own call, with
// libc's own (growing) buffer.
SX_EXPORT struct hostent *gethostbyname2(const char *name, int family) {
    if (name == NULL || (family != AF_INET && family != AF_INET6) || !sx_shim_ready()) {
        return sx_real_gethostbyname2(name, family);
    }
    sx_resolution answer = { 0 };
    switch (sx_core_resolve(name, family, &answer)) {
    case SX_RESOLVE_ANSWERED:
        if (sx_build_hostent(&answer, family, &thread_entry, thread_buffer, sizeof thread_buffer) != 0) {
            h_errno = NETDB_INTERNAL;
            return NULL;
        }
        return &thread_entry;
    case SX_RESOLVE_NOT_FOUND:
        h_errno = HOST_NOT_FOUND;
        return NULL;
    case SX_RESOLVE_REFUSED:
        h_errno = NO_RECOVERY;
        return NULL;
    default: {
        struct hostent *result = sx_real_gethostbyname2(name, family);
        for (char **a = result ? result->h_addr_list : NULL; a && *a; a++) {
            sx_core_note_local_answer(name, result->h_addrtype, (const unsigned char *)*a);
        }
        return result;
    }
    }
}

SX_EXPORT struct hostent *gethostbyname(const char *name) {
    if (!sx_shim_ready()) return sx_real_gethostbyname(name);
    return gethostbyname2(name, AF_INET);
}
