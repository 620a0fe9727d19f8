/*
 * echo_server [-b BINDADDR] [-p PORT] [--max-seconds S]
 *
 * Single-threaded epoll echo server for the connect-latency benchmark.
 * Binds BINDADDR (default 127.0.0.1; loopback only) and PORT (default 0 =
 * any free port), prints "port <n>" on stdout once listening, then echoes
 * every byte it reads back to the sender. One request per connection: once it
 * has echoed a '\n' it closes the connection itself, so the TIME_WAIT state
 * lands on the server side and a benchmark client making tens of thousands
 * of connections does not run out of ephemeral ports (nor does the SOCKS
 * server's outgoing side).
 *
 * One special request: a read that begins with "WHO?" is answered with
 * "peer <ip>" (the connecting address as the server sees it), padded with
 * spaces to the request's length, so a client can check that its
 * connection really went through a proxy (microsocks -b 127.0.0.2).
 *
 * Exits by itself after --max-seconds (default 3600) as a safety net.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int is_loopback(const char *a) {
    return strncmp(a, "127.", 4) == 0 || strcmp(a, "::1") == 0;
}

int main(int argc, char **argv) {
    const char *bindaddr = "127.0.0.1";
    int port = 0;
    long max_seconds = 3600;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-b") && i + 1 < argc) bindaddr = argv[++i];
        else if (!strcmp(argv[i], "-p") && i + 1 < argc) port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--max-seconds") && i + 1 < argc) max_seconds = atol(argv[++i]);
        else { fprintf(stderr, "usage: %s [-b BINDADDR] [-p PORT] [--max-seconds S]\n", argv[0]); return 2; }
    }
    if (!is_loopback(bindaddr)) { fprintf(stderr, "refusing non-loopback bind address %s\n", bindaddr); return 2; }
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t slen;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, bindaddr, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET; s4->sin_port = htons((unsigned short)port); slen = sizeof *s4;
    } else if (inet_pton(AF_INET6, bindaddr, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6; s6->sin6_port = htons((unsigned short)port); slen = sizeof *s6;
    } else { fprintf(stderr, "bad address %s\n", bindaddr); return 2; }

    int lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0) { perror("socket"); return 1; }
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&ss, slen) < 0) { perror("bind"); return 1; }
    if (listen(lfd, 1024) < 0) { perror("listen"); return 1; }
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    getsockname(lfd, (struct sockaddr *)&got, &gl);
    int actual = ntohs(got.ss_family == AF_INET ? ((struct sockaddr_in *)&got)->sin_port
                                                : ((struct sockaddr_in6 *)&got)->sin6_port);
    printf("port %d\n", actual);
    fflush(stdout);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd };
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    time_t stop_at = time(NULL) + max_seconds;
    struct epoll_event evs[64];
    char buf[65536];
    while (time(NULL) < stop_at) {
        int n = epoll_wait(ep, evs, 64, 1000);
        if (n < 0) { if (errno == EINTR) continue; perror("epoll_wait"); return 1; }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                for (;;) {
                    int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (c < 0) break;
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct epoll_event cev = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = c };
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            for (;;) {
                ssize_t r = read(fd, buf, sizeof buf);
                if (r > 0) {
                    size_t len = (size_t)r;
                    int last = memchr(buf, '\n', len) != NULL;
                    if (len >= 4 && memcmp(buf, "WHO?", 4) == 0) {
                        struct sockaddr_storage peer;
                        socklen_t pl = sizeof peer;
                        char ip[INET6_ADDRSTRLEN] = "?";
                        if (getpeername(fd, (struct sockaddr *)&peer, &pl) == 0) {
                            if (peer.ss_family == AF_INET)
                                inet_ntop(AF_INET, &((struct sockaddr_in *)&peer)->sin_addr, ip, sizeof ip);
                            else
                                inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&peer)->sin6_addr, ip, sizeof ip);
                        }
                        char reply[128];
                        int m = snprintf(reply, sizeof reply, "peer %s", ip);
                        memset(buf, ' ', len);
                        memcpy(buf, reply, (size_t)m < len ? (size_t)m : len);
                        if (last) buf[len - 1] = '\n';
                    }
                    /* loopback send buffers are large; a short write is not expected for small requests */
                    size_t off = 0;
                    while (off < len) {
                        ssize_t w = write(fd, buf + off, len - off);
                        if (w < 0) { if (errno == EINTR) continue; break; }
                        off += (size_t)w;
                    }
                    if (off < len || last) { close(fd); break; }
                    continue;
                }
                if (r < 0 && errno == EINTR) continue;
                if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
                close(fd); /* EOF or error; close() also removes it from epoll */
                break;
            }
        }
    }
    return 0;
}
