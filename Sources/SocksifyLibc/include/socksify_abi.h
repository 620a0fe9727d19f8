// The one boundary between the C interposers (Sources/CShim) and the Swift core: the entry
// points Sources/ShimCore/Exports.swift defines with @_cdecl, and the values both sides read.
// Swift imports this header too, so SX_PASS is written once.
#ifndef SOCKSIFY_ABI_H
#define SOCKSIFY_ABI_H

#include "socksify_libc.h"

// Swift core entry points.
void sx_core_init(void);
// At load (a constructor): attach the run's shared name map so this process counts as using it.
void sx_core_hold_name_map(void);
int sx_core_connect(int fd, const struct sockaddr *address, socklen_t length);
int sx_core_getpeername(int fd, struct sockaddr *address, socklen_t *length);
int sx_core_resolve(const char *name, int family, sx_resolution *out);
int sx_core_reverse(int family, const unsigned char *bytes, sx_resolution *out);
// Datagrams: -2 (SX_PASS) means "not ours: call libc with the program's arguments".
#define SX_PASS (-2)
ssize_t sx_core_sendmsg(int fd, const struct msghdr *message, int flags);
ssize_t sx_core_recvmsg(int fd, struct msghdr *message, int flags);
void sx_core_udp_close(int fd);
// A socket whose tunnel a signal interrupted (sx_pending_marked): getsockopt(SO_ERROR) finishes
// it and answers its outcome; a dup finishes it first; a close forgets it.
int sx_core_socket_error(int fd);
void sx_core_settle(int fd);
void sx_core_forget_interrupted(int fd);
void sx_core_udp_dup(int fd, int copy);
// Asynchronous tunnels, for the wait interposers (Shim+Async.swift): what one waits for (0 not
// such a socket, 1 writable, 2 readable, 3 failed and not yet reported) and its deadline on the
// monotonic clock; one step when it is ready (0 up, 1 still going, 3 failed); the soonest
// deadline of all (UINT64_MAX: none), and a step for every tunnel past its deadline.
int sx_core_async_need(int fd, uint64_t *deadline);
int sx_core_async_step(int fd);
uint64_t sx_core_async_soonest(void);
void sx_core_async_expire(void);
// socket(2) for every family but Unix and netlink: judged (SocketVerdict), made, and an IP
// socket's transport noted (sx_fd_facts) so its connect need not ask the kernel.
int sx_core_socket(int domain, int type, int protocol);
// After a dup: copy has fd's proxied peer too.
void sx_core_peer_dup(int fd, int copy);
int sx_core_check_io_uring(void);
// The program is about to close or replace a descriptor the shim owns: the shim moves it away.
void sx_core_relocate_own(int fd);
int sx_core_resolver_call_refused(const char *function);
// 1: no name lookup may leave directly (names resolved by a proxy, or strict mode).
int sx_core_names_kept_in(void);
void sx_core_note_local_answer(const char *name, int family, const unsigned char *bytes);
// SOCKS5 BIND (Shim+Bind.swift): a bind to a specific address with port 0 is offered first (0:
// taken, the address is the one a tunnel's proxy connects from); its getsockname or listen then
// makes a BIND through the proxy; accept, getsockname (also of tunnels: the proxy's BND) and
// close of such a socket go to the core. SX_PASS: not ours, call libc.
int sx_core_bind(int fd, const struct sockaddr *address, socklen_t length);
int sx_core_listen(int fd, int backlog);
int sx_core_accept(int fd, struct sockaddr *address, socklen_t *length, int flags);
int sx_core_getsockname(int fd, struct sockaddr *address, socklen_t *length);
void sx_core_bind_forget(int fd);
// A connect on a candidate or on a BIND not listening yet: it was no listener.
void sx_core_bind_release(int fd);

#endif
