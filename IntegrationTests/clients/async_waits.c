/*
 * async_waits MODE WAIT HOST PORT [N]
 *
 * One non-blocking connect (or N), and the program's own waits, the way event loops do them.
 * Run under socksify with a proxy that delays its replies (IntegrationTests/test_async_waits.py).
 *
 * WAIT: poll ppoll select pselect epoll_wait epoll_pwait epoll_pwait2 (poll_chk: poll with a
 *       fixed-size array; built with _FORTIFY_SOURCE=2 as async_waits_fortify it is __poll_chk)
 * MODE:
 *   basic      connect, wait writable, SO_ERROR, getpeername, write a request, wait readable, read
 *   fail       as basic, against a proxy that refuses: what the wait reports, SO_ERROR twice,
 *              then a send
 *   fail_io    a refusal met by recv (no SO_ERROR): the errno once, then the kernel's
 *   during     while the tunnel runs: getpeername, send, write, recv, read, connect again,
 *              SO_ERROR; then wait, connect again (0 or EISCONN), getpeername
 *   vectored   readv and writev while the tunnel runs, then basic
 *   short      a wait with a 10 ms limit first (returns 0, tunnel still going), then basic
 *   select_tv  select with 5 s: the time left written back
 *   prereg     epoll_ctl(ADD, EPOLLOUT) BEFORE connect (Java NIO); WAIT epoll_et: EPOLLET too
 *   oneshot    EPOLLOUT|EPOLLONESHOT: one event, then nothing until MOD
 *   modify     ADD EPOLLIN (data A), a 20 ms wait, MOD EPOLLIN|EPOLLOUT (data B) meanwhile
 *   del        ADD EPOLLOUT, a 20 ms wait, DEL; poll finishes it; the epoll set stays silent
 *   two_sets   the socket in two epoll sets; each must give back its own data
 *   close      N connects, all closed while going; then poll on a pipe
 *   many       N connects, one poll over all: each socket reported writable must be usable
 *
 * SX_COUNT_OFFSET (hex): where socksify's count of running tunnels is in its library (nm);
 * "count" in the output is its value at the end (-1: unknown).
 * Prints one JSON line; exit 0 when the line says ok.
 */
#define _GNU_SOURCE
#ifndef ASYNC_WAITS_FORTIFY
#undef _FORTIFY_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <link.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define LIMIT_MS 15000
#define DATA_A 0x5eed0fd5000000a1ULL
#define DATA_B 0x5eed0fd5000000b2ULL

static double t0;
static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6 - t0;
}

static const char *en(int e)
{
    switch (e) {
    case 0: return "0";
    case EINPROGRESS: return "EINPROGRESS";
    case EAGAIN: return "EAGAIN";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECONNRESET: return "ECONNRESET";
    case ENOTCONN: return "ENOTCONN";
    case EALREADY: return "EALREADY";
    case EISCONN: return "EISCONN";
    case EPIPE: return "EPIPE";
    case EBADF: return "EBADF";
    case EINTR: return "EINTR";
    case EBADMSG: return "EBADMSG";
    default: {
        static char b[8][24];
        static int i;
        char *s = b[i++ % 8];
        snprintf(s, 24, "errno=%d", e);
        return s;
    }
    }
}

