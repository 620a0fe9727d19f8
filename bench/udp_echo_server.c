/*
 * udp_echo_server [-b BINDADDR]... [-p PORT] [--max-seconds S]
 *
 * Single-threaded UDP echo server for the UDP latency benchmark. Binds every
 * BINDADDR given (default 127.0.0.1; loopback only) on the same PORT (default
 * 0 = a free port, chosen by the first bind), prints "port <n>" on stdout once
 * bound, then sends every datagram back to its sender, from the address it
 * arrived on. Datagrams are taken and answered in batches (recvmmsg/sendmmsg),
 * so the server stays cheap next to what is measured.
 *
 * One special datagram: one that begins with "WHO?" is answered with
 * "peer <ip> <port>", the sender as this server sees it, so a client can check
 * that its datagrams really went through a proxy (danted with
 * external: 127.0.0.3 relays from 127.0.0.3).
 *
 * Exits by itself after --max-seconds (default 3600) as a safety net.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXSOCK 8
#define BATCH 64
#define DGRAM 2048

static int is_loopback(const char *a) {
    return strncmp(a, "127.", 4) == 0 || strcmp(a, "::1") == 0;
}

static int parse_addr(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len) {
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET; s4->sin_port = htons((unsigned short)port); *len = sizeof *s4; return 0;
    }
    if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6; s6->sin6_port = htons((unsigned short)port); *len = sizeof *s6; return 0;
    }
    return -1;
}

/* Rewrite a "WHO?" datagram in place into "peer <ip> <port>"; returns the new length. */
static size_t answer_who(char *buf, size_t cap, const struct sockaddr_storage *from) {
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (from->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)from;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
        port = ntohs(s4->sin_port);
    } else if (from->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)from;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
        port = ntohs(s6->sin6_port);
    }
    int m = snprintf(buf, cap, "peer %s %d", ip, port);
    return m < 0 ? 0 : ((size_t)m < cap ? (size_t)m : cap);
}

int main(int argc, char **argv) {
    const char *binds[MAXSOCK];
    int nbinds = 0, port = 0;
    long max_seconds = 3600;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-b") && i + 1 < argc && nbinds < MAXSOCK) binds[nbinds++] = argv[++i];
        else if (!strcmp(argv[i], "-p") && i + 1 < argc) port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--max-seconds") && i + 1 < argc) max_seconds = atol(argv[++i]);
        else { fprintf(stderr, "usage: %s [-b BINDADDR]... [-p PORT] [--max-seconds S]\n", argv[0]); return 2; }
    }
    if (nbinds == 0) binds[nbinds++] = "127.0.0.1";

    int fds[MAXSOCK];
    int ep = epoll_create1(EPOLL_CLOEXEC);
    for (int k = 0; k < nbinds; k++) {
        if (!is_loopback(binds[k])) { fprintf(stderr, "refusing non-loopback bind address %s\n", binds[k]); return 2; }
        struct sockaddr_storage ss;
        socklen_t slen;
        if (parse_addr(binds[k], port, &ss, &slen) < 0) { fprintf(stderr, "bad address %s\n", binds[k]); return 2; }
        fds[k] = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fds[k] < 0) { perror("socket"); return 1; }
        int big = 4 << 20;
        setsockopt(fds[k], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
        setsockopt(fds[k], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
        if (bind(fds[k], (struct sockaddr *)&ss, slen) < 0) {
            fprintf(stderr, "bind %s port %d: %s\n", binds[k], port, strerror(errno));
            return 1;
        }
        if (port == 0) { /* the first bind picks the port; the others take the same one */
            struct sockaddr_storage got;
            socklen_t gl = sizeof got;
            getsockname(fds[k], (struct sockaddr *)&got, &gl);
            port = ntohs(got.ss_family == AF_INET ? ((struct sockaddr_in *)&got)->sin_port
                                                  : ((struct sockaddr_in6 *)&got)->sin6_port);
        }
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (unsigned)k };
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[k], &ev);
    }
    printf("port %d\n", port);
    fflush(stdout);

    static char bufs[BATCH][DGRAM];
    static struct sockaddr_storage from[BATCH];
    static struct iovec iov[BATCH];
    static struct mmsghdr msgs[BATCH];
    time_t stop_at = time(NULL) + max_seconds;
    struct epoll_event evs[MAXSOCK];
    while (time(NULL) < stop_at) {
        int n = epoll_wait(ep, evs, MAXSOCK, 1000);
        if (n < 0) { if (errno == EINTR) continue; perror("epoll_wait"); return 1; }
        for (int e = 0; e < n; e++) {
            int fd = fds[evs[e].data.u32];
            for (;;) {
                for (int k = 0; k < BATCH; k++) {
                    iov[k].iov_base = bufs[k];
                    iov[k].iov_len = DGRAM;
                    memset(&msgs[k].msg_hdr, 0, sizeof msgs[k].msg_hdr);
                    msgs[k].msg_hdr.msg_name = &from[k];
                    msgs[k].msg_hdr.msg_namelen = sizeof from[k];
                    msgs[k].msg_hdr.msg_iov = &iov[k];
                    msgs[k].msg_hdr.msg_iovlen = 1;
                }
                int got = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
                if (got < 0) {
                    if (errno == EINTR) continue;
                    break; /* EAGAIN: drained */
                }
                for (int k = 0; k < got; k++) {
                    size_t len = msgs[k].msg_len;
                    if (len >= 4 && memcmp(bufs[k], "WHO?", 4) == 0)
                        len = answer_who(bufs[k], DGRAM, &from[k]);
                    iov[k].iov_len = len;
                }
                int sent = 0;
                while (sent < got) {
                    int s = sendmmsg(fd, msgs + sent, (unsigned)(got - sent), 0);
                    if (s < 0) {
                        if (errno == EINTR) continue;
                        sent++; /* drop the one that failed (ECONNREFUSED etc.) and go on */
                        continue;
                    }
                    sent += s;
                }
                if (got < BATCH) break;
            }
        }
    }
    return 0;
}
