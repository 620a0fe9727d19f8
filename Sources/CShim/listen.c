// bind, listen, accept, accept4, getsockname: a listening socket the far side connects back to
// (active FTP) may be carried by a SOCKS5 BIND (Shim+Bind.swift). A bind to one address with
// port 0 is offered to the core first; while no candidate or BIND exists, listen and accept
// cost one load, getsockname two (a tunnel answers the address its proxy connects from).
#define _GNU_SOURCE
#include "socksify_shim.h"
#include <netinet/in.h>

static int watching(void) { return __atomic_load_n(&sx_bind_watch, __ATOMIC_ACQUIRE) != 0 && sx_shim_started(); }

// A specific address (not the wildcard) with port 0: where an FTP client listens for the data
// connection it announces with PORT. A server's fixed port is never a candidate.
static int candidate(const struct sockaddr *address, socklen_t length) {
    if (address == NULL) return 0;
    if (address->sa_family == AF_INET && length >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)address;
        return a->sin_port == 0 && a->sin_addr.s_addr != htonl(INADDR_ANY);
    }
    if (address->sa_family == AF_INET6 && length >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)address;
        return a->sin6_port == 0 && !IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr);
    }
    return 0;
}

SX_EXPORT int bind(int fd, const struct sockaddr *address, socklen_t length) {
    if (candidate(address, length) && sx_shim_ready()) {
        int result = sx_core_bind(fd, address, length);
        if (result != SX_PASS) return result;
    }
    return sx_real_bind(fd, address, length);
}

SX_EXPORT int listen(int fd, int backlog) {
    if (watching()) {
        int result = sx_core_listen(fd, backlog);
        if (result != SX_PASS) return result;
    }
    return sx_real_listen(fd, backlog);
}

SX_EXPORT int accept(int fd, struct sockaddr *address, socklen_t *length) {
    if (watching()) {
        int result = sx_core_accept(fd, address, length, 0);
        if (result != SX_PASS) return result;
    }
    return sx_real_accept(fd, address, length);
}

SX_EXPORT int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags) {
    if (watching()) {
        int result = sx_core_accept(fd, address, length, flags);
        if (result != SX_PASS) return result;
    }
    return sx_real_accept4(fd, address, length, flags);
}

SX_EXPORT int getsockname(int fd, struct sockaddr *address, socklen_t *length) {
    if (watching() || (sx_shim_started() && (sx_fd_facts(fd) & SX_FACT_PEER))) {
        int result = sx_core_getsockname(fd, address, length);
        if (result != SX_PASS) return result;
    }
    return sx_real_getsockname(fd, address, length);
}