/* the output: "key":value pairs appended as we go */
static char out[8192];
static void put(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void put(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t n = strlen(out);
    if (n)
        out[n++] = ',';
    vsnprintf(out + n, sizeof out - n, fmt, ap);
    va_end(ap);
}
static void puts_kv(const char *k, const char *v) { put("\"%s\":\"%s\"", k, v); }
static void putn(const char *k, double v) { put("\"%s\":%.3f", k, v); }
static void puti(const char *k, long v) { put("\"%s\":%ld", k, v); }

static int count_now(void);
static int finish(int ok)
{
    puti("count", count_now());
    printf("{\"ok\":%s,%s}\n", ok ? "true" : "false", out);
    fflush(stdout);
    return ok ? 0 : 1;
}
static int bail(const char *stage, int e)
{
    puts_kv("stage", stage);
    puts_kv("errno", en(e));
    putn("at_ms", now_ms());
    return finish(0);
}

/* socksify's tunnel count, read from its library's memory (the offset from nm) */
static uintptr_t lib_base;
static int find_lib(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size, (void)data;
    if (info->dlpi_name && strstr(info->dlpi_name, "socksify")) {
        lib_base = info->dlpi_addr;
        return 1;
    }
    return 0;
}
static int count_now(void)
{
    const char *off = getenv("SX_COUNT_OFFSET");
    if (!off || !*off)
        return -1;
    if (!lib_base)
        dl_iterate_phdr(find_lib, NULL);
    if (!lib_base)
        return -1;
    return __atomic_load_n((int *)(lib_base + strtoul(off, NULL, 16)), __ATOMIC_ACQUIRE);
}

static struct sockaddr_storage dest;
static socklen_t dest_len;

static int start_connect(int *err)
{
    int fd = socket(dest.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    int r = connect(fd, (struct sockaddr *)&dest, dest_len);
    *err = r < 0 ? errno : 0;
    return fd;
}

static const char *peer_of(int fd, int *err)
{
    static char text[80];
    struct sockaddr_storage ps;
    socklen_t pl = sizeof ps;
    if (getpeername(fd, (struct sockaddr *)&ps, &pl) < 0) {
        *err = errno;
        return "";
    }
    *err = 0;
    char ip[INET6_ADDRSTRLEN] = "";
    int port;
    if (ps.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ps)->sin_addr, ip, sizeof ip);
        port = ntohs(((struct sockaddr_in *)&ps)->sin_port);
    } else {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ps)->sin6_addr, ip, sizeof ip);
        port = ntohs(((struct sockaddr_in6 *)&ps)->sin6_port);
    }
    snprintf(text, sizeof text, "%s %d", ip, port);
    return text;
}

static int so_error(int fd)
{
    int v = -1;
    socklen_t l = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &l) < 0)
        return -errno;
    return v;
}

/* ---------- the waits: one socket, POLLIN/POLLOUT asked, poll-style revents back ---------- */

static const char *wait_kind;
static int ep = -1;          /* the epoll set of the epoll waits */
static uint64_t ep_data = DATA_A;
static int ep_registered;
static sigset_t no_signals;
static volatile nfds_t one = 1;  /* not a constant: fortified poll calls __poll_chk */

static int is_epoll(void) { return strncmp(wait_kind, "epoll", 5) == 0; }

static uint32_t to_epoll(short ev) { return (ev & POLLIN ? EPOLLIN : 0) | (ev & POLLOUT ? EPOLLOUT : 0); }
static short from_epoll(uint32_t ev)
{
    return (short)((ev & EPOLLIN ? POLLIN : 0) | (ev & EPOLLOUT ? POLLOUT : 0) | (ev & EPOLLERR ? POLLERR : 0) |
                   (ev & EPOLLHUP ? POLLHUP : 0));
}

static int epoll_once(struct epoll_event *got, int timeout_ms)
{
    if (!strcmp(wait_kind, "epoll_pwait"))
        return epoll_pwait(ep, got, 1, timeout_ms, &no_signals);
    if (!strcmp(wait_kind, "epoll_pwait2")) {
        struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000};
        return epoll_pwait2(ep, got, 1, timeout_ms < 0 ? NULL : &ts, &no_signals);
    }
    return epoll_wait(ep, got, 1, timeout_ms);
}

