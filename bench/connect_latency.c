/*
 * connect_latency [-n N] [-w WARMUP] [-s SIZE] [--socks5 PHOST:PPORT]
 *                 [--expect-peer IP] HOST PORT
 * connect_latency [same options] --name NAME PORT
 *
 * Runs N timed iterations (after WARMUP untimed ones) of
 *   socket, connect to HOST:PORT, write SIZE bytes (ending in '\n'),
 *   read SIZE bytes back, read EOF, close
 * against an echo server (bench/echo_server, which closes first after a line,
 * keeping TIME_WAIT off the client's ephemeral ports) and prints one line:
 *   median_us=<x> p90_us=<x> min_us=<x> mean_us=<x> n=<N>
 *
 * --socks5 PHOST:PPORT  speak SOCKS5 by hand instead: connect to the proxy,
 *                       no-auth greeting, CONNECT HOST:PORT, then the request.
 *                       (The hand-written SOCKS5 client baseline.)
 * --name NAME          connect by name: every iteration (timed) first calls
 *                       getaddrinfo(NAME, PORT, AF_INET/SOCK_STREAM), connects to
 *                       the first result and calls freeaddrinfo, as a real
 *                       program does. With --socks5, no lookup is made: the
 *                       name goes to the proxy as SOCKS5 address type 3 (the
 *                       hand-written floor for remote DNS).
 * --expect-peer IP      before timing, make one connection the same way and ask
 *                       the echo server who it sees ("WHO?"); exit 3 unless it
 *                       answers "peer IP". Proves the connection was proxied.
 *
 * Addresses (HOST, PHOST) are numeric IPv4/IPv6 (PHOST may be "[v6]:port"). A watchdog
 * (SIGALRM, 10 s per iteration) kills the run if anything hangs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_storage target, proxy;
static socklen_t target_len, proxy_len;
static int use_socks = 0;
static size_t req_size = 32;
static const char *target_name = NULL; /* --name: resolved on every round */
static char target_port_text[8];

static int parse_addr(const char *host, long port, struct sockaddr_storage *ss, socklen_t *len) {
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (port < 1 || port > 65535) return -1;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET; s4->sin_port = htons((unsigned short)port); *len = sizeof *s4; return 0;
    }
    if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6; s6->sin6_port = htons((unsigned short)port); *len = sizeof *s6; return 0;
    }
    return -1;
}

static int write_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) { if (errno == EINTR) continue; return -1; }
        c += w; n -= (size_t)w;
    }
    return 0;
}

static int read_exact(int fd, void *p, size_t n) {
    char *c = p;
    while (n) {
        ssize_t r = read(fd, c, n);
        if (r < 0) { if (errno == EINTR) continue; return -1; }
        if (r == 0) { errno = ECONNRESET; return -1; }
        c += r; n -= (size_t)r;
    }
    return 0;
}

static int socks5_handshake(int fd) {
    unsigned char b[32];
    b[0] = 5; b[1] = 1; b[2] = 0;                  /* VER, NMETHODS, NO AUTH */
    if (write_all(fd, b, 3) < 0) return -1;
    if (read_exact(fd, b, 2) < 0) return -1;
    if (b[0] != 5 || b[1] != 0) { errno = EPROTO; return -1; }
    size_t n = 0;
    b[n++] = 5; b[n++] = 1; b[n++] = 0;            /* VER, CONNECT, RSV */
    if (target_name) {                             /* the proxy resolves it */
        size_t len = strlen(target_name);
        unsigned short port = htons((unsigned short)atoi(target_port_text));
        unsigned char req[3 + 2 + 255 + 2];        /* len <= 255, checked in main */
        memcpy(req, b, n);
        req[n++] = 3; req[n++] = (unsigned char)len; memcpy(req + n, target_name, len); n += len;
        memcpy(req + n, &port, 2); n += 2;
        if (write_all(fd, req, n) < 0) return -1;
    } else if (target.ss_family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&target;
        b[n++] = 1; memcpy(b + n, &s4->sin_addr, 4); n += 4; memcpy(b + n, &s4->sin_port, 2); n += 2;
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&target;
        b[n++] = 4; memcpy(b + n, &s6->sin6_addr, 16); n += 16; memcpy(b + n, &s6->sin6_port, 2); n += 2;
    }
    if (!target_name && write_all(fd, b, n) < 0) return -1;
    if (read_exact(fd, b, 4) < 0) return -1;
    if (b[0] != 5) { errno = EPROTO; return -1; }
    if (b[1] != 0) { errno = ECONNREFUSED; return -1; }
    size_t rest;
    if (b[3] == 1) rest = 4 + 2;
    else if (b[3] == 4) rest = 16 + 2;
    else if (b[3] == 3) { if (read_exact(fd, b, 1) < 0) return -1; rest = (size_t)b[0] + 2; }
    else { errno = EPROTO; return -1; }
    unsigned char tmp[300];
    return read_exact(fd, tmp, rest);
}

