/*
 * thread_storm HOST PORT THREADS CONNS_PER_THREAD [EXPECTED_PEER]
 *
 * THREADS threads each run CONNS_PER_THREAD rounds of
 *   socket / blocking connect / read one line / close.
 * The target writes "peer <ip>\n" on accept. A line equal to
 * "peer EXPECTED_PEER" (default 127.0.0.2, the address the SOCKS server binds
 * its outgoing connections to) counts as "via", any other line as "other".
 *
 * Prints: total=<n> ok=<n> failed=<n> via=<n> other=<n>
 * Exit 0 only if failed==0 and other==0; 1 otherwise; 2 on usage errors.
 * Diagnostics (first few failures, fd counts before/after) go to stderr.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_TIMEOUT_MS 10000
#define MAX_REPORTED_FAILURES 10

static struct sockaddr_storage target;
static socklen_t target_len;
static int conns_per_thread;
static char expected_line[128];

static atomic_long n_ok, n_failed, n_via, n_other;
static atomic_int n_reported;

static void report_failure(const char *what, int err) {
    if (atomic_fetch_add(&n_reported, 1) < MAX_REPORTED_FAILURES)
        fprintf(stderr, "thread_storm: %s: %s\n", what, err ? strerror(err) : "no data");
}

static void report_other(const char *line) {
    if (atomic_fetch_add(&n_reported, 1) < MAX_REPORTED_FAILURES)
        fprintf(stderr, "thread_storm: unexpected line: '%s'\n", line);
}

/* read one line (without the newline) into buf; 0 ok, -1 error (errno set or 0 for EOF) */
static int read_line(int fd, char *buf, size_t cap) {
    size_t len = 0;
    while (len < cap - 1) {
        struct pollfd p = { .fd = fd, .events = POLLIN, .revents = 0 };
        int r = poll(&p, 1, READ_TIMEOUT_MS);
        if (r < 0) { if (errno == EINTR) continue; return -1; }
        if (r == 0) { errno = ETIMEDOUT; return -1; }
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0) { if (errno == EINTR || errno == EAGAIN) continue; return -1; }
        if (n == 0) { if (len > 0) break; errno = 0; return -1; }
        len += (size_t)n;
        if (memchr(buf, '\n', len)) break;
    }
    buf[len] = 0;
    char *nl = strchr(buf, '\n');
    if (nl) *nl = 0;
    size_t l = strlen(buf);
    if (l && buf[l - 1] == '\r') buf[l - 1] = 0;
    return 0;
}

static void *worker(void *arg) {
    (void)arg;
    char line[256];
    for (int i = 0; i < conns_per_thread; i++) {
        int fd = socket(target.ss_family, SOCK_STREAM, 0);
        if (fd < 0) { report_failure("socket", errno); atomic_fetch_add(&n_failed, 1); continue; }
        if (connect(fd, (struct sockaddr *)&target, target_len) != 0) {
            report_failure("connect", errno);
            atomic_fetch_add(&n_failed, 1);
            close(fd);
            continue;
        }
        if (read_line(fd, line, sizeof line) != 0) {
            report_failure("read", errno);
            atomic_fetch_add(&n_failed, 1);
            close(fd);
            continue;
        }
        close(fd);
        atomic_fetch_add(&n_ok, 1);
        if (strcmp(line, expected_line) == 0) {
            atomic_fetch_add(&n_via, 1);
        } else {
            report_other(line);
            atomic_fetch_add(&n_other, 1);
        }
    }
    return NULL;
}

static int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* the directory's own fd */
}

static long parse_pos(const char *s, const char *what, long max) {
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!end || *end || v < 1 || v > max) {
        fprintf(stderr, "bad %s: %s\n", what, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv) {
    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: %s HOST PORT THREADS CONNS_PER_THREAD [EXPECTED_PEER]\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    long port = parse_pos(argv[2], "port", 65535);
    long threads = parse_pos(argv[3], "THREADS", 10000);
    conns_per_thread = (int)parse_pos(argv[4], "CONNS_PER_THREAD", 100000000);
    snprintf(expected_line, sizeof expected_line, "peer %s", argc == 6 ? argv[5] : "127.0.0.2");

    memset(&target, 0, sizeof target);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&target;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&target;
    if (inet_pton(AF_INET, argv[1], &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((unsigned short)port);
        target_len = sizeof *s4;
    } else if (inet_pton(AF_INET6, argv[1], &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((unsigned short)port);
        target_len = sizeof *s6;
    } else {
        fprintf(stderr, "HOST must be a numeric IPv4 or IPv6 address: %s\n", argv[1]);
        return 2;
    }

    int fds_before = count_fds();
    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    if (!tids) { perror("calloc"); return 1; }
    long started = 0;
    for (long t = 0; t < threads; t++) {
        int e = pthread_create(&tids[t], NULL, worker, NULL);
        if (e != 0) {
            fprintf(stderr, "pthread_create: %s\n", strerror(e));
            atomic_fetch_add(&n_failed, (long)conns_per_thread * (threads - t));
            break;
        }
        started++;
    }
    for (long t = 0; t < started; t++) pthread_join(tids[t], NULL);
    free(tids);
    int fds_after = count_fds();

    long total = threads * (long)conns_per_thread;
    printf("total=%ld ok=%ld failed=%ld via=%ld other=%ld\n", total, atomic_load(&n_ok),
           atomic_load(&n_failed), atomic_load(&n_via), atomic_load(&n_other));
    fflush(stdout);
    fprintf(stderr, "thread_storm: fds_before=%d fds_after=%d\n", fds_before, fds_after);
    return (atomic_load(&n_failed) == 0 && atomic_load(&n_other) == 0) ? 0 : 1;
}
