// The libc surface the Swift core uses, for both its compilations (Embedded Swift has no Glibc
// module). Calls the shim also interposes go through sx_real_*: pointers found with
// dlsym(RTLD_NEXT), so the core never re-enters its own interposers.
#ifndef SOCKSIFY_LIBC_H
#define SOCKSIFY_LIBC_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

// Real libc calls (resolved once, lazily, thread-safe).
int sx_real_socket(int domain, int type, int protocol);
int sx_real_connect(int fd, const struct sockaddr *addr, socklen_t len);
int sx_real_close(int fd);
int sx_real_dup2(int oldfd, int newfd);
int sx_real_dup3(int oldfd, int newfd, int flags);
ssize_t sx_real_send(int fd, const void *buf, size_t len, int flags);
ssize_t sx_real_recv(int fd, void *buf, size_t len, int flags);
int sx_real_poll(struct pollfd *fds, nfds_t count, int timeout_ms);
int sx_real_getpeername(int fd, struct sockaddr *addr, socklen_t *len);
int sx_real_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                        struct addrinfo **result);
void sx_real_freeaddrinfo(struct addrinfo *result);

// Small wrappers for what Swift cannot call directly (variadic fcntl, errno, globals).
int sx_errno(void);
void sx_set_errno(int value);
int sx_get_status_flags(int fd);                 // fcntl(F_GETFL)
int sx_set_status_flags(int fd, int flags);      // fcntl(F_SETFL)
int sx_get_descriptor_flags(int fd);             // fcntl(F_GETFD)
int sx_socket_type(int fd);                      // getsockopt(SO_TYPE), -1 if not a socket
int sx_socket_domain(int fd);                    // getsockopt(SO_DOMAIN), -1 if not a socket
int sx_socket_error(int fd);                     // getsockopt(SO_ERROR), or errno on failure
int sx_socket_v6only(int fd);                    // getsockopt(IPV6_V6ONLY)
int sx_shutdown_both(int fd);                    // shutdown(SHUT_RDWR)
uint64_t sx_monotonic_ns(void);
const char *sx_program_name(void);               // program_invocation_short_name
const char *sx_getenv(const char *name);         // secure_getenv: nothing for setuid programs
int sx_is_secure_mode(void);                     // AT_SECURE: setuid/setgid/capabilities
void sx_write_stderr(const void *bytes, size_t count);

// One process-wide lock that survives fork (held across fork, re-initialised in the child).
void sx_lock(void);
void sx_unlock(void);

#endif
