// The descriptor side of asynchronous tunnels (Sources/SocksifyCore/Shim/Shim+Async.swift):
// how many there are, so every wait interposer costs one load while there are none, and each
// TCP socket's latest epoll registration, so a tunnel can borrow it while it runs (the kernel
// then wakes the program's epoll_wait for the tunnel's own steps, under a tag the interposer
// recognises) and give it back when it ends.
#define _GNU_SOURCE
#include "socksify_libc.h"
#include <sys/epoll.h>
#include <sys/mman.h>

__attribute__((visibility("hidden"))) int sx_async_tunnels;

void sx_async_tunnels_set(int count) { __atomic_store_n(&sx_async_tunnels, count, __ATOMIC_RELEASE); }

__attribute__((visibility("hidden"))) int sx_bind_watch;
void sx_bind_watch_set(int count) { __atomic_store_n(&sx_bind_watch, count, __ATOMIC_RELEASE); }

struct registration {
    int epfd_plus_one;  // 0: none
    uint32_t events;
    uint64_t data;
};

// One slot per descriptor number, mapped on the first registration of a TCP socket; only the
// pages of the numbers in use become resident. A socket in two epoll sets keeps the latest.
static struct registration *table;
static int registration_of(int fd, struct registration *out);
static int lock;
static int registration_of(int fd, struct registration *out);

static struct registration *slot(int fd, int create) {
    if (fd < 0 || fd >= SX_UDP_MARKS) return NULL;
    struct registration *t = __atomic_load_n(&table, __ATOMIC_ACQUIRE);
    if (t == NULL && create) {
        void *fresh = mmap(NULL, sizeof(struct registration) * SX_UDP_MARKS, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (fresh == MAP_FAILED) return NULL;
        struct registration *expected = NULL;
        if (__atomic_compare_exchange_n(&table, &expected, fresh, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
            t = fresh;
        } else {
            munmap(fresh, sizeof(struct registration) * SX_UDP_MARKS);
            t = expected;
        }
    }
    return t == NULL ? NULL : &t[fd];
}

static void take_lock(void) {
    while (__atomic_exchange_n(&lock, 1, __ATOMIC_ACQUIRE)) {}
}
static void drop_lock(void) { __atomic_store_n(&lock, 0, __ATOMIC_RELEASE); }

void sx_epoll_note(int epfd, int op, int fd, const struct epoll_event *event) {
    struct registration *r = slot(fd, op != EPOLL_CTL_DEL);
    if (r == NULL) return;
    take_lock();
    if (op == EPOLL_CTL_DEL) {
        if (r->epfd_plus_one == epfd + 1) r->epfd_plus_one = 0;
    } else if (event != NULL) {
        r->epfd_plus_one = epfd + 1;
        r->events = event->events;
        r->data = event->data.u64;
    }
    drop_lock();
    if (op != EPOLL_CTL_DEL) sx_fd_facts_set(fd, SX_FACT_EPOLL, SX_FACT_EPOLL);
}

// A socket whose tunnel runs is registered in another set: the set noted so far carries the
// tunnel's tagged registration, which only the noted set gets back; give it the program's now
// (it may then report the socket early, as documented) rather than leave the tag there.
void sx_epoll_release_other(int epfd, int fd) {
    struct registration r;
    if (!registration_of(fd, &r) || r.epfd_plus_one == epfd + 1) return;
    struct epoll_event theirs = {.events = r.events, .data.u64 = r.data};
    sx_real_epoll_ctl(r.epfd_plus_one - 1, EPOLL_CTL_MOD, fd, &theirs);
}

// A tagged registration with no tunnel behind it (its socket's number was closed while a copy
// kept the registration alive): the program's own back if it was in this set, else quiet, so
// the wait neither spins on it nor hands the tag to the program.
void sx_epoll_silence(int epfd, int fd) {
    struct registration r;
    struct epoll_event quiet = {.events = 0, .data.u64 = 0};
    if (registration_of(fd, &r) && r.epfd_plus_one == epfd + 1) {
        quiet.events = r.events;
        quiet.data.u64 = r.data;
    }
    sx_real_epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &quiet);
}

void sx_epoll_forget(int fd) {
    struct registration *r = slot(fd, 0);
    if (r == NULL) return;
    take_lock();
    r->epfd_plus_one = 0;
    drop_lock();
}

static int registration_of(int fd, struct registration *out) {
    struct registration *r = slot(fd, 0);
    if (r == NULL) return 0;
    take_lock();
    *out = *r;
    drop_lock();
    return out->epfd_plus_one != 0;
}

void sx_epoll_arm(int fd, int need) {
    struct registration r;
    if (!registration_of(fd, &r)) return;
    struct epoll_event ours = {.events = need == 1 ? EPOLLOUT : EPOLLIN, .data.u64 = SX_EPOLL_TAG | (uint32_t)fd};
    sx_real_epoll_ctl(r.epfd_plus_one - 1, EPOLL_CTL_MOD, fd, &ours);
}

void sx_epoll_restore(int fd) {
    struct registration r;
    if (!registration_of(fd, &r)) return;
    struct epoll_event theirs = {.events = r.events, .data.u64 = r.data};
    sx_real_epoll_ctl(r.epfd_plus_one - 1, EPOLL_CTL_MOD, fd, &theirs);
}
