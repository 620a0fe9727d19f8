// poll(2), ppoll(2), select(2), pselect(2): where a non-blocking program waits for its
// connecting sockets, and so where an asynchronous tunnel moves on (Shim+Async.swift). While
// no tunnel is going, each costs one load and a jump to libc. Otherwise a tunnel's socket is
// waited for what the exchange needs (writable, then readable for each reply), each step is
// taken when the kernel says so, and the program is told only what it would be told of a plain
// connecting socket: nothing until the tunnel is up (then the kernel's own answer), or an error.
#define _GNU_SOURCE
#include "socksify_shim.h"
#include <stdint.h>
#include <sys/mman.h>

// The tunnels one wait keeps on its stack; a wait with more maps room for all of them (a
// tunnel left with the program's events would be reported writable long before it is up).
#define SX_WAIT_TUNNELS 64

struct wait_tunnel { nfds_t index; short events; uint64_t deadline; int need; };

static int watched_poll_in(struct pollfd *fds, nfds_t count, uint64_t end, const sigset_t *mask,
                           struct wait_tunnel *tunnels, nfds_t room);

// poll over `fds`, with tunnels' sockets waited for their exchange. `end`: the program's
// deadline (UINT64_MAX: none).
static int watched_poll(struct pollfd *fds, nfds_t count, uint64_t end, const sigset_t *mask) {
    struct wait_tunnel some[SX_WAIT_TUNNELS];
    nfds_t pending = 0;
    for (nfds_t i = 0; i < count; i++) pending += fds[i].fd >= 0 && sx_pending_marked(fds[i].fd);
    if (pending <= SX_WAIT_TUNNELS) return watched_poll_in(fds, count, end, mask, some, SX_WAIT_TUNNELS);
    size_t size = pending * sizeof(struct wait_tunnel);
    void *many = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);  // async-signal-safe, unlike malloc
    if (many == MAP_FAILED) return watched_poll_in(fds, count, end, mask, some, SX_WAIT_TUNNELS);
    int result = watched_poll_in(fds, count, end, mask, many, pending);
    int saved_errno = errno;
    munmap(many, size);
    errno = saved_errno;
    return result;
}

static int watched_poll_in(struct pollfd *fds, nfds_t count, uint64_t end, const sigset_t *mask,
                           struct wait_tunnel *tunnels, nfds_t room) {
    for (;;) {
        nfds_t n = 0;
        uint64_t wake = end;
        for (nfds_t i = 0; i < count && n < room; i++) {
            int fd = fds[i].fd;
            if (fd < 0 || !sx_pending_marked(fd)) continue;
            uint64_t deadline = UINT64_MAX;
            int need = sx_core_async_need(fd, &deadline);
            if (need == 0) continue;
            tunnels[n].index = i;
            tunnels[n].events = fds[i].events;
            tunnels[n].deadline = deadline;
            tunnels[n].need = need;
            n++;
            fds[i].events = need == 1 ? POLLOUT : need == 2 ? POLLIN : 0;
            if (need == 3) wake = 0;  // failed: the program hears it now
            if (deadline < wake) wake = deadline;
        }
        struct timespec left = sx_time_left(wake);
        int ready = sx_real_ppoll(fds, count, wake == UINT64_MAX ? NULL : &left, mask);
        int saved_errno = errno;
        int visible = ready > 0 ? ready : 0, ended = 0;
        uint64_t now = sx_monotonic_ns();
        for (nfds_t t = 0; t < n; t++) {
            struct pollfd *p = &fds[tunnels[t].index];
            short wanted = tunnels[t].events, got = ready > 0 ? p->revents : 0;
            p->events = wanted;
            if (got) visible--;
            int state = 1;
            if (tunnels[t].need == 3) state = 3;
            else if (got || now >= tunnels[t].deadline) state = sx_core_async_step(p->fd);
            p->revents = 0;
            if (state == 0 || state == 2) ended = 1;  // up, or ended by another thread: the kernel answers now
            if (state == 3) {  // as a failed connect: an error, hung up, readable and writable if asked
                p->revents = (short)(POLLERR | POLLHUP | (wanted & (POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM)));
                visible++;
            }
        }
        if (ready < 0) {
            errno = saved_errno;
            return ready;
        }
        if (visible > 0) return visible;
        if (ended) continue;  // the kernel now answers for the finished socket itself
        if (now >= end) return 0;
    }
}

SX_EXPORT int poll(struct pollfd *fds, nfds_t count, int timeout_ms) {
    if (!sx_waits_watching()) return sx_real_poll(fds, count, timeout_ms);
    struct timespec t = {.tv_sec = timeout_ms / 1000, .tv_nsec = (long)(timeout_ms % 1000) * 1000000};
    return watched_poll(fds, count, sx_deadline_after_ms(timeout_ms), NULL);
}
SX_EXPORT int __poll(struct pollfd *fds, nfds_t count, int timeout_ms) __attribute__((alias("poll")));

