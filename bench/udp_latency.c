/*
 * udp_latency [options] --direct HOST PORT
 * udp_latency [options] --associate PHOST:PPORT HOST PORT
 *
 * Datagram round trips against a UDP echo server (bench/udp_echo_server), on one
 * UDP socket.
 *
 *   --direct HOST PORT    sendto(HOST:PORT) and recvfrom; a reply counts only if it
 *                         comes from HOST:PORT. Under an LD_PRELOAD socksifier this is
 *                         the program whose datagrams the shim wraps and unwraps.
 *   --associate PHOST:PPORT HOST PORT
 *                         speak SOCKS5 by hand: TCP to the proxy, no-auth greeting,
 *                         UDP ASSOCIATE (from the socket's own address), then every
 *                         datagram goes to the relay the proxy names with the RFC 1928
 *                         UDP header for HOST:PORT in front, and every reply must come
 *                         from the relay with a header naming HOST:PORT, which is taken
 *                         off. The hand-written floor for any socksifier.
 *
 * Modes:
 *   latency (default)     N timed iterations (after WARMUP untimed ones) of: send one
 *                         SIZE-byte datagram, receive its echo. Prints
 *                           median_us=<x> p90_us=<x> min_us=<x> mean_us=<x> n=<timed>
 *                           lost=<k> first_us=<x> peer=<ip>:<port>
 *   -T SECONDS            throughput instead: keep WINDOW datagrams outstanding (-W,
 *                         default 32), send a new one for every echo received, for
 *                         SECONDS (after WARMUP echoes). Prints
 *                           pps=<echoes per second> received=<k> lost=<k> seconds=<x>
 *                           window=<W> first_us=<x> peer=<ip>:<port>
 *
 * Before anything is timed the socket's first datagram is "WHO?", which the echo server
 * answers with the sender it sees; first_us is the time from socket() to that answer (for
 * every proxied row it includes setting up the association: by hand with --associate, in
 * the socksifier's connect or first send otherwise). --expect-peer IP exits 3 unless the
 * server saw IP (danted relays from its external address), and the same question is asked
 * again after the timed part, on the same socket, so the whole run is known to have gone
 * through the proxy.
 *
 * A datagram not answered within about 300 ms counts as lost (the iteration is dropped,
 * or the window is refilled); more than max(10, 1%) lost is an error (exit 1).
 * --connect uses connect() + send/recv instead of sendto/recvfrom. -s SIZE is the datagram
 * size (default 32); -r ROOM the buffer each receive offers (default 65536, as a program
 * that cannot know how big the next datagram is; with --associate the header's room is added).
 * Addresses are numeric IPv4/IPv6 (PHOST may be "[v6]:port").
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAXDGRAM 65536

static struct sockaddr_storage target, proxy, relay;
static socklen_t target_len, proxy_len, relay_len;
static int use_assoc = 0, use_connect = 0;
static int fd = -1, ctl = -1;
static unsigned char hdr[22];      /* RSV RSV FRAG ATYP ADDR PORT for the target */
static size_t hdr_len;
static unsigned char txbuf[MAXDGRAM + 32], rxbuf[MAXDGRAM + 32];
static size_t req_size = 32;
static size_t recv_room = 65536;   /* -r: the buffer offered to recv, as a program that does not know sizes */
static volatile sig_atomic_t ticks = 0;   /* SIGALRM every TICK_MS */
#define TICK_MS 100
#define TIMEOUT_TICKS 3

static void on_tick(int sig) { (void)sig; ticks++; }

static int parse_addr(const char *host, long port, struct sockaddr_storage *ss, socklen_t *len) {
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (port < 0 || port > 65535) return -1;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET; s4->sin_port = htons((unsigned short)port); *len = sizeof *s4; return 0;
    }
    if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6; s6->sin6_port = htons((unsigned short)port); *len = sizeof *s6; return 0;
    }
    return -1;
}

static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
    if (a->ss_family != b->ss_family) return 0;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
    }
    return 0;
}

/* SOCKS5 address field (ATYP ADDR PORT) of ss into out; returns its length. */
static size_t put_addr(unsigned char *out, const struct sockaddr_storage *ss) {
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const void *)ss;
        out[0] = 1; memcpy(out + 1, &s4->sin_addr, 4); memcpy(out + 5, &s4->sin_port, 2);
        return 7;
    }
    const struct sockaddr_in6 *s6 = (const void *)ss;
    out[0] = 4; memcpy(out + 1, &s6->sin6_addr, 16); memcpy(out + 17, &s6->sin6_port, 2);
    return 19;
}

