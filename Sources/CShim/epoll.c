// epoll_ctl(2) and the epoll waits. A TCP socket's registration is noted (async_waits.c) so an
// asynchronous tunnel can borrow it: while the exchange runs, the kernel waits for the
// exchange's step under a tag, the wait interposers take the step and hide the event, and when
// the tunnel ends the program's own registration comes back (a modification, which makes the
// kernel report the socket afresh: edge-triggered registrations get their edge). Other
// descriptors cost one load (epoll_ctl) or one load (the waits, while no tunnel is going).
#define _GNU_SOURCE
#include "socksify_shim.h"
#include <stdint.h>

#define SX_TAG_MASK 0xFFFFFFFF00000000ULL

SX_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event) {
    if ((sx_fd_facts(fd) & SX_FACT_KIND) != (1 << SX_FACT_KIND_SHIFT)) return sx_real_epoll_ctl(epfd, op, fd, event);
    if (op != EPOLL_CTL_DEL && event != NULL && sx_pending_marked(fd) && sx_shim_started()) {
        uint64_t deadline;
        int need = sx_core_async_need(fd, &deadline);
        if (need == 1 || need == 2) {
            // Noted as the program's, given back when the tunnel ends; the kernel waits for the step.
            struct epoll_event ours = {.events = need == 1 ? EPOLLOUT : EPOLLIN, .data.u64 = SX_EPOLL_TAG | (uint32_t)fd};
            int result = sx_real_epoll_ctl(epfd, op, fd, &ours);
            if (result == 0) sx_epoll_release_other(epfd, fd);
            if (result == 0) sx_epoll_note(epfd, op, fd, event);
            return result;
        }
    }
    int result = sx_real_epoll_ctl(epfd, op, fd, event);
    if (result == 0) sx_epoll_note(epfd, op, fd, event);
    return result;
}

// One wait: epoll_pwait2 when the program asked with a timespec, else epoll_pwait in ms.
static int real_wait(int epfd, struct epoll_event *events, int max, uint64_t end, int precise, const sigset_t *mask) {
    if (end == UINT64_MAX) return sx_real_epoll_pwait(epfd, events, max, -1, mask);
    struct timespec t = sx_time_left(end);
    if (precise) return sx_real_epoll_pwait2(epfd, events, max, &t, mask);
    uint64_t left = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec, ms = (left + 999999) / 1000000;
    return sx_real_epoll_pwait(epfd, events, max, ms > INT32_MAX ? INT32_MAX : (int)ms, mask);
}

static int watched_wait(int epfd, struct epoll_event *events, int max, uint64_t end, int precise, const sigset_t *mask) {
    for (;;) {
        uint64_t soonest = sx_core_async_soonest(), wake = soonest < end ? soonest : end;
        int ready = real_wait(epfd, events, max, wake, precise, mask);
        if (ready < 0) return ready;
        int kept = 0, ended = 0;
        for (int i = 0; i < ready; i++) {
            uint64_t data = events[i].data.u64;
            if ((data & SX_TAG_MASK) == SX_EPOLL_TAG) {
                int fd = (int)(uint32_t)data, state = sx_core_async_step(fd);
                if (state == 2) sx_epoll_silence(epfd, fd);  // a tag whose tunnel is gone: never again
                else if (state != 1) ended = 1;
                continue;  // the exchange's step, not the program's event
            }
            events[kept++] = events[i];
        }
        uint64_t now = sx_monotonic_ns();
        if (now >= soonest) {
            sx_core_async_expire();  // tunnels past their deadline fail; their registrations come back
            ended = 1;
        }
        if (kept > 0) return kept;
        if (now >= end && !ended) return 0;
        if (now >= end) end = now;  // one more look, without waiting, at what just ended
    }
}

SX_EXPORT int epoll_wait(int epfd, struct epoll_event *events, int max, int timeout_ms) {
    if (!sx_waits_watching()) return sx_real_epoll_wait(epfd, events, max, timeout_ms);
    return watched_wait(epfd, events, max, sx_deadline_after_ms(timeout_ms), 0, NULL);
}

SX_EXPORT int epoll_pwait(int epfd, struct epoll_event *events, int max, int timeout_ms, const sigset_t *mask) {
    if (!sx_waits_watching()) return sx_real_epoll_pwait(epfd, events, max, timeout_ms, mask);
    return watched_wait(epfd, events, max, sx_deadline_after_ms(timeout_ms), 0, mask);
}

SX_EXPORT int epoll_pwait2(int epfd, struct epoll_event *events, int max, const struct timespec *timeout, const sigset_t *mask) {
    if (!sx_waits_watching() || !sx_timeout_valid(timeout)) return sx_real_epoll_pwait2(epfd, events, max, timeout, mask);  // EINVAL, as without us
    return watched_wait(epfd, events, max, sx_deadline_after(timeout), 1, mask);
}