/* One wait of up to timeout_ms: 1 with *revents, 0 on timeout, -1 with errno. */
static int wait_once(int fd, short events, int timeout_ms, short *revents)
{
    *revents = 0;
    if (!strcmp(wait_kind, "poll") || !strcmp(wait_kind, "poll_chk")) {
        struct pollfd p[1] = {{.fd = fd, .events = events}};
        int r = poll(p, one, timeout_ms);
        *revents = p[0].revents;
        return r;
    }
    if (!strcmp(wait_kind, "ppoll")) {
        struct pollfd p = {.fd = fd, .events = events};
        struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000};
        int r = ppoll(&p, 1, timeout_ms < 0 ? NULL : &ts, &no_signals);
        *revents = p.revents;
        return r;
    }
    if (!strcmp(wait_kind, "select") || !strcmp(wait_kind, "pselect")) {
        fd_set r, w;
        FD_ZERO(&r);
        FD_ZERO(&w);
        if (events & POLLIN)
            FD_SET(fd, &r);
        if (events & POLLOUT)
            FD_SET(fd, &w);
        int n;
        if (!strcmp(wait_kind, "select")) {
            struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
            n = select(fd + 1, &r, &w, NULL, timeout_ms < 0 ? NULL : &tv);
        } else {
            struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000};
            n = pselect(fd + 1, &r, &w, NULL, timeout_ms < 0 ? NULL : &ts, &no_signals);
        }
        if (n > 0)
            *revents = (short)((FD_ISSET(fd, &r) ? POLLIN : 0) | (FD_ISSET(fd, &w) ? POLLOUT : 0));
        return n > 0 ? 1 : n;
    }
    if (is_epoll()) {
        struct epoll_event reg = {.events = to_epoll(events), .data.u64 = ep_data};
        if (!strcmp(wait_kind, "epoll_et"))
            reg.events |= EPOLLET;
        if (epoll_ctl(ep, ep_registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &reg) < 0)
            return -1;
        ep_registered = 1;
        struct epoll_event got;
        int n = epoll_once(&got, timeout_ms);
        if (n > 0) {
            if (got.data.u64 != ep_data) {
                errno = EBADMSG;  /* not the program's data */
                return -1;
            }
            *revents = from_epoll(got.events);
        }
        return n;
    }
    errno = EINVAL;
    return -1;
}

/* Waits until the socket reports one of `events` (or an error); the count of waits in *waits. */
static int wait_for(int fd, short events, short *revents, int *waits)
{
    double end = now_ms() + LIMIT_MS;
    for (;;) {
        int left = (int)(end - now_ms());
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        int r = wait_once(fd, events, left, revents);
        (*waits)++;
        if (r < 0 && errno == EINTR)
            continue;
        if (r != 0)
            return r;
    }
}

static const char request[] = "GET / HTTP/1.0\r\nHost: target\r\n\r\n";

/* After writable: the request, then the response's body (wait for readable between reads). */
static int exchange(int fd, int *waits, char *body, size_t room)
{
    ssize_t w = write(fd, request, sizeof request - 1);
    if (w != (ssize_t)(sizeof request - 1))
        return w < 0 ? -errno : -EIO;
    static char resp[65536];
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, resp + len, sizeof resp - 1 - len);
        if (r > 0) {
            len += (size_t)r;
            continue;
        }
        if (r == 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return -errno;
        short rev;
        if (wait_for(fd, POLLIN, &rev, waits) < 0)
            return -errno;
    }
    resp[len] = 0;
    char *b = strstr(resp, "\r\n\r\n");
    b = b ? b + 4 : resp;
    b[strcspn(b, "\r\n\"\\")] = 0;
    snprintf(body, room, "%.200s", b);
    return 0;
}

static void put_revents(const char *k, short rev)
{
    char t[64] = "";
    if (rev & POLLIN) strcat(t, "IN|");
    if (rev & POLLOUT) strcat(t, "OUT|");
    if (rev & POLLERR) strcat(t, "ERR|");
    if (rev & POLLHUP) strcat(t, "HUP|");
    if (rev & POLLNVAL) strcat(t, "NVAL|");
    size_t n = strlen(t);
    if (n) t[n - 1] = 0;
    puts_kv(k, t);
}

/* connect, [wait], getpeername, exchange: the common tail of most modes */
static int connected_tail(int fd, int waits)
{
    int e;
    const char *peer = peer_of(fd, &e);
    puts_kv("peer", e ? en(e) : peer);
    char body[256] = "";
    int x = exchange(fd, &waits, body, sizeof body);
    if (x < 0)
        return bail("exchange", -x);
    puts_kv("body", body);
    puti("waits", waits);
    close(fd);
    return finish(1);
}

static int wait_writable_and_finish(int fd, int waits)
{
    short rev;
    if (wait_for(fd, POLLOUT, &rev, &waits) < 0)
        return bail("wait", errno);
    putn("writable_ms", now_ms());
    put_revents("revents", rev);
    puti("so_error", so_error(fd));
    return connected_tail(fd, waits);
}

