// Building the C structures resolver calls return, from the core's sx_resolution.
#ifndef SOCKSIFY_RESOLVER_RESULTS_H
#define SOCKSIFY_RESOLVER_RESULTS_H

#include <netdb.h>
#include "socksify_libc.h"

// An addrinfo list laid out as glibc lays out its own (each node one malloc with its sockaddr
// inside, ai_canonname a separate malloc), so either freeaddrinfo frees it correctly.
int sx_build_addrinfo(const sx_resolution *resolution, const char *service, const struct addrinfo *hints,
                      struct addrinfo **result);

// Fills a hostent inside buffer. Returns 0, or ERANGE when buffer is too small.
int sx_build_hostent(const sx_resolution *resolution, int family, struct hostent *ret, char *buffer,
                     size_t length);

#endif