static int write_all(int f, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        ssize_t w = write(f, c, n);
        if (w < 0) { if (errno == EINTR) continue; return -1; }
        c += w; n -= (size_t)w;
    }
    return 0;
}

static int read_exact(int f, void *p, size_t n) {
    char *c = p;
    while (n) {
        ssize_t r = read(f, c, n);
        if (r < 0) { if (errno == EINTR) continue; return -1; }
        if (r == 0) { errno = ECONNRESET; return -1; }
        c += r; n -= (size_t)r;
    }
    return 0;
}

/* TCP to the proxy, greeting, UDP ASSOCIATE from our UDP socket's address. Sets relay. */
static int socks5_associate(void) {
    ctl = socket(proxy.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ctl < 0) return -1;
    int one = 1;
    setsockopt(ctl, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(ctl, (struct sockaddr *)&proxy, proxy_len) < 0) return -1;
    unsigned char b[300];
    b[0] = 5; b[1] = 1; b[2] = 0;                        /* VER, NMETHODS, NO AUTH */
    if (write_all(ctl, b, 3) < 0 || read_exact(ctl, b, 2) < 0) return -1;
    if (b[0] != 5 || b[1] != 0) { errno = EPROTO; return -1; }
    struct sockaddr_storage me;
    socklen_t ml = sizeof me;
    if (getsockname(fd, (struct sockaddr *)&me, &ml) < 0) return -1;
    size_t n = 0;
    b[n++] = 5; b[n++] = 3; b[n++] = 0;                  /* VER, UDP ASSOCIATE, RSV */
    n += put_addr(b + n, &me);
    if (write_all(ctl, b, n) < 0 || read_exact(ctl, b, 4) < 0) return -1;
    if (b[0] != 5) { errno = EPROTO; return -1; }
    if (b[1] != 0) { fprintf(stderr, "udp_latency: proxy refused UDP ASSOCIATE (reply %d)\n", b[1]); errno = ECONNREFUSED; return -1; }
    memset(&relay, 0, sizeof relay);
    if (b[3] == 1) {
        struct sockaddr_in *r4 = (struct sockaddr_in *)&relay;
        if (read_exact(ctl, b, 6) < 0) return -1;
        r4->sin_family = AF_INET; memcpy(&r4->sin_addr, b, 4); memcpy(&r4->sin_port, b + 4, 2);
        relay_len = sizeof *r4;
        if (r4->sin_addr.s_addr == htonl(INADDR_ANY) && proxy.ss_family == AF_INET)
            r4->sin_addr = ((struct sockaddr_in *)&proxy)->sin_addr;
    } else if (b[3] == 4) {
        struct sockaddr_in6 *r6 = (struct sockaddr_in6 *)&relay;
        if (read_exact(ctl, b, 18) < 0) return -1;
        r6->sin6_family = AF_INET6; memcpy(&r6->sin6_addr, b, 16); memcpy(&r6->sin6_port, b + 16, 2);
        relay_len = sizeof *r6;
        if (IN6_IS_ADDR_UNSPECIFIED(&r6->sin6_addr) && proxy.ss_family == AF_INET6)
            r6->sin6_addr = ((struct sockaddr_in6 *)&proxy)->sin6_addr;
    } else { errno = EPROTO; return -1; }   /* a relay named by a domain name: not needed here */
    return 0;
}

static long foreign = 0;   /* datagrams skipped: wrong sender or wrong header */

/* Send the payload that the caller wrote at txbuf + hdr_len (the header is already there). */
static int send_dgram(size_t len) {
    const unsigned char *p = use_assoc ? txbuf : txbuf + hdr_len;
    size_t n = use_assoc ? hdr_len + len : len;
    const struct sockaddr_storage *to = use_assoc ? &relay : &target;
    socklen_t tl = use_assoc ? relay_len : target_len;
    for (;;) {
        ssize_t w = use_connect ? send(fd, p, n, 0) : sendto(fd, p, n, 0, (const struct sockaddr *)to, tl);
        if (w >= 0) return 0;
        if (errno != EINTR) return -1;
    }
}

/* Receive one datagram from the peer (or, with --associate, from the relay, header taken
 * off); *out points at its payload. Returns its length, or -1 with errno (EINTR included,
 * so the caller can notice a timeout). Anything else is skipped. */
