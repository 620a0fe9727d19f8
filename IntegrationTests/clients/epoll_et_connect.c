/*
 * epoll_et_connect HOST PORT [--inout]
 *
 * The connect of an edge-triggered epoll event loop (nginx, many C servers and proxies):
 *
 *   socket(SOCK_NONBLOCK) -> connect() (0 or EINPROGRESS)
 *   -> epoll_ctl(ADD, EPOLLOUT|EPOLLET)            (default)
 *      or epoll_ctl(ADD, EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET), never modified (--inout,
 *      the nginx way: one registration for the connection's whole life)
 *   -> epoll_wait until the socket is writable -> getsockopt(SO_ERROR)
 *   -> write an HTTP/1.0 request (it must not get EAGAIN: writable means connected)
 *   -> default: epoll_ctl(MOD, EPOLLIN|EPOLLET); then read until EAGAIN, wait for the next
 *      edge, read again ... until EOF, as an edge-triggered reader must.
 *
 * With edge triggering, an event that the loop misses is never reported again, so a
 * socksifier that hides the socket's readiness while it runs the SOCKS exchange must make
 * sure the program still gets its EPOLLOUT edge once the tunnel is up.
 *
 * HOST is numeric (IPv4 or IPv6).  Times are CLOCK_MONOTONIC, measured here.
 * Prints one JSON line:
 *   {"ok":true, "connect_ret":0|-1, "connect_errno":"EINPROGRESS"|null,
 *    "connect_ms":..., "writable_ms":..., "events":"0x..", "waits":N, "so_error":0,
 *    "peer":"<ip> <port>", "body":"peer 127.0.0.4", "total_ms":...}
 * or {"ok":false, "stage":"...", "errno":"...", ...}.  Exit 0 if ok, 1 otherwise, 2 usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WAIT_LIMIT_MS 15000
#define TAG 0x5eed0fd5u

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char *errname(int e)
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
    case EPROTO: return "EPROTO";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case ENETUNREACH: return "ENETUNREACH";
    case EACCES: return "EACCES";
    case EINTR: return "EINTR";
    case EPIPE: return "EPIPE";
    default: {
        static char buf[32];
        snprintf(buf, sizeof buf, "errno=%d", e);
        return buf;
    }
    }
}

static double t0;

static int fail(const char *stage, int e, const char *extra)
{
    printf("{\"ok\":false,\"stage\":\"%s\",\"errno\":\"%s\",\"detail\":\"%s\",\"at_ms\":%.3f}\n",
           stage, errname(e), extra ? extra : "", now_ms() - t0);
    return 1;
}

/* Wait for one event on our descriptor; returns its events, 0 on timeout, -1 on error. */
static int wait_one(int ep, uint32_t *events, int *waits)
{
    double deadline = now_ms() + WAIT_LIMIT_MS;
    for (;;) {
        int left = (int)(deadline - now_ms());
        if (left <= 0)
            return 0;
        struct epoll_event ev;
        int n = epoll_wait(ep, &ev, 1, left);
        (*waits)++;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            continue;
        if (ev.data.u64 != TAG) {
            errno = EBADMSG; /* the program's registration data did not come back */
            return -1;
        }
        *events = ev.events;
        return 1;
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s HOST PORT [--inout]\n", argv[0]);
        return 2;
    }
    int inout = argc > 3 && strcmp(argv[3], "--inout") == 0;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t slen;
    int port = atoi(argv[2]);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, argv[1], &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        slen = sizeof *a4;
    } else if (inet_pton(AF_INET6, argv[1], &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        slen = sizeof *a6;
    } else {
        fprintf(stderr, "numeric host please\n");
        return 2;
    }

    t0 = now_ms();
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail("socket", errno, NULL);
    int cr = connect(fd, (struct sockaddr *)&ss, slen);
    int ce = cr < 0 ? errno : 0;
    double connect_ms = now_ms() - t0;
    if (cr < 0 && ce != EINPROGRESS)
        return fail("connect", ce, NULL);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        return fail("epoll_create1", errno, NULL);
    struct epoll_event reg = {0};
    reg.events = inout ? (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) : (EPOLLOUT | EPOLLET);
    reg.data.u64 = TAG;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &reg) < 0)
        return fail("epoll_ctl_add", errno, NULL);

    int waits = 0;
    uint32_t first = 0;
    int w = wait_one(ep, &first, &waits);
    if (w < 0)
        return fail("epoll_wait", errno, NULL);
    if (w == 0)
        return fail("epoll_wait", ETIMEDOUT, "no EPOLLOUT edge");
    double writable_ms = now_ms() - t0;
    int soerr = -1;
    socklen_t ol = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &ol) < 0)
        return fail("getsockopt", errno, NULL);
    if (soerr != 0)
        return fail("so_error", soerr, NULL);
    if (!(first & EPOLLOUT))
        return fail("events", 0, "first event without EPOLLOUT");

    char peer[80] = "?";
    struct sockaddr_storage ps;
    socklen_t pl = sizeof ps;
    if (getpeername(fd, (struct sockaddr *)&ps, &pl) < 0)
        return fail("getpeername", errno, NULL);
    char ip[INET6_ADDRSTRLEN] = "";
    if (ps.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ps)->sin_addr, ip, sizeof ip);
    else
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ps)->sin6_addr, ip, sizeof ip);
    snprintf(peer, sizeof peer, "%s %d", ip,
             ntohs(ps.ss_family == AF_INET ? ((struct sockaddr_in *)&ps)->sin_port
                                           : ((struct sockaddr_in6 *)&ps)->sin6_port));

    static const char req[] = "GET / HTTP/1.0\r\nHost: target\r\n\r\n";
    ssize_t wr = write(fd, req, sizeof req - 1);
    if (wr < 0)
        return fail("write", errno, "after EPOLLOUT");
    if (wr != (ssize_t)(sizeof req - 1))
        return fail("write", 0, "short write");

    if (!inout) {
        reg.events = EPOLLIN | EPOLLET;
        if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &reg) < 0)
            return fail("epoll_ctl_mod", errno, NULL);
    }

    static char resp[65536];
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, resp + len, sizeof resp - 1 - len);
        if (r > 0) {
            len += (size_t)r;
            if (len == sizeof resp - 1)
                break;
            continue;
        }
        if (r == 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return fail("read", errno, NULL);
        uint32_t ev = 0;
        int k = wait_one(ep, &ev, &waits);
        if (k < 0)
            return fail("epoll_wait", errno, "reading");
        if (k == 0)
            return fail("epoll_wait", ETIMEDOUT, "no readable edge");
    }
    resp[len] = 0;
    char *body = strstr(resp, "\r\n\r\n");
    if (!body)
        return fail("response", 0, "no HTTP response");
    body += 4;
    body[strcspn(body, "\r\n\"\\")] = 0;
    printf("{\"ok\":true,\"connect_ret\":%d,\"connect_errno\":%s%s%s,\"connect_ms\":%.3f,"
           "\"writable_ms\":%.3f,\"events\":\"0x%x\",\"waits\":%d,\"so_error\":%d,"
           "\"peer\":\"%s\",\"body\":\"%s\",\"total_ms\":%.3f}\n",
           cr, ce ? "\"" : "", ce ? errname(ce) : "null", ce ? "\"" : "", connect_ms,
           writable_ms, first, waits, soerr, peer, body, now_ms() - t0);
    close(ep);
    close(fd);
    return 0;
}
