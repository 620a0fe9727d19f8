// Pointers to the real libc functions, found with dlsym(RTLD_NEXT) on first use.
// Inside libsocksify.so, RTLD_NEXT skips our own interposers; in the test binary it finds libc.
//
// Each pointer, sx_next_NAME, starts out pointing at a stub that resolves the real function,
// stores it over itself and calls it: nothing runs at load time (the loader only fills in the
// stub's address), and after the first call sx_real_NAME is a single indirect jump, with no
// test for "not resolved yet" on the way. Racing first calls store the same value.
#define _GNU_SOURCE
#include "socksify_libc.h"
#include <dlfcn.h>

#define REAL(name, ret, params, args)                                                    \
    static ret first_##name params;                                                      \
    __attribute__((visibility("hidden"))) ret (*sx_next_##name) params = first_##name;   \
    static ret first_##name params {                                                     \
        ret (*fn) params = (ret (*) params)dlsym(RTLD_NEXT, #name);                      \
        __atomic_store_n(&sx_next_##name, fn, __ATOMIC_RELAXED);                         \
        return fn args;                                                                  \
    }                                                                                    \
    ret sx_real_##name params { return __atomic_load_n(&sx_next_##name, __ATOMIC_RELAXED) args; }

REAL(socket, int, (int d, int t, int p), (d, t, p))
REAL(connect, int, (int fd, const struct sockaddr *a, socklen_t l), (fd, a, l))
REAL(close, int, (int fd), (fd))
REAL(dup2, int, (int o, int n), (o, n))
REAL(dup3, int, (int o, int n, int f), (o, n, f))
REAL(send, ssize_t, (int fd, const void *b, size_t n, int f), (fd, b, n, f))
REAL(recv, ssize_t, (int fd, void *b, size_t n, int f), (fd, b, n, f))
REAL(poll, int, (struct pollfd *p, nfds_t n, int t), (p, n, t))
REAL(getpeername, int, (int fd, struct sockaddr *a, socklen_t *l), (fd, a, l))
REAL(getaddrinfo, int, (const char *n, const char *s, const struct addrinfo *h, struct addrinfo **r), (n, s, h, r))
REAL(getnameinfo, int, (const struct sockaddr *a, socklen_t l, char *h, socklen_t hl, char *s, socklen_t sl, int f),
     (a, l, h, hl, s, sl, f))
REAL(gethostbyname2_r, int,
     (const char *n, int f, struct hostent *r, char *b, size_t bl, struct hostent **res, int *e), (n, f, r, b, bl, res, e))
REAL(gethostbyaddr_r, int,
     (const void *a, socklen_t l, int t, struct hostent *r, char *b, size_t bl, struct hostent **res, int *e),
     (a, l, t, r, b, bl, res, e))
REAL(gethostbyname, struct hostent *, (const char *n), (n))
REAL(gethostbyname2, struct hostent *, (const char *n, int f), (n, f))
REAL(gethostbyaddr, struct hostent *, (const void *a, socklen_t l, int t), (a, l, t))
REAL(sendto, ssize_t, (int fd, const void *b, size_t n, int f, const struct sockaddr *a, socklen_t l), (fd, b, n, f, a, l))
REAL(sendmsg, ssize_t, (int fd, const struct msghdr *m, int f), (fd, m, f))
REAL(sendmmsg, int, (int fd, struct mmsghdr *m, unsigned int n, int f), (fd, m, n, f))
REAL(recvfrom, ssize_t, (int fd, void *b, size_t n, int f, struct sockaddr *a, socklen_t *l), (fd, b, n, f, a, l))
REAL(recvmsg, ssize_t, (int fd, struct msghdr *m, int f), (fd, m, f))
REAL(bind, int, (int fd, const struct sockaddr *a, socklen_t l), (fd, a, l))
REAL(listen, int, (int fd, int b), (fd, b))
REAL(accept, int, (int fd, struct sockaddr *a, socklen_t *l), (fd, a, l))
REAL(accept4, int, (int fd, struct sockaddr *a, socklen_t *l, int f), (fd, a, l, f))
REAL(getsockname, int, (int fd, struct sockaddr *a, socklen_t *l), (fd, a, l))
REAL(read, ssize_t, (int fd, void *b, size_t n), (fd, b, n))
REAL(write, ssize_t, (int fd, const void *b, size_t n), (fd, b, n))
REAL(dup, int, (int fd), (fd))
REAL(getsockopt, int, (int fd, int l, int n, void *v, socklen_t *len), (fd, l, n, v, len))
REAL(setsockopt, int, (int fd, int l, int n, const void *v, socklen_t len), (fd, l, n, v, len))
// The waits an asynchronous tunnel moves on in (CShim/waits.c, CShim/epoll.c).
REAL(ppoll, int, (struct pollfd *p, nfds_t n, const struct timespec *t, const sigset_t *m), (p, n, t, m))
REAL(select, int, (int n, fd_set *r, fd_set *w, fd_set *x, struct timeval *t), (n, r, w, x, t))
REAL(pselect, int, (int n, fd_set *r, fd_set *w, fd_set *x, const struct timespec *t, const sigset_t *m), (n, r, w, x, t, m))
REAL(epoll_ctl, int, (int e, int op, int fd, struct epoll_event *v), (e, op, fd, v))
REAL(epoll_wait, int, (int e, struct epoll_event *v, int n, int t), (e, v, n, t))
REAL(epoll_pwait, int, (int e, struct epoll_event *v, int n, int t, const sigset_t *m), (e, v, n, t, m))
REAL(epoll_pwait2, int, (int e, struct epoll_event *v, int n, const struct timespec *t, const sigset_t *m), (e, v, n, t, m))
REAL(__poll_chk, int, (struct pollfd *p, nfds_t n, int t, size_t r), (p, n, t, r))
REAL(__ppoll_chk, int, (struct pollfd *p, nfds_t n, const struct timespec *t, const sigset_t *m, size_t r), (p, n, t, m, r))
REAL(readv, ssize_t, (int fd, const struct iovec *v, int n), (fd, v, n))
REAL(writev, ssize_t, (int fd, const struct iovec *v, int n), (fd, v, n))

// freeaddrinfo returns nothing, which the macro's `return fn args;` cannot express in C.
static void first_freeaddrinfo(struct addrinfo *r);
__attribute__((visibility("hidden"))) void (*sx_next_freeaddrinfo)(struct addrinfo *) = first_freeaddrinfo;
static void first_freeaddrinfo(struct addrinfo *r) {
    void (*fn)(struct addrinfo *) = (void (*)(struct addrinfo *))dlsym(RTLD_NEXT, "freeaddrinfo");
    __atomic_store_n(&sx_next_freeaddrinfo, fn, __ATOMIC_RELAXED);
    fn(r);
}
void sx_real_freeaddrinfo(struct addrinfo *r) { __atomic_load_n(&sx_next_freeaddrinfo, __ATOMIC_RELAXED)(r); }

void *sx_real_symbol(const char *name) { return dlsym(RTLD_NEXT, name); }

// fcntl is variadic: its pointer keeps that type (the third argument as a long, as the kernel reads it).
int sx_real_fcntl(int fd, int command, long argument) {
    static int (*real)(int, int, ...);
    int (*fn)(int, int, ...) = __atomic_load_n(&real, __ATOMIC_RELAXED);
    if (fn == NULL) {
        fn = (int (*)(int, int, ...))dlsym(RTLD_NEXT, "fcntl");
        __atomic_store_n(&real, fn, __ATOMIC_RELAXED);
    }
    return fn(fd, command, argument);
}