/* ---------- modes ---------- */

static int mode_basic(int short_first)
{
    int ce;
    int fd = start_connect(&ce);
    if (fd < 0)
        return bail("socket", ce);
    putn("connect_ms", now_ms());
    puts_kv("connect", en(ce));
    int waits = 0;
    if (short_first) {
        short rev;
        int r = wait_once(fd, POLLOUT, 10, &rev);
        puti("short_wait", r < 0 ? -errno : r);
        put_revents("short_revents", rev);
        putn("short_ms", now_ms());
        waits++;
    }
    return wait_writable_and_finish(fd, waits);
}

static int mode_fail(int by_io)
{
    int ce;
    int fd = start_connect(&ce);
    if (fd < 0)
        return bail("socket", ce);
    puts_kv("connect", en(ce));
    if (by_io) {
        /* a server-first program: waits readable, then reads */
        short rev;
        int waits = 0;
        if (wait_for(fd, POLLIN, &rev, &waits) < 0)
            return bail("wait", errno);
        put_revents("revents", rev);
        char b[16];
        ssize_t r1 = recv(fd, b, sizeof b, 0);
        puts_kv("recv1", r1 < 0 ? en(errno) : "data");
        ssize_t r2 = recv(fd, b, sizeof b, 0);
        puts_kv("recv2", r2 < 0 ? en(errno) : r2 == 0 ? "eof" : "data");
        puti("so_error", so_error(fd));
        close(fd);
        return finish(1);
    }
    short rev;
    int waits = 0;
    if (wait_for(fd, POLLOUT, &rev, &waits) < 0)
        return bail("wait", errno);
    put_revents("revents", rev);
    /* level: the same report again, until the error is read */
    short again = 0;
    int r = wait_once(fd, POLLOUT, 1000, &again);
    puti("again", r);
    put_revents("again_revents", again);
    puti("so_error1", so_error(fd));
    puti("so_error2", so_error(fd));
    ssize_t s = send(fd, "x", 1, MSG_NOSIGNAL);
    puts_kv("send", s < 0 ? en(errno) : "sent");
    close(fd);
    return finish(1);
}

static int mode_during(void)
{
    int ce;
    int fd = start_connect(&ce);
    if (fd < 0)
        return bail("socket", ce);
    puts_kv("connect", en(ce));
    int e;
    const char *peer = peer_of(fd, &e);
    puts_kv("peer_during", e ? en(e) : peer);
    char b[16];
    ssize_t r = send(fd, "x", 1, MSG_NOSIGNAL);
    puts_kv("send", r < 0 ? en(errno) : "sent");
    r = write(fd, "x", 1);
    puts_kv("write", r < 0 ? en(errno) : "sent");
    r = recv(fd, b, sizeof b, 0);
    puts_kv("recv", r < 0 ? en(errno) : "data");
    r = read(fd, b, sizeof b);
    puts_kv("read", r < 0 ? en(errno) : "data");
    int c2 = connect(fd, (struct sockaddr *)&dest, dest_len);
    puts_kv("connect2", c2 < 0 ? en(errno) : "0");
    puti("so_error_during", so_error(fd));
    short rev;
    int waits = 0;
    if (wait_for(fd, POLLOUT, &rev, &waits) < 0)
        return bail("wait", errno);
    putn("writable_ms", now_ms());
    int c3 = connect(fd, (struct sockaddr *)&dest, dest_len);
    puts_kv("connect3", c3 < 0 ? en(errno) : "0");
    int c4 = connect(fd, (struct sockaddr *)&dest, dest_len);
    puts_kv("connect4", c4 < 0 ? en(errno) : "0");
    puti("so_error", so_error(fd));
    return connected_tail(fd, waits);
}

