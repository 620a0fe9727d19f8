// Pointers to the real libc functions, found with dlsym(RTLD_NEXT) on first use.
// Inside libsocksify.so, RTLD_NEXT skips our own interposers; in the test binary it finds libc.
#define _GNU_SOURCE
#include "socksify_libc.h"
#include <dlfcn.h>
#include <stdatomic.h>

// Resolve a symbol once per call site; racing threads store the same value, so a relaxed
// atomic pointer is enough.
#define REAL(name, type)                                                        \
    static _Atomic(type) real_##name;                                           \
    static type resolve_##name(void) {                                          \
        type fn = atomic_load_explicit(&real_##name, memory_order_relaxed);     \
        if (fn == NULL) {                                                       \
            fn = (type)dlsym(RTLD_NEXT, #name);                                 \
            atomic_store_explicit(&real_##name, fn, memory_order_relaxed);      \
        }                                                                       \
        return fn;                                                              \
    }

typedef int (*socket_fn)(int, int, int);
typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);
typedef int (*close_fn)(int);
typedef int (*dup2_fn)(int, int);
typedef int (*dup3_fn)(int, int, int);
typedef ssize_t (*send_fn)(int, const void *, size_t, int);
typedef ssize_t (*recv_fn)(int, void *, size_t, int);
typedef int (*poll_fn)(struct pollfd *, nfds_t, int);
typedef int (*getpeername_fn)(int, struct sockaddr *, socklen_t *);
typedef int (*getaddrinfo_fn)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
typedef void (*freeaddrinfo_fn)(struct addrinfo *);

typedef int (*getnameinfo_fn)(const struct sockaddr *, socklen_t, char *, socklen_t, char *, socklen_t, int);
typedef int (*gethostbyname2_r_fn)(const char *, int, struct hostent *, char *, size_t, struct hostent **, int *);
typedef int (*gethostbyaddr_r_fn)(const void *, socklen_t, int, struct hostent *, char *, size_t, struct hostent **, int *);
typedef struct hostent *(*gethostbyname_fn)(const char *);
typedef struct hostent *(*gethostbyname2_fn)(const char *, int);
typedef struct hostent *(*gethostbyaddr_fn)(const void *, socklen_t, int);
typedef ssize_t (*sendto_fn)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
typedef ssize_t (*sendmsg_fn)(int, const struct msghdr *, int);
typedef int (*sendmmsg_fn)(int, struct mmsghdr *, unsigned int, int);

REAL(getnameinfo, getnameinfo_fn)
REAL(gethostbyname2_r, gethostbyname2_r_fn)
REAL(gethostbyaddr_r, gethostbyaddr_r_fn)
REAL(gethostbyname, gethostbyname_fn)
REAL(gethostbyname2, gethostbyname2_fn)
REAL(gethostbyaddr, gethostbyaddr_fn)
REAL(sendto, sendto_fn)
REAL(sendmsg, sendmsg_fn)
REAL(sendmmsg, sendmmsg_fn)
typedef ssize_t (*recvfrom_fn)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
typedef ssize_t (*recvmsg_fn)(int, struct msghdr *, int);
typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);
REAL(recvfrom, recvfrom_fn)
REAL(recvmsg, recvmsg_fn)
REAL(bind, bind_fn)
typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);
REAL(read, read_fn)
REAL(write, write_fn)
REAL(socket, socket_fn)
REAL(connect, connect_fn)
REAL(close, close_fn)
REAL(dup2, dup2_fn)
REAL(dup3, dup3_fn)
REAL(send, send_fn)
REAL(recv, recv_fn)
REAL(poll, poll_fn)
REAL(getpeername, getpeername_fn)
REAL(getaddrinfo, getaddrinfo_fn)
REAL(freeaddrinfo, freeaddrinfo_fn)

int sx_real_socket(int d, int t, int p) { return resolve_socket()(d, t, p); }
int sx_real_connect(int fd, const struct sockaddr *a, socklen_t l) { return resolve_connect()(fd, a, l); }
int sx_real_close(int fd) { return resolve_close()(fd); }
int sx_real_dup2(int o, int n) { return resolve_dup2()(o, n); }
int sx_real_dup3(int o, int n, int f) { return resolve_dup3()(o, n, f); }
ssize_t sx_real_send(int fd, const void *b, size_t n, int f) { return resolve_send()(fd, b, n, f); }
ssize_t sx_real_recv(int fd, void *b, size_t n, int f) { return resolve_recv()(fd, b, n, f); }
int sx_real_poll(struct pollfd *p, nfds_t n, int t) { return resolve_poll()(p, n, t); }
int sx_real_getpeername(int fd, struct sockaddr *a, socklen_t *l) { return resolve_getpeername()(fd, a, l); }
int sx_real_getaddrinfo(const char *n, const char *s, const struct addrinfo *h, struct addrinfo **r) {
    return resolve_getaddrinfo()(n, s, h, r);
}
void sx_real_freeaddrinfo(struct addrinfo *r) { resolve_freeaddrinfo()(r); }
int sx_real_getnameinfo(const struct sockaddr *a, socklen_t l, char *h, socklen_t hl, char *s, socklen_t sl, int f) {
    return resolve_getnameinfo()(a, l, h, hl, s, sl, f);
}
int sx_real_gethostbyname2_r(const char *n, int f, struct hostent *r, char *b, size_t bl, struct hostent **res, int *e) {
    return resolve_gethostbyname2_r()(n, f, r, b, bl, res, e);
}
int sx_real_gethostbyaddr_r(const void *a, socklen_t l, int t, struct hostent *r, char *b, size_t bl,
                            struct hostent **res, int *e) {
    return resolve_gethostbyaddr_r()(a, l, t, r, b, bl, res, e);
}
struct hostent *sx_real_gethostbyname(const char *n) { return resolve_gethostbyname()(n); }
struct hostent *sx_real_gethostbyname2(const char *n, int f) { return resolve_gethostbyname2()(n, f); }
struct hostent *sx_real_gethostbyaddr(const void *a, socklen_t l, int t) { return resolve_gethostbyaddr()(a, l, t); }
ssize_t sx_real_sendto(int fd, const void *b, size_t n, int f, const struct sockaddr *a, socklen_t l) {
    return resolve_sendto()(fd, b, n, f, a, l);
}
ssize_t sx_real_sendmsg(int fd, const struct msghdr *m, int f) { return resolve_sendmsg()(fd, m, f); }
int sx_real_sendmmsg(int fd, struct mmsghdr *m, unsigned int n, int f) { return resolve_sendmmsg()(fd, m, n, f); }
void *sx_real_symbol(const char *name) { return dlsym(RTLD_NEXT, name); }
ssize_t sx_real_recvfrom(int fd, void *b, size_t n, int f, struct sockaddr *a, socklen_t *l) {
    return resolve_recvfrom()(fd, b, n, f, a, l);
}
ssize_t sx_real_recvmsg(int fd, struct msghdr *m, int f) { return resolve_recvmsg()(fd, m, f); }
int sx_real_bind(int fd, const struct sockaddr *a, socklen_t l) { return resolve_bind()(fd, a, l); }
ssize_t sx_real_read(int fd, void *b, size_t n) { return resolve_read()(fd, b, n); }
ssize_t sx_real_write(int fd, const void *b, size_t n) { return resolve_write()(fd, b, n); }
