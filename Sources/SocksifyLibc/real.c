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
#include <unistd.h>
#include <fcntl.h>

#define REAL(name, ret, params, args)                                                    \
    static ret first_##name params;                                                      \
    __attribute__((visibility("hidden"))) ret (*sx_next_##name) params = first_##name;   \
    static ret first_##name params {                                                     \
        ret (*fn) params = (ret (*) params)dlsym(RTLD_NEXT, #name);                      \
        __atomic_store_n(&sx_next_##name, fn, __ATOMIC_RELAXED);                         \
        return fn args;                                                                  \
    }                                                                                    \
    ret sx_real_##name params { return __atomic_load_n(&sx_next_##name, __ATOMIC_RELAXED) args; }

// Every function, for REAL and for sx_real_use_linked_libc. Among them, the waits an
// asynchronous tunnel moves on in (CShim/waits.c, CShim/epoll.c).
#define SX_REAL_FUNCTIONS(X) \
    X(socket, int, (int d, int t, int p), (d, t, p)) \
    X(connect, int, (int fd, const struct sockaddr *a, socklen_t l), (fd, a, l)) \
    X(close, int, (int fd), (fd)) \
    X(dup2, int, (int o, int n), (o, n)) \
    X(dup3, int, (int o, int n, int f), (o, n, f)) \
    X(send, ssize_t, (int fd, const void *b, size_t n, int f), (fd, b, n, f)) \
    X(recv, ssize_t, (int fd, void *b, size_t n, int f), (fd, b, n, f)) \
    X(poll, int, (struct pollfd *p, nfds_t n, int t), (p, n, t)) \
    X(getpeername, int, (int fd, struct sockaddr *a, socklen_t *l), (fd, a, l)) \
    X(getaddrinfo, int, (const char *n, const char *s, const struct addrinfo *h, struct addrinfo **r), (n, s, h, r)) \
    X(getnameinfo, int, (const struct sockaddr *a, socklen_t l, char *h, socklen_t hl, char *s, socklen_t sl, int f), \
     (a, l, h, hl, s, sl, f)) \
    X(gethostbyname2_r, int, \
     (const char *n, int f, struct hostent *r, char *b, size_t bl, struct hostent **res, int *e), (n, f, r, b, bl, res, e)) \
    X(gethostbyaddr_r, int, \
     (const void *a, socklen_t l, int t, struct hostent *r, char *b, size_t bl, struct hostent **res, int *e), \
     (a, l, t, r, b, bl, res, e)) \
    X(gethostbyname, struct hostent *, (const char *n), (n)) \
    X(gethostbyname2, struct hostent *, (const char *n, int f), (n, f)) \
    X(gethostbyaddr, struct hostent *, (const void *a, socklen_t l, int t), (a, l, t)) \
    X(sendto, ssize_t, (int fd, const void *b, size_t n, int f, const struct sockaddr *a, socklen_t l), (fd, b, n, f, a, l)) \
    X(sendmsg, ssize_t, (int fd, const struct msghdr *m, int f), (fd, m, f)) \
    X(sendmmsg, int, (int fd, struct mmsghdr *m, unsigned int n, int f), (fd, m, n, f)) \
    X(recvfrom, ssize_t, (int fd, void *b, size_t n, int f, struct sockaddr *a, socklen_t *l), (fd, b, n, f, a, l)) \
    X(recvmsg, ssize_t, (int fd, struct msghdr *m, int f), (fd, m, f)) \
    X(bind, int, (int fd, const struct sockaddr *a, socklen_t l), (fd, a, l)) \
    X(listen, int, (int fd, int b), (fd, b)) \
    X(accept, int, (int fd, struct sockaddr *a, socklen_t *l), (fd, a, l)) \
    X(accept4, int, (int fd, struct sockaddr *a, socklen_t *l, int f), (fd, a, l, f)) \
    X(getsockname, int, (int fd, struct sockaddr *a, socklen_t *l), (fd, a, l)) \
    X(read, ssize_t, (int fd, void *b, size_t n), (fd, b, n)) \
    X(write, ssize_t, (int fd, const void *b, size_t n), (fd, b, n)) \
    X(dup, int, (int fd), (fd)) \
    X(getsockopt, int, (int fd, int l, int n, void *v, socklen_t *len), (fd, l, n, v, len)) \
    X(setsockopt, int, (int fd, int l, int n, const void *v, socklen_t len), (fd, l, n, v, len)) \
    X(ppoll, int, (struct pollfd *p, nfds_t n, const struct timespec *t, const sigset_t *m), (p, n, t, m)) \
    X(select, int, (int n, fd_set *r, fd_set *w, fd_set *x, struct timeval *t), (n, r, w, x, t)) \
    X(pselect, int, (int n, fd_set *r, fd_set *w, fd_set *x, const struct timespec *t, const sigset_t *m), (n, r, w, x, t, m)) \
    X(epoll_ctl, int, (int e, int op, int fd, struct epoll_event *v), (e, op, fd, v)) \
    X(epoll_wait, int, (int e, struct epoll_event *v, int n, int t), (e, v, n, t)) \
    X(epoll_pwait, int, (int e, struct epoll_event *v, int n, int t, const sigset_t *m), (e, v, n, t, m)) \
    X(epoll_pwait2, int, (int e, struct epoll_event *v, int n, const struct timespec *t, const sigset_t *m), (e, v, n, t, m)) \
    X(__poll_chk, int, (struct pollfd *p, nfds_t n, int t, size_t r), (p, n, t, r)) \
    X(__ppoll_chk, int, (struct pollfd *p, nfds_t n, const struct timespec *t, const sigset_t *m, size_t r), (p, n, t, m, r)) \
    X(readv, ssize_t, (int fd, const struct iovec *v, int n), (fd, v, n)) \
    X(writev, ssize_t, (int fd, const struct iovec *v, int n), (fd, v, n))

SX_REAL_FUNCTIONS(REAL)

// freeaddrinfo returns nothing, which the macro's `return fn args;` cannot express in C.
static void first_freeaddrinfo(struct addrinfo *r);
__attribute__((visibility("hidden"))) void (*sx_next_freeaddrinfo)(struct addrinfo *) = first_freeaddrinfo;
static void first_freeaddrinfo(struct addrinfo *r) {
    void (*fn)(struct addrinfo *) = (void (*)(struct addrinfo *))dlsym(RTLD_NEXT, "freeaddrinfo");
    __atomic_store_n(&sx_next_freeaddrinfo, fn, __ATOMIC_RELAXED);
    fn(r);
}
void sx_real_freeaddrinfo(struct addrinfo *r) { __atomic_load_n(&sx_next_freeaddrinfo, __ATOMIC_RELAXED)(r); }

// In the static launcher (sx_real_use_linked_libc) the one symbol SocksifyLibc looks up by name.
static long (*linked_syscall)(long, ...);
static int same_name(const char *a, const char *b) {  // not strcmp: one symbol fewer for the library to bind
    while (*a && *a == *b) a++, b++;
    return *a == *b;
}
void *sx_real_symbol(const char *name) {
    void *found = dlsym(RTLD_NEXT, name);
    if (found == NULL && linked_syscall != NULL && same_name(name, "syscall")) return (void *)linked_syscall;
    return found;
}

// fcntl is variadic: its pointer keeps that type (the third argument as a long, as the kernel reads it).
static int (*real_fcntl)(int, int, ...);
int sx_real_fcntl(int fd, int command, long argument) {
    int (*fn)(int, int, ...) = __atomic_load_n(&real_fcntl, __ATOMIC_RELAXED);
    if (fn == NULL) {
        fn = (int (*)(int, int, ...))dlsym(RTLD_NEXT, "fcntl");
        __atomic_store_n(&real_fcntl, fn, __ATOMIC_RELAXED);
    }
    return fn(fd, command, argument);
}

// The launcher is a static executable (it starts in half the time: no loader, no relocations),
// where RTLD_NEXT finds nothing: it calls this first, and sx_real_* call the libc linked in,
// which nothing interposes there. Never called in the library, whose --gc-sections drops it
// and its references to libc's symbols.
// glibc's fortified waits, declared only under _FORTIFY_SOURCE.
extern int __poll_chk(struct pollfd *, nfds_t, int, size_t);
extern int __ppoll_chk(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *, size_t);
#define SX_USE_LINKED(name, ret, params, args) sx_next_##name = name;
void sx_real_use_linked_libc(void) {
    SX_REAL_FUNCTIONS(SX_USE_LINKED)
    sx_next_freeaddrinfo = freeaddrinfo;
    real_fcntl = fcntl;
    linked_syscall = syscall;
    extern void sx_monotonic_use_libc(void);
    sx_monotonic_use_libc();
}
