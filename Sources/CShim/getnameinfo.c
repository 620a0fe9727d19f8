// getnameinfo(3): the host part comes from the core when it knows the address (a synthetic
// one, or any address when no PTR query may leave); the service part is always libc's.
#define _GNU_SOURCE
#include "socksify_shim.h"
#include <string.h>

SX_EXPORT int getnameinfo(const struct sockaddr *address, socklen_t length, char *host, socklen_t hostlen,
                          char *serv, socklen_t servlen, int flags) {
    if (host == NULL || hostlen == 0 || (flags & NI_NUMERICHOST) || address == NULL || !sx_shim_ready()) {
        return sx_real_getnameinfo(address, length, host, hostlen, serv, servlen, flags);
    }
    const unsigned char *bytes;
    if (address->sa_family == AF_INET && length >= sizeof(struct sockaddr_in)) {
        bytes = (const unsigned char *)&((const struct sockaddr_in *)address)->sin_addr;
    } else if (address->sa_family == AF_INET6 && length >= sizeof(struct sockaddr_in6)) {
        bytes = (const unsigned char *)&((const struct sockaddr_in6 *)address)->sin6_addr;
    } else {
        return sx_real_getnameinfo(address, length, host, hostlen, serv, servlen, flags);
    }
    sx_resolution answer = { 0 };
    switch (sx_core_reverse(address->sa_family, bytes, &answer)) {
    case SX_RESOLVE_ANSWERED: {
        // NI_NOFQDN shortens only names of the local domain, which these are not (as glibc).
        size_t name_length = strlen(answer.canonical);
        if (name_length + 1 > hostlen) return EAI_OVERFLOW;
        memcpy(host, answer.canonical, name_length);
        host[name_length] = 0;
        if (serv != NULL && servlen > 0) return sx_real_getnameinfo(address, length, NULL, 0, serv, servlen, flags);
        return 0;
    }
    case SX_RESOLVE_NOT_FOUND:
    case SX_RESOLVE_REFUSED:
        if (flags & NI_NAMEREQD) return EAI_NONAME;
        return sx_real_getnameinfo(address, length, host, hostlen, serv, servlen, flags | NI_NUMERICHOST);
    default:
        return sx_real_getnameinfo(address, length, host, hostlen, serv, servlen, flags);
    }
}
