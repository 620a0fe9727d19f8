// getaddrinfo(3), freeaddrinfo(3): names the proxy resolves get synthetic addresses; numeric
// hosts, a NULL node and locally resolved names go to libc.
#define _GNU_SOURCE
#include "resolver_results.h"
#include "socksify_shim.h"
#include <stdlib.h>

SX_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                          struct addrinfo **result) {
    if (node == NULL || !sx_shim_ready()) return sx_real_getaddrinfo(node, service, hints, result);
    int flags = hints ? hints->ai_flags : 0;
    int family = hints ? hints->ai_family : AF_UNSPEC;
    // Flags socksify does not know (AI_IDN_ALLOW_UNASSIGNED, …) never change where a name is
    // resolved: only AI_NUMERICHOST, which makes no lookup at all, goes to libc.
    if ((flags & AI_NUMERICHOST) || (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)) {
        return sx_real_getaddrinfo(node, service, hints, result);  // no lookup, or libc's own error
    }
    sx_resolution answer = { 0 };
    int outcome = sx_core_resolve(node, family, &answer);
    if (outcome == SX_RESOLVE_NOT_FOUND && family == AF_INET6 && (flags & AI_V4MAPPED)) {
        // An IPv6 caller that accepts IPv4-mapped answers gets them when there is no IPv6 one.
        outcome = sx_core_resolve(node, AF_INET, &answer);
        for (int i = 0; outcome == SX_RESOLVE_ANSWERED && i < answer.count; i++) {
            unsigned char mapped[16] = { [10] = 0xff, [11] = 0xff };
            memcpy(mapped + 12, answer.addresses[i].bytes, 4);
            answer.addresses[i].family = AF_INET6;
            memcpy(answer.addresses[i].bytes, mapped, 16);
        }
    }
    switch (outcome) {
    case SX_RESOLVE_ANSWERED: return sx_build_addrinfo(&answer, service, hints, result);
    case SX_RESOLVE_NOT_FOUND: return EAI_NONAME;
    case SX_RESOLVE_REFUSED: return EAI_FAIL;
    default: {
        int status = sx_real_getaddrinfo(node, service, hints, result);
        for (struct addrinfo *a = status == 0 ? *result : NULL; a != NULL; a = a->ai_next) {
            if (a->ai_family == AF_INET) {
                sx_core_note_local_answer(node, AF_INET, (const unsigned char *)&((struct sockaddr_in *)a->ai_addr)->sin_addr);
            } else if (a->ai_family == AF_INET6) {
                sx_core_note_local_answer(node, AF_INET6, (const unsigned char *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr);
            }
        }
        return status;
    }
    }
}

// Frees lists from either source: ours are laid out as glibc lays out its own.
SX_EXPORT void freeaddrinfo(struct addrinfo *list) {
    while (list != NULL) {
        struct addrinfo *next = list->ai_next;
        free(list->ai_canonname);
        free(list);
        list = next;
    }
}