SX_EXPORT int ppoll(struct pollfd *fds, nfds_t count, const struct timespec *timeout, const sigset_t *mask) {
    if (!sx_waits_watching() || !sx_timeout_valid(timeout)) return sx_real_ppoll(fds, count, timeout, mask);
    return watched_poll(fds, count, sx_deadline_after(timeout), mask);
}

// The _FORTIFY_SOURCE forms, which call libc's poll inside libc: checked as libc checks them
// (an overflowing array aborts there), then waited for here.
SX_EXPORT int __poll_chk(struct pollfd *fds, nfds_t count, int timeout_ms, size_t room) {
    if (room / sizeof(*fds) < count || !sx_waits_watching()) {
        return sx_real___poll_chk(fds, count, timeout_ms, room);
    }
    return poll(fds, count, timeout_ms);
}

SX_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t count, const struct timespec *timeout, const sigset_t *mask, size_t room) {
    if (room / sizeof(*fds) < count || !sx_waits_watching()) {
        return sx_real___ppoll_chk(fds, count, timeout, mask, room);
    }
    return ppoll(fds, count, timeout, mask);
}

// select and pselect: as poll, when a tunnel's socket is among the sets (fd_sets as pollfds).
static int tunnel_in_sets(int nfds, fd_set *r, fd_set *w, fd_set *x) {
    if (nfds > FD_SETSIZE) nfds = FD_SETSIZE;
    for (int fd = 0; fd < nfds; fd++) {
        if (((r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w)) || (x && FD_ISSET(fd, x))) && sx_pending_marked(fd)) return 1;
    }
    return 0;
}

static int watched_select(int nfds, fd_set *r, fd_set *w, fd_set *x, uint64_t end, const sigset_t *mask) {
    if (nfds > FD_SETSIZE) nfds = FD_SETSIZE;
    struct pollfd fds[FD_SETSIZE];
    nfds_t count = 0;
    for (int fd = 0; fd < nfds; fd++) {
        short events = (short)((r && FD_ISSET(fd, r) ? POLLIN : 0) | (w && FD_ISSET(fd, w) ? POLLOUT : 0) |
                               (x && FD_ISSET(fd, x) ? POLLPRI : 0));
        if (events) fds[count++] = (struct pollfd){.fd = fd, .events = events};
    }
    int ready = watched_poll(fds, count, end, mask);
    if (ready < 0) return ready;
    for (nfds_t i = 0; i < count; i++) {
        if (fds[i].revents & POLLNVAL) {
            errno = EBADF;
            return -1;
        }
    }
    if (r) FD_ZERO(r);
    if (w) FD_ZERO(w);
    if (x) FD_ZERO(x);
    int bits = 0;
    for (nfds_t i = 0; i < count; i++) {
        short got = fds[i].revents, asked = fds[i].events;
        int fd = fds[i].fd;
        // As the kernel's select: readable on data, hang-up or error; writable on room or error.
        if ((asked & POLLIN) && (got & (POLLIN | POLLHUP | POLLERR))) { FD_SET(fd, r); bits++; }
        if ((asked & POLLOUT) && (got & (POLLOUT | POLLERR))) { FD_SET(fd, w); bits++; }
        if ((asked & POLLPRI) && (got & POLLPRI)) { FD_SET(fd, x); bits++; }
    }
    return bits;
}

SX_EXPORT int select(int nfds, fd_set *r, fd_set *w, fd_set *x, struct timeval *timeout) {
    // Sets past FD_SETSIZE (programs that allocate larger ones) and a timeout the kernel refuses
    // are the kernel's to answer, as they are.
    int refused = timeout && (timeout->tv_sec < 0 || timeout->tv_usec < 0 || timeout->tv_usec >= 1000000);
    if (!sx_waits_watching() || nfds > FD_SETSIZE || refused || !tunnel_in_sets(nfds, r, w, x)) return sx_real_select(nfds, r, w, x, timeout);
    uint64_t end = UINT64_MAX;
    if (timeout) {
        struct timespec t = {.tv_sec = timeout->tv_sec, .tv_nsec = timeout->tv_usec * 1000};
        end = sx_deadline_after(&t);
    }
    int ready = watched_select(nfds, r, w, x, end, NULL);
    if (timeout) {  // Linux's select leaves the time not slept
        struct timespec left = sx_time_left(end);
        timeout->tv_sec = left.tv_sec;
        timeout->tv_usec = left.tv_nsec / 1000;
    }
    return ready;
}

SX_EXPORT int pselect(int nfds, fd_set *r, fd_set *w, fd_set *x, const struct timespec *timeout, const sigset_t *mask) {
    if (!sx_waits_watching() || nfds > FD_SETSIZE || !sx_timeout_valid(timeout) || !tunnel_in_sets(nfds, r, w, x))
        return sx_real_pselect(nfds, r, w, x, timeout, mask);
    return watched_select(nfds, r, w, x, sx_deadline_after(timeout), mask);
}
