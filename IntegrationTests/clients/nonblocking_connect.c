/*
 * nonblocking_connect HOST PORT [--expect-fail]
 *
 * Connects to a numeric HOST (IPv4 or IPv6) on a socket that has O_NONBLOCK
 * and FD_CLOEXEC set before connect(), the way event-loop programs do.
 *
 * Output (stdout) and exit status:
 *   success:  "peername <ip> <port>"   (what getpeername() reports)
 *             "ok <greeting line>"     (the target's first line, e.g. "ok peer 127.0.0.2")
 *             exit 0
 *   failure:  "<ERRNO NAME>" (e.g. "ECONNREFUSED", or "errno=<n>" if unknown), exit 1
 *             "eof" if the peer closed before sending a full line, exit 1
 *   usage error: exit 2
 *   O_NONBLOCK or FD_CLOEXEC lost after a successful connect: "flags-changed", exit 3
 *
 * With --expect-fail the meaning of 0 and 1 is swapped: a failure prints the
 * errno name and exits 0; a success prints its usual lines and exits 1.
 * (flags-changed is still exit 3, usage still exit 2.)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>
#include <signal.h>
#include <time.h>

#define TIMEOUT_MS 10000

static const struct { int num; const char *name; } errno_names[] = {
    { ECONNREFUSED, "ECONNREFUSED" }, { ETIMEDOUT, "ETIMEDOUT" },
    { EHOSTUNREACH, "EHOSTUNREACH" }, { ENETUNREACH, "ENETUNREACH" },
    { EACCES, "EACCES" },             { EPROTO, "EPROTO" },
    { ECONNRESET, "ECONNRESET" },     { EOPNOTSUPP, "EOPNOTSUPP" },
    { EAFNOSUPPORT, "EAFNOSUPPORT" }, { EINPROGRESS, "EINPROGRESS" },
    { EINVAL, "EINVAL" },             { EPERM, "EPERM" },
    { ECONNABORTED, "ECONNABORTED" }, { ENETDOWN, "ENETDOWN" },
    { EADDRNOTAVAIL, "EADDRNOTAVAIL" }, { EADDRINUSE, "EADDRINUSE" },
    { EALREADY, "EALREADY" },         { EISCONN, "EISCONN" },
    { ENOTCONN, "ENOTCONN" },         { EPIPE, "EPIPE" },
    { EAGAIN, "EAGAIN" },             { EBADF, "EBADF" },
    { ENOENT, "ENOENT" },             { EINTR, "EINTR" },
    { ENOMEM, "ENOMEM" },             { EMFILE, "EMFILE" },
    { ENOTSOCK, "ENOTSOCK" },         { EPROTONOSUPPORT, "EPROTONOSUPPORT" },
};

static int expect_fail = 0;

static void print_errno(int e) {
    for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++) {
        if (errno_names[i].num == e) {
            printf("%s\n", errno_names[i].name);
            return;
        }
    }
    printf("errno=%d\n", e);
}

static int fail_exit(void) {
    fflush(stdout);
    return expect_fail ? 0 : 1;
}

static int fail_errno(int e, const char *where) {
    print_errno(e);
    fprintf(stderr, "nonblocking_connect: %s: %s\n", where, strerror(e));
    return fail_exit();
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* poll until `events` or the deadline; returns >0 ready, 0 timeout, -1 error */
static int wait_for(int fd, short events, long long deadline, short *revents) {
    for (;;) {
        long long left = deadline - now_ms();
        if (left < 0) left = 0;
        struct pollfd p = { .fd = fd, .events = events, .revents = 0 };
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR) continue;
        if (revents) *revents = p.revents;
        return r;
    }
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "--expect-fail") != 0)) {
        fprintf(stderr, "usage: %s HOST PORT [--expect-fail]\n", argv[0]);
        return 2;
    }
    expect_fail = (argc == 4);
    signal(SIGPIPE, SIG_IGN);

    char *end = NULL;
    long port = strtol(argv[2], &end, 10);
    if (!end || *end || port < 1 || port > 65535) {
        fprintf(stderr, "bad port: %s\n", argv[2]);
        return 2;
    }

    struct sockaddr_storage ss;
    socklen_t slen;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, argv[1], &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((unsigned short)port);
        slen = sizeof *s4;
    } else if (inet_pton(AF_INET6, argv[1], &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((unsigned short)port);
        slen = sizeof *s6;
    } else {
        fprintf(stderr, "HOST must be a numeric IPv4 or IPv6 address: %s\n", argv[1]);
        return 2;
    }

    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0) return fail_errno(errno, "socket");

    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return fail_errno(errno, "fcntl(F_SETFL)");
    int fdfl = fcntl(fd, F_GETFD);
    if (fdfl < 0 || fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0) return fail_errno(errno, "fcntl(F_SETFD)");

    long long deadline = now_ms() + TIMEOUT_MS;
    int r = connect(fd, (struct sockaddr *)&ss, slen);
    if (r != 0) {
        if (errno != EINPROGRESS) return fail_errno(errno, "connect");
        short rev = 0;
        int pr = wait_for(fd, POLLOUT, deadline, &rev);
        if (pr < 0) return fail_errno(errno, "poll");
        if (pr == 0) return fail_errno(ETIMEDOUT, "poll(POLLOUT) timed out");
        int soerr = 0;
        socklen_t el = sizeof soerr;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el) < 0) return fail_errno(errno, "getsockopt(SO_ERROR)");
        if (soerr != 0) return fail_errno(soerr, "connect (SO_ERROR)");
    }

    /* connected: the flags we set must have survived */
    fl = fcntl(fd, F_GETFL);
    fdfl = fcntl(fd, F_GETFD);
    if (fl < 0 || !(fl & O_NONBLOCK) || fdfl < 0 || !(fdfl & FD_CLOEXEC)) {
        printf("flags-changed\n");
        fprintf(stderr, "nonblocking_connect: F_GETFL=%#x F_GETFD=%#x\n", fl, fdfl);
        fflush(stdout);
        close(fd);
        return 3;
    }

    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    memset(&peer, 0, sizeof peer);
    if (getpeername(fd, (struct sockaddr *)&peer, &plen) < 0) return fail_errno(errno, "getpeername");
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned pport = 0;
    if (peer.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&peer)->sin_addr, ip, sizeof ip);
        pport = ntohs(((struct sockaddr_in *)&peer)->sin_port);
    } else if (peer.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&peer)->sin6_addr, ip, sizeof ip);
        pport = ntohs(((struct sockaddr_in6 *)&peer)->sin6_port);
    }
    printf("peername %s %u\n", ip, pport);
    fflush(stdout);

    /* read the greeting line, non-blocking with poll */
    char line[512];
    size_t len = 0;
    deadline = now_ms() + TIMEOUT_MS;
    for (;;) {
        ssize_t n = read(fd, line + len, sizeof line - 1 - len);
        if (n > 0) {
            len += (size_t)n;
            char *nl = memchr(line, '\n', len);
            if (nl) { *nl = 0; break; }
            if (len >= sizeof line - 1) { line[len] = 0; break; }
            continue;
        }
        if (n == 0) {
            printf("eof\n");
            fprintf(stderr, "nonblocking_connect: peer closed after %zu bytes\n", len);
            close(fd);
            return fail_exit();
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return fail_errno(errno, "read");
        int pr = wait_for(fd, POLLIN, deadline, NULL);
        if (pr < 0) return fail_errno(errno, "poll(POLLIN)");
        if (pr == 0) return fail_errno(ETIMEDOUT, "waiting for greeting");
    }
    if (len > 0 && line[strlen(line) - 1] == '\r') line[strlen(line) - 1] = 0;
    printf("ok %s\n", line);
    fflush(stdout);
    close(fd);
    return expect_fail ? 1 : 0;
}