static ssize_t recv_dgram(unsigned char **out) {
    for (;;) {
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        size_t room = recv_room + hdr_len;
        ssize_t r = use_connect ? recv(fd, rxbuf, room, 0)
                                : recvfrom(fd, rxbuf, room, 0, (struct sockaddr *)&from, &fl);
        if (r < 0) return -1;
        if (!use_connect && !same_addr(&from, use_assoc ? &relay : &target)) { foreign++; continue; }
        if (!use_assoc) { *out = rxbuf; return r; }
        /* RSV RSV FRAG=0 and the target's address: exactly the header we send */
        if ((size_t)r < hdr_len || memcmp(rxbuf, hdr, hdr_len) != 0) { foreign++; continue; }
        *out = rxbuf + hdr_len;
        return r - (ssize_t)hdr_len;
    }
}

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void start_ticks(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_tick;           /* no SA_RESTART: a blocked recv returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = { { 0, TICK_MS * 1000 }, { 0, TICK_MS * 1000 } };
    setitimer(ITIMER_REAL, &it, NULL);
}

/* "WHO?" -> "peer IP PORT" into peer (IP PORT). Up to 5 tries of 1 s. The first call is
 * the socket's first datagram: a socksifier sets up its association inside that send, so
 * it runs under a plain alarm (default action: the process dies if it hangs) and the
 * ticks start only once the send has returned. */
static int probe(char *peer, size_t cap, long long *elapsed_ns, int first) {
    for (int attempt = 0; attempt < 5; attempt++) {
        unsigned char *payload = txbuf + hdr_len;
        memset(payload, ' ', req_size);
        memcpy(payload, "WHO?", 4);
        long long t0 = now_ns();
        if (first && attempt == 0) alarm(10);
        if (send_dgram(req_size) < 0) return -1;
        if (first && attempt == 0) { alarm(0); start_ticks(); }
        long start = ticks;
        for (;;) {
            unsigned char *p;
            ssize_t r = recv_dgram(&p);
            if (r < 0) {
                if (errno != EINTR) return -1;
                if (ticks - start >= 10) break;   /* try again */
                continue;
            }
            if (r >= 5 && memcmp(p, "peer ", 5) == 0) {
                if (elapsed_ns) *elapsed_ns = now_ns() - t0;
                size_t m = (size_t)r - 5 < cap - 1 ? (size_t)r - 5 : cap - 1;
                memcpy(peer, p + 5, m);
                peer[m] = 0;
                return 0;
            }
            /* a late echo from before: skip it */
        }
    }
    errno = ETIMEDOUT;
    return -1;
}

/* "IP PORT" answered by the server -> 0 when IP is the expected one */
static int peer_is(const char *peer, const char *want) {
    size_t wl = strlen(want);
    return strncmp(peer, want, wl) == 0 && (peer[wl] == ' ' || peer[wl] == 0);
}

static int cmp_ll(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static void put_seq(unsigned char *payload, unsigned long seq) {
    static const char hex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--) { payload[i] = (unsigned char)hex[seq & 15]; seq >>= 4; }
}

static long loss_limit(long total) { return total / 100 > 10 ? total / 100 : 10; }

/* latency: one datagram out, its echo back, N times. Returns 0 or exits. */
static void run_latency(long n, long warmup, long long *d, long *timed, long *lost) {
    unsigned char *payload = txbuf + hdr_len;
    for (size_t k = 16; k < req_size; k++) payload[k] = (unsigned char)('a' + k % 26);
    long m = 0;
    *lost = 0;
    for (long k = 0; k < warmup + n; k++) {
        put_seq(payload, (unsigned long)k);
        long start = ticks;
        long long t0 = now_ns();
        if (send_dgram(req_size) < 0) { fprintf(stderr, "udp_latency: iteration %ld: send: %s\n", k, strerror(errno)); exit(1); }
        for (;;) {
            unsigned char *p;
            ssize_t r = recv_dgram(&p);
            if (r < 0) {
                if (errno != EINTR) { fprintf(stderr, "udp_latency: iteration %ld: recv: %s\n", k, strerror(errno)); exit(1); }
                if (ticks - start >= TIMEOUT_TICKS) { ++*lost; goto next; }
                continue;
            }
            if ((size_t)r == req_size && memcmp(p, payload, req_size) == 0) break;
            /* a late echo of a datagram already counted as lost: skip it */
        }
        long long t1 = now_ns();
        if (k >= warmup) d[m++] = t1 - t0;
    next:
        if (*lost > loss_limit(warmup + n)) {
            fprintf(stderr, "udp_latency: %ld datagrams lost by iteration %ld: giving up\n", *lost, k);
            exit(1);
        }
    }
    *timed = m;
}

/* throughput: WINDOW datagrams in flight for SECONDS. Returns echoes per second. */
static double run_throughput(double seconds, long window, long warmup, long *received_out, long *lost, double *elapsed) {
    unsigned char *payload = txbuf + hdr_len;
    for (size_t k = 16; k < req_size; k++) payload[k] = (unsigned char)('a' + k % 26);
    unsigned long seq = 0;
    long received = 0, counted_from = -1;
    long long t_start = 0, deadline = 0, t_end = 0;
    *lost = 0;
    for (long k = 0; k < window; k++) {
        put_seq(payload, seq++);
        if (send_dgram(req_size) < 0) { fprintf(stderr, "udp_latency: send: %s\n", strerror(errno)); exit(1); }
    }
    long progress = ticks, seen = ticks;
    if (warmup == 0) { counted_from = 0; t_start = now_ns(); deadline = t_start + (long long)(seconds * 1e9); }
    for (;;) {
        unsigned char *p;
        ssize_t r = recv_dgram(&p);
        if (r < 0) {
            if (errno != EINTR) { fprintf(stderr, "udp_latency: recv: %s\n", strerror(errno)); exit(1); }
            if (ticks - progress >= TIMEOUT_TICKS) {
                /* nothing came back for a while: count the window as lost and refill it */
                *lost += window;
                if (*lost > loss_limit(received + window)) {
                    fprintf(stderr, "udp_latency: %ld datagrams lost after %ld echoes: giving up\n", *lost, received);
                    exit(1);
                }
                for (long k = 0; k < window; k++) {
                    put_seq(payload, seq++);
                    if (send_dgram(req_size) < 0) { fprintf(stderr, "udp_latency: send: %s\n", strerror(errno)); exit(1); }
                }
                progress = ticks;
            }
            continue;
        }
        if ((size_t)r != req_size || memcmp(p + 16, payload + 16, req_size - 16) != 0) continue;
        received++;
        if (ticks != seen) {   /* at most every TICK_MS: look at the clock */
            seen = progress = ticks;
            if (counted_from >= 0 && now_ns() >= deadline) { t_end = now_ns(); break; }
        }
        if (counted_from < 0 && received >= warmup) {
            counted_from = received;
            t_start = now_ns();
            deadline = t_start + (long long)(seconds * 1e9);
        }
        put_seq(payload, seq++);
        if (send_dgram(req_size) < 0) { fprintf(stderr, "udp_latency: send: %s\n", strerror(errno)); exit(1); }
    }
    *received_out = received - counted_from;
    *elapsed = (double)(t_end - t_start) / 1e9;
    return (double)*received_out / *elapsed;
}

__attribute__((noreturn)) static void usage(const char *p) {
    fprintf(stderr,
            "usage: %s [-n N] [-w WARMUP] [-s SIZE] [-r ROOM] [-T SECONDS [-W WINDOW]] [--connect] [--expect-peer IP]\n"
            "          (--direct HOST PORT | --associate PHOST:PPORT HOST PORT)\n", p);
    exit(2);
}

int main(int argc, char **argv) {
    long n = 5000, warmup = -1, window = 32;
    double seconds = 0;
    const char *socks = NULL, *expect_peer = NULL;
    int direct = 0, i;
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc) n = atol(argv[++i]);
        else if (!strcmp(argv[i], "-w") && i + 1 < argc) warmup = atol(argv[++i]);
        else if (!strcmp(argv[i], "-s") && i + 1 < argc) req_size = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "-r") && i + 1 < argc) recv_room = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "-T") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "-W") && i + 1 < argc) window = atol(argv[++i]);
        else if (!strcmp(argv[i], "--connect")) use_connect = 1;
        else if (!strcmp(argv[i], "--expect-peer") && i + 1 < argc) expect_peer = argv[++i];
        else if (!strcmp(argv[i], "--direct")) direct = 1;
        else if (!strcmp(argv[i], "--associate") && i + 1 < argc) socks = argv[++i];
        else usage(argv[0]);
    }
    if (direct == !!socks || argc - i != 2 || n < 1 || window < 1 || seconds < 0 || req_size < 32 || req_size > 65000 ||
        recv_room < req_size || recv_room > MAXDGRAM)
        usage(argv[0]);
    if (warmup < 0) warmup = seconds > 0 ? 2000 : 200;
    if (parse_addr(argv[i], atol(argv[i + 1]), &target, &target_len) < 0 || atol(argv[i + 1]) < 1) {
        fprintf(stderr, "bad target %s %s\n", argv[i], argv[i + 1]);
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
        if (parse_addr(h, atol(colon + 1), &proxy, &proxy_len) < 0 || atol(colon + 1) < 1) {
            fprintf(stderr, "bad proxy %s\n", socks);
            return 2;
        }
        use_assoc = 1;
    }
    signal(SIGPIPE, SIG_IGN);

    long long first_ns = 0, t_setup = now_ns();
    fd = socket(use_assoc ? proxy.ss_family : target.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) { perror("udp_latency: socket"); return 1; }
    if (use_assoc) {
        /* bind to loopback so the UDP ASSOCIATE can name our address exactly */
        struct sockaddr_storage me;
        socklen_t ml;
        parse_addr(proxy.ss_family == AF_INET ? "127.0.0.1" : "::1", 0, &me, &ml);
        if (bind(fd, (struct sockaddr *)&me, ml) < 0) { perror("udp_latency: bind"); return 1; }
        alarm(10);
        if (socks5_associate() < 0) { perror("udp_latency: UDP ASSOCIATE"); return 1; }
        alarm(0);
        if (relay.ss_family != proxy.ss_family) { fprintf(stderr, "udp_latency: relay of another family\n"); return 1; }
        hdr[0] = hdr[1] = hdr[2] = 0;
        hdr_len = 3 + put_addr(hdr + 3, &target);
        memcpy(txbuf, hdr, hdr_len);
    }
    if (use_connect) {
        const struct sockaddr_storage *to = use_assoc ? &relay : &target;
        alarm(10);   /* a socksifier may open its association here */
        if (connect(fd, (const struct sockaddr *)to, use_assoc ? relay_len : target_len) < 0) {
            perror("udp_latency: connect");
            return 1;
        }
        alarm(0);
    }

    char peer[128];
    if (probe(peer, sizeof peer, NULL, 1) < 0) { perror("udp_latency: peer check"); return 1; }
    first_ns = now_ns() - t_setup;  /* socket() on: the association's set-up included */
    if (expect_peer && !peer_is(peer, expect_peer)) {
        fprintf(stderr, "udp_latency: echo server saw %s, expected %s (not proxied?)\n", peer, expect_peer);
        return 3;
    }

    char line[512];
    if (seconds > 0) {
        long received, lost;
        double elapsed;
        double pps = run_throughput(seconds, window, warmup, &received, &lost, &elapsed);
        snprintf(line, sizeof line, "pps=%.0f received=%ld lost=%ld seconds=%.3f window=%ld", pps, received,
                 lost, elapsed, window);
    } else {
        long long *d = malloc(sizeof *d * (size_t)n);
        if (!d) { perror("malloc"); return 1; }
        long m, lost;
        run_latency(n, warmup, d, &m, &lost);
        if (m < 1) { fprintf(stderr, "udp_latency: nothing timed\n"); return 1; }
        qsort(d, (size_t)m, sizeof *d, cmp_ll);
        double median = (m % 2) ? d[m / 2] : (d[m / 2 - 1] + d[m / 2]) / 2.0;
        long p90i = (long)((9 * m + 9) / 10) - 1; /* nearest rank */
        if (p90i < 0) p90i = 0;
        double sum = 0;
        for (long k = 0; k < m; k++) sum += (double)d[k];
        snprintf(line, sizeof line, "median_us=%.1f p90_us=%.1f min_us=%.1f mean_us=%.1f n=%ld lost=%ld",
                 median / 1000.0, d[p90i] / 1000.0, d[0] / 1000.0, sum / m / 1000.0, m, lost);
    }

    /* the same socket, after the timed part: still through the proxy? */
    char after[128];
    if (probe(after, sizeof after, NULL, 0) < 0) { perror("udp_latency: peer check after the run"); return 1; }
    if (expect_peer && !peer_is(after, expect_peer)) {
        fprintf(stderr, "udp_latency: after the run the echo server saw %s, expected %s\n", after, expect_peer);
        return 3;
    }
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
    for (char *c = peer; *c; c++) if (*c == ' ') *c = ':';
    printf("%s first_us=%.1f peer=%s skipped=%ld\n", line, first_ns / 1000.0, peer, foreign);
    return 0;
}
