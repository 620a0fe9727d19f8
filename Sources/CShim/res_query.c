// res_query(3) and the rest of the resolver library build and send their own DNS packets from
// inside libc, out of reach of the sendto hook. When names go to the proxy (or in strict mode)
// they are refused with a log line; otherwise they are libc's.
#define _GNU_SOURCE
#include "socksify_shim.h"
#include <resolv.h>

#define REFUSE_OR_PASS(public_name, real_name, parameters, arguments)                      \
    SX_EXPORT int public_name parameters {                                                  \
        if (sx_shim_ready() && sx_core_resolver_call_refused(#public_name)) {               \
            h_errno = NO_RECOVERY;                                                          \
            errno = EPERM;                                                                  \
            return -1;                                                                      \
        }                                                                                   \
        int (*real) parameters = (int (*) parameters)sx_real_symbol(real_name);             \
        if (real == NULL) { errno = ENOSYS; return -1; }                                    \
        return real arguments;                                                              \
    }

#undef res_query
#undef res_search
#undef res_querydomain
#undef res_send
#undef res_nquery
#undef res_nsearch
#undef res_nquerydomain
#undef res_nsend

REFUSE_OR_PASS(res_query, "res_query", (const char *n, int c, int t, unsigned char *a, int l), (n, c, t, a, l))
REFUSE_OR_PASS(res_search, "res_search", (const char *n, int c, int t, unsigned char *a, int l), (n, c, t, a, l))
REFUSE_OR_PASS(res_querydomain, "res_querydomain",
               (const char *n, const char *d, int c, int t, unsigned char *a, int l), (n, d, c, t, a, l))
REFUSE_OR_PASS(res_send, "res_send", (const unsigned char *m, int ml, unsigned char *a, int l), (m, ml, a, l))
REFUSE_OR_PASS(__res_query, "__res_query", (const char *n, int c, int t, unsigned char *a, int l), (n, c, t, a, l))
REFUSE_OR_PASS(__res_search, "__res_search", (const char *n, int c, int t, unsigned char *a, int l), (n, c, t, a, l))
REFUSE_OR_PASS(__res_querydomain, "__res_querydomain",
               (const char *n, const char *d, int c, int t, unsigned char *a, int l), (n, d, c, t, a, l))
REFUSE_OR_PASS(__res_send, "__res_send", (const unsigned char *m, int ml, unsigned char *a, int l), (m, ml, a, l))
REFUSE_OR_PASS(res_nquery, "res_nquery", (res_state s, const char *n, int c, int t, unsigned char *a, int l),
               (s, n, c, t, a, l))
REFUSE_OR_PASS(res_nsearch, "res_nsearch", (res_state s, const char *n, int c, int t, unsigned char *a, int l),
               (s, n, c, t, a, l))
REFUSE_OR_PASS(res_nquerydomain, "res_nquerydomain",
               (res_state s, const char *n, const char *d, int c, int t, unsigned char *a, int l), (s, n, d, c, t, a, l))
REFUSE_OR_PASS(res_nsend, "res_nsend", (res_state s, const unsigned char *m, int ml, unsigned char *a, int l),
               (s, m, ml, a, l))