/* writev and readv while the tunnel runs (an optimistic writer sends its request at once) */
static int mode_vectored(void)
{
    int ce;
    int fd = start_connect(&ce);
    if (fd < 0)
        return bail("socket", ce);
    puts_kv("connect", en(ce));
    char b[64];
    struct iovec riov = {.iov_base = b, .iov_len = sizeof b};
    ssize_t r = readv(fd, &riov, 1);
    puts_kv("readv", r < 0 ? en(errno) : "data");
    struct iovec iov[2] = {{.iov_base = (void *)"GET / HT", .iov_len = 8}, {.iov_base = (void *)"TP/1.0\r\n", .iov_len = 8}};
    r = writev(fd, iov, 2);
    puts_kv("writev", r < 0 ? en(errno) : "sent");
    return wait_writable_and_finish(fd, 0);
}

static int mode_select_tv(void)
{
    int ce;
    int fd = start_connect(&ce);
    if (fd < 0)
        return bail("socket", ce);
    puts_kv("connect", en(ce));
    fd_set w;
    FD_ZERO(&w);
    FD_SET(fd, &w);
    struct timeval tv = {5, 0};
    int n = select(fd + 1, NULL, &w, NULL, &tv);
    putn("writable_ms", now_ms());
    puti("select", n < 0 ? -errno : n);
    puti("isset", FD_ISSET(fd, &w) ? 1 : 0);
    putn("left_ms", tv.tv_sec * 1e3 + tv.tv_usec / 1e3);
    puti("so_error", so_error(fd));
    return connected_tail(fd, 1);
}

/* epoll modes: the set's events come back as raw epoll bits */
static int ep_wait_raw(struct epoll_event *got, int timeout_ms, int *n)
{
    for (;;) {
        *n = epoll_once(got, timeout_ms);
        if (*n < 0 && errno == EINTR)
            continue;
        return *n;
    }
}

static int mode_prereg(int et)
{
    ep = epoll_create1(EPOLL_CLOEXEC);
    int fd = socket(dest.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct epoll_event reg = {.events = EPOLLOUT | (et ? EPOLLET : 0), .data.u64 = DATA_A};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &reg) < 0)
        return bail("epoll_ctl", errno);
    int r = connect(fd, (struct sockaddr *)&dest, dest_len);
    puts_kv("connect", r < 0 ? en(errno) : "0");
    struct epoll_event got;
    int n, waits = 0;
    do {
        ep_wait_raw(&got, LIMIT_MS, &n);
        waits++;
    } while (n == 0 && waits < 3);
    if (n != 1)
        return bail("epoll_wait", n < 0 ? errno : ETIMEDOUT);
    putn("writable_ms", now_ms());
    puts_kv("data_ok", got.data.u64 == DATA_A ? "yes" : "no");
    puti("events", got.events);
    puti("so_error", so_error(fd));
    if (et) {
        /* edge-triggered: no second report without a new edge */
        int m;
        ep_wait_raw(&got, 100, &m);
        puti("second", m);
    }
    ep_data = DATA_A;
    ep_registered = 1;
    wait_kind = et ? "epoll_et" : "epoll_wait";
    return connected_tail(fd, waits);
}

static int mode_oneshot(void)
{
    ep = epoll_create1(EPOLL_CLOEXEC);
    int ce;
    int fd = start_connect(&ce);
    puts_kv("connect", en(ce));
    struct epoll_event reg = {.events = EPOLLOUT | EPOLLONESHOT, .data.u64 = DATA_A};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &reg) < 0)
        return bail("epoll_ctl", errno);
    struct epoll_event got;
    int n;
    ep_wait_raw(&got, LIMIT_MS, &n);
    if (n != 1)
        return bail("epoll_wait", n < 0 ? errno : ETIMEDOUT);
    putn("writable_ms", now_ms());
    puts_kv("data_ok", got.data.u64 == DATA_A ? "yes" : "no");
    puti("events", got.events);
    int m;
    ep_wait_raw(&got, 100, &m);
    puti("second", m);
    puti("so_error", so_error(fd));
    ep_data = DATA_B;
    ep_registered = 1;
    wait_kind = "epoll_wait";
    return connected_tail(fd, 1);
}