/* one round trip; reply (SIZE bytes) is left in `reply`. Returns 0 or -1 (errno set). */
static int one_round(const char *request, char *reply) {
    if (target_name && !use_socks) {
        /* look the name up every time, as a program that connects by name does */
        struct addrinfo hints, *res = NULL;
        memset(&hints, 0, sizeof hints);
        hints.ai_family = AF_INET;
        hints.ai_socktype = SOCK_STREAM;
        int g = getaddrinfo(target_name, target_port_text, &hints, &res);
        if (g != 0 || !res) {
            fprintf(stderr, "connect_latency: getaddrinfo(%s): %s\n", target_name,
                    g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
            if (res) freeaddrinfo(res);
            errno = EHOSTUNREACH;
            return -1;
        }
        memcpy(&target, res->ai_addr, res->ai_addrlen);
        target_len = res->ai_addrlen;
        freeaddrinfo(res);
    }
    int fd = socket(use_socks ? proxy.ss_family : target.ss_family, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    int rc = -1;
    if (use_socks) {
        if (connect(fd, (struct sockaddr *)&proxy, proxy_len) < 0) goto out;
        if (socks5_handshake(fd) < 0) goto out;
    } else {
        if (connect(fd, (struct sockaddr *)&target, target_len) < 0) goto out;
    }
    if (write_all(fd, request, req_size) < 0) goto out;
    if (read_exact(fd, reply, req_size) < 0) goto out;
    /* the server closes after one line: wait for its FIN so we close second */
    char extra;
    ssize_t r;
    while ((r = read(fd, &extra, 1)) < 0 && errno == EINTR) {}
    if (r != 0) { if (r > 0) errno = EPROTO; goto out; }
    rc = 0;
out:;
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

static int cmp_ll(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

__attribute__((noreturn)) static void usage(const char *p) {
    fprintf(stderr, "usage: %s [-n N] [-w WARMUP] [-s SIZE] [--socks5 PHOST:PPORT] [--expect-peer IP] HOST PORT\n"
                    "       %s [same options] --name NAME PORT\n", p, p);
    exit(2);
}

int main(int argc, char **argv) {
    long n = 2000, warmup = 50;
    const char *socks = NULL, *expect_peer = NULL;
    int i;
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc) n = atol(argv[++i]);
        else if (!strcmp(argv[i], "-w") && i + 1 < argc) warmup = atol(argv[++i]);
        else if (!strcmp(argv[i], "-s") && i + 1 < argc) req_size = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--socks5") && i + 1 < argc) socks = argv[++i];
        else if (!strcmp(argv[i], "--expect-peer") && i + 1 < argc) expect_peer = argv[++i];
        else if (!strcmp(argv[i], "--name") && i + 1 < argc) target_name = argv[++i];
        else usage(argv[0]);
    }
    if (argc - i != (target_name ? 1 : 2) || n < 1 || warmup < 0 || req_size < 32 || req_size > 65536) usage(argv[0]);
    if (target_name) {
        long port = atol(argv[i]);
        if (port < 1 || port > 65535 || strlen(target_name) > 255) {
            fprintf(stderr, "bad target %s:%s\n", target_name, argv[i]);
            return 2;
        }
        snprintf(target_port_text, sizeof target_port_text, "%ld", port);
    } else if (parse_addr(argv[i], atol(argv[i + 1]), &target, &target_len) < 0) {
        fprintf(stderr, "bad target %s:%s\n", argv[i], argv[i + 1]);
        return 2;
    }
    if (socks) {
        char host[128];
        const char *colon = strrchr(socks, ':');
        if (!colon || (size_t)(colon - socks) >= sizeof host) usage(argv[0]);
        memcpy(host, socks, (size_t)(colon - socks));
        host[colon - socks] = 0;
        char *h = host;
        size_t hl = strlen(h);
        if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') { h[hl - 1] = 0; h++; }
        if (parse_addr(h, atol(colon + 1), &proxy, &proxy_len) < 0) {
            fprintf(stderr, "bad proxy %s\n", socks);
            return 2;
        }
        use_socks = 1;
    }
    signal(SIGPIPE, SIG_IGN);

    char *request = malloc(req_size), *reply = malloc(req_size + 1);
    long long *d = malloc(sizeof *d * (size_t)n);
    if (!request || !reply || !d) { perror("malloc"); return 1; }

    if (expect_peer) {
        memset(request, ' ', req_size);
        memcpy(request, "WHO?", 4);
        if (req_size > 0) request[req_size - 1] = '\n';
        alarm(10);
        if (one_round(request, reply) < 0) { perror("connect_latency: peer check"); return 1; }
        alarm(0);
        reply[req_size] = 0;
        for (size_t k = req_size; k > 0 && (reply[k - 1] == ' ' || reply[k - 1] == '\n'); k--) reply[k - 1] = 0;
        char want[128];
        snprintf(want, sizeof want, "peer %s", expect_peer);
        if (strcmp(reply, want) != 0) {
            fprintf(stderr, "connect_latency: echo server saw '%s', expected '%s' (not proxied?)\n", reply, want);
            return 3;
        }
    }

    for (size_t k = 0; k < req_size; k++) request[k] = (char)('a' + k % 26);
    if (req_size > 0) request[req_size - 1] = '\n';
    for (long k = 0; k < warmup + n; k++) {
        alarm(10);
        long long t0 = now_ns();
        if (one_round(request, reply) < 0) {
            fprintf(stderr, "connect_latency: iteration %ld: %s\n", k, strerror(errno));
            return 1;
        }
        long long t1 = now_ns();
        if (memcmp(request, reply, req_size) != 0) {
            fprintf(stderr, "connect_latency: iteration %ld: reply differs from request\n", k);
            return 1;
        }
        if (k >= warmup) d[k - warmup] = t1 - t0;
    }
    alarm(0);

    qsort(d, (size_t)n, sizeof *d, cmp_ll);
    double median = (n % 2) ? d[n / 2] : (d[n / 2 - 1] + d[n / 2]) / 2.0;
    long p90i = (long)((9 * n + 9) / 10) - 1; /* nearest rank */
    if (p90i < 0) p90i = 0;
    double sum = 0;
    for (long k = 0; k < n; k++) sum += (double)d[k];
    printf("median_us=%.1f p90_us=%.1f min_us=%.1f mean_us=%.1f n=%ld\n", median / 1000.0,
           d[p90i] / 1000.0, d[0] / 1000.0, sum / n / 1000.0, n);
    return 0;
}