static int mode_modify(void)
{
    ep = epoll_create1(EPOLL_CLOEXEC);
    int ce;
    int fd = start_connect(&ce);
    puts_kv("connect", en(ce));
    struct epoll_event reg = {.events = EPOLLIN, .data.u64 = DATA_A};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &reg) < 0)
        return bail("epoll_ctl", errno);
    struct epoll_event got;
    int n;
    ep_wait_raw(&got, 20, &n);
    puti("first", n);
    reg.events = EPOLLIN | EPOLLOUT;
    reg.data.u64 = DATA_B;
    if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &reg) < 0)
        return bail("epoll_ctl_mod", errno);
    ep_wait_raw(&got, LIMIT_MS, &n);
    if (n != 1)
        return bail("epoll_wait", n < 0 ? errno : ETIMEDOUT);
    putn("writable_ms", now_ms());
    puts_kv("data", got.data.u64 == DATA_B ? "B" : got.data.u64 == DATA_A ? "A" : "other");
    puti("events", got.events);
    puti("so_error", so_error(fd));
    ep_data = DATA_B;
    ep_registered = 1;
    wait_kind = "epoll_wait";
    return connected_tail(fd, 2);
}

static int mode_del(void)
{
    ep = epoll_create1(EPOLL_CLOEXEC);
    int ce;
    int fd = start_connect(&ce);
    puts_kv("connect", en(ce));
    struct epoll_event reg = {.events = EPOLLOUT, .data.u64 = DATA_A};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &reg) < 0)
        return bail("epoll_ctl", errno);
    struct epoll_event got;
    int n;
    ep_wait_raw(&got, 20, &n);
    puti("first", n);
    if (epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL) < 0)
        return bail("epoll_ctl_del", errno);
    wait_kind = "poll";
    short rev;
    int waits = 0;
    if (wait_for(fd, POLLOUT, &rev, &waits) < 0)
        return bail("wait", errno);
    putn("writable_ms", now_ms());
    ep_wait_raw(&got, 100, &n);
    puti("after_del", n);
    puti("so_error", so_error(fd));
    return connected_tail(fd, waits);
}

static int mode_two_sets(void)
{
    int ep1 = epoll_create1(EPOLL_CLOEXEC), ep2 = epoll_create1(EPOLL_CLOEXEC);
    int ce;
    int fd = start_connect(&ce);
    puts_kv("connect", en(ce));
    struct epoll_event reg = {.events = EPOLLOUT, .data.u64 = DATA_A};
    if (epoll_ctl(ep1, EPOLL_CTL_ADD, fd, &reg) < 0)
        return bail("epoll_ctl", errno);
    reg.data.u64 = DATA_B;
    if (epoll_ctl(ep2, EPOLL_CTL_ADD, fd, &reg) < 0)
        return bail("epoll_ctl", errno);
    struct epoll_event got;
    int n;
    ep = ep2;
    ep_wait_raw(&got, LIMIT_MS, &n);
    if (n != 1)
        return bail("epoll_wait2", n < 0 ? errno : ETIMEDOUT);
    putn("writable_ms", now_ms());
    puts_kv("data2", got.data.u64 == DATA_B ? "B" : "other");
    ep = ep1;
    ep_wait_raw(&got, 1000, &n);
    puti("n1", n);
    puts_kv("data1", n != 1 ? "none" : got.data.u64 == DATA_A ? "A" : "other");
    puti("so_error", so_error(fd));
    ep = ep2;
    ep_data = DATA_B;
    ep_registered = 1;
    wait_kind = "epoll_wait";
    return connected_tail(fd, 2);
}

static int mode_close(int count)
{
    int before = count_now();
    int started = 0;
    for (int i = 0; i < count; i++) {
        int ce;
        int fd = start_connect(&ce);
        if (fd >= 0 && ce == EINPROGRESS)
            started++;
        if (fd >= 0) {
            /* one poll that leaves it going, then the close */
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            poll(&p, 1, 0);
            close(fd);
        }
    }
    puti("started", started);
    puti("count_before", before);
    int pipefd[2];
    if (pipe(pipefd) < 0)
        return bail("pipe", errno);
    struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
    int r = poll(&p, 1, 50);
    puti("pipe_poll", r);
    return finish(1);
}

static int mode_many(int count)
{
    struct conn { int fd; int state; } *c = calloc((size_t)count, sizeof *c);
    struct pollfd *p = calloc((size_t)count, sizeof *p);
    int started = 0;
    for (int i = 0; i < count; i++) {
        int ce;
        c[i].fd = start_connect(&ce);
        if (c[i].fd < 0)
            return bail("socket", ce);
        if (ce == EINPROGRESS)
            started++;
        else if (ce != 0)
            return bail("connect", ce);
    }
    puti("started", started);
    /* state 0 connecting, 1 request sent, 2 done */
    int early = 0, writable = 0, done = 0, bodies = 0, peers_wrong = 0, waits = 0;
    static char buf[4096];
    double end = now_ms() + LIMIT_MS;
    while (done < count && now_ms() < end) {
        for (int i = 0; i < count; i++) {
            p[i].fd = c[i].state == 2 ? -1 : c[i].fd;
            p[i].events = c[i].state == 0 ? POLLOUT : POLLIN;
            p[i].revents = 0;
        }
        int n = poll(p, (nfds_t)count, 1000);
        waits++;
        if (n < 0 && errno != EINTR)
            return bail("poll", errno);
        for (int i = 0; i < count && n > 0; i++) {
            if (!p[i].revents)
                continue;
            if (c[i].state == 0) {
                writable++;
                int e = so_error(c[i].fd);
                if (e != 0)
                    return bail("so_error", e);
                int pe;
                peer_of(c[i].fd, &pe);
                if (pe)
                    peers_wrong++;
                ssize_t w = write(c[i].fd, request, sizeof request - 1);
                if (w < 0 && errno == EAGAIN) {
                    early++;  /* told writable, connected, and yet not: a lie */
                    continue;
                }
                if (w != (ssize_t)(sizeof request - 1))
                    return bail("write", w < 0 ? errno : EIO);
                c[i].state = 1;
            } else {
                ssize_t r = read(c[i].fd, buf, sizeof buf - 1);
                if (r < 0 && errno == EAGAIN)
                    continue;
                if (r > 0) {
                    buf[r] = 0;
                    if (strstr(buf, "peer "))
                        bodies++;
                    continue;
                }
                c[i].state = 2;
                close(c[i].fd);
                done++;
            }
        }
    }
    puti("writable_reports", writable);
    puti("early", early);
    puti("peers_wrong", peers_wrong);
    puti("done", done);
    puti("bodies", bodies);
    puti("waits", waits);
    return finish(done == count);
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s MODE WAIT HOST PORT [N]\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1];
    wait_kind = argv[2];
    int n = argc > 5 ? atoi(argv[5]) : 1;
    sigemptyset(&no_signals);
    memset(&dest, 0, sizeof dest);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&dest;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&dest;
    if (inet_pton(AF_INET, argv[3], &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(atoi(argv[4]));
        dest_len = sizeof *a4;
    } else if (inet_pton(AF_INET6, argv[3], &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(atoi(argv[4]));
        dest_len = sizeof *a6;
    } else {
        fprintf(stderr, "numeric host please\n");
        return 2;
    }
    if (is_epoll())
        ep = epoll_create1(EPOLL_CLOEXEC);
    t0 = 0;
    t0 = now_ms();
    puts_kv("mode", mode);
    puts_kv("wait", wait_kind);
    if (!strcmp(mode, "basic")) return mode_basic(0);
    if (!strcmp(mode, "short")) return mode_basic(1);
    if (!strcmp(mode, "fail")) return mode_fail(0);
    if (!strcmp(mode, "fail_io")) return mode_fail(1);
    if (!strcmp(mode, "during")) return mode_during();
    if (!strcmp(mode, "select_tv")) return mode_select_tv();
    if (!strcmp(mode, "vectored")) return mode_vectored();
    if (!strcmp(mode, "prereg")) return mode_prereg(!strcmp(wait_kind, "epoll_et"));
    if (!strcmp(mode, "oneshot")) return mode_oneshot();
    if (!strcmp(mode, "modify")) return mode_modify();
    if (!strcmp(mode, "del")) return mode_del();
    if (!strcmp(mode, "two_sets")) return mode_two_sets();
    if (!strcmp(mode, "close")) return mode_close(n);
    if (!strcmp(mode, "many")) return mode_many(n);
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
}
