/*
 * conn [-n N] [-w WARMUP] [--socks5 PHOST:PPORT] [--time] [--gap-us U] [--who IP] [--smaps FILE] [--hwm] HOST PORT
 *
 * The client of bench/run's connection rows. N times (after WARMUP untimed times):
 *   plain:    socket, connect(HOST:PORT), close                       (3 calls)
 *   --socks5: socket, connect(PHOST:PPORT), send the no-auth greeting (5 1 0), recv the
 *             method selection (2 bytes), send CONNECT HOST:PORT (10 bytes), recv the reply
 *             (10 bytes), close                                        (7 calls)
 *             (send and recv, the calls socksify makes, so the two sets of names compare)
 * The --socks5 form is the smallest correct SOCKS5 client: the floor for any socksifier, which
 * runs the plain form with the exchange hidden inside connect. Nothing else is called inside the
 * loop, so `strace -f -c` over two runs of different N gives the system calls per connection.
 *
 * --time    print "median_ns=… p90_ns=… min_ns=… cpu_ns=… n=…": from just before socket to the
 *           moment the socket is usable (connect returned; with --socks5, the reply read), close
 *           not timed; cpu_ns is this process's user+system CPU time per connection over the
 *           timed loop (getrusage), close included: what the client itself spends, whatever the
 *           proxy's and the scheduler's delays.
 * --gap-us U  with --time, sleep U us after each connection (untimed), so the processes of a
 *           benchmark that share one CPU at real-time priority leave it idle for a while and the
 *           kernel never throttles them (sched_rt_runtime_us).
 * --who IP  first, untimed: one more connection made the same way sends "WHO?" to
 *           bench/echo_server, which answers with the address it sees; exit 3 unless it is IP.
 *           (microsocks -b 127.0.0.2: a connection that went direct cannot pass.)
 * --smaps F at the end, copy /proc/self/smaps to F (where the resident memory is).
 * --hwm     at the end, print "hwm_kib=…": VmHWM from /proc/self/status, the peak resident set
 *           of this program since its exec (what /usr/bin/time -f %M reports, without whatever
 *           ran in the process before the exec).
 * Addresses are numeric IPv4. Any failure exits 1 with a line on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in target, proxy;
static int use_socks;

static void die(const char *what) {
    fprintf(stderr, "conn: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void parse_ipv4(const char *host, const char *port, struct sockaddr_in *out) {
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    long p = strtol(port, NULL, 10);
    if (inet_pton(AF_INET, host, &out->sin_addr) != 1 || p < 1 || p > 65535) {
        fprintf(stderr, "conn: not an IPv4 address and port: %s %s\n", host, port);
        exit(2);
    }
    out->sin_port = htons((unsigned short)p);
}

static void read_exact(int fd, unsigned char *buffer, size_t length) {
    while (length > 0) {
        ssize_t n = recv(fd, buffer, length, 0);
        if (n == 0) { errno = ECONNRESET; die("read"); }
        if (n < 0) { if (errno == EINTR) continue; die("read"); }
        buffer += n;
        length -= (size_t)n;
    }
}

static void write_all(int fd, const unsigned char *buffer, size_t length) {
    while (length > 0) {
        ssize_t n = send(fd, buffer, length, MSG_NOSIGNAL);
        if (n < 0) { if (errno == EINTR) continue; die("write"); }
        buffer += n;
        length -= (size_t)n;
    }
}

// A socket connected to the target, directly (plain) or through the hand-written exchange.
static int open_connection(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    if (!use_socks) {
        if (connect(fd, (struct sockaddr *)&target, sizeof target) != 0) die("connect");
        return fd;
    }
    if (connect(fd, (struct sockaddr *)&proxy, sizeof proxy) != 0) die("connect to the proxy");
    static const unsigned char greeting[3] = {5, 1, 0};
    unsigned char answer[10];
    write_all(fd, greeting, sizeof greeting);
    read_exact(fd, answer, 2);
    if (answer[0] != 5 || answer[1] != 0) { fprintf(stderr, "conn: proxy refused no-auth\n"); exit(1); }
    unsigned char request[10] = {5, 1, 0, 1};
    memcpy(request + 4, &target.sin_addr, 4);
    memcpy(request + 8, &target.sin_port, 2);
    write_all(fd, request, sizeof request);
    read_exact(fd, answer, 10);  // microsocks answers with an IPv4 bound address
    if (answer[0] != 5 || answer[1] != 0) { fprintf(stderr, "conn: proxy reply %d\n", answer[1]); exit(1); }
    return fd;
}

static void check_peer(const char *expected) {
    int fd = open_connection();
    unsigned char line[32];
    memset(line, ' ', sizeof line);
    memcpy(line, "WHO?", 4);
    line[sizeof line - 1] = '\n';
    write_all(fd, line, sizeof line);
    read_exact(fd, line, sizeof line);
    close(fd);
    char seen[sizeof line + 1];
    memcpy(seen, line, sizeof line);
    seen[sizeof line] = 0;
    char want[64];
    snprintf(want, sizeof want, "peer %s ", expected);
    if (strncmp(seen, want, strlen(want)) != 0) {
        while (strlen(seen) > 0 && (seen[strlen(seen) - 1] == ' ' || seen[strlen(seen) - 1] == '\n')) seen[strlen(seen) - 1] = 0;
        fprintf(stderr, "conn: the echo server saw \"%s\", not \"peer %s\": not proxied\n", seen, expected);
        exit(3);
    }
}

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int by_value(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static void print_hwm(void) {
    int in = open("/proc/self/status", O_RDONLY);
    if (in < 0) die("/proc/self/status");
    char buffer[8192];
    ssize_t n = read(in, buffer, sizeof buffer - 1);
    close(in);
    if (n <= 0) die("/proc/self/status");
    buffer[n] = 0;
    const char *line = strstr(buffer, "VmHWM:");
    if (!line) { fprintf(stderr, "conn: no VmHWM\n"); exit(1); }
    printf("hwm_kib=%ld\n", strtol(line + 6, NULL, 10));
}

static void copy_smaps(const char *path) {
    int in = open("/proc/self/smaps", O_RDONLY);
    int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0) die("smaps");
    char buffer[65536];
    ssize_t n;
    while ((n = read(in, buffer, sizeof buffer)) > 0) {
        if (write(out, buffer, (size_t)n) != n) die("smaps");
    }
    close(in);
    close(out);
}

int main(int argc, char **argv) {
    long count = 1, warmup = 0;
    int timed = 0, hwm = 0;
    long gap_us = 0;
    const char *who = NULL, *smaps = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *o = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "-n") && value) { count = atol(value); i++; }
        else if (!strcmp(o, "-w") && value) { warmup = atol(value); i++; }
        else if (!strcmp(o, "--time")) timed = 1;
        else if (!strcmp(o, "--hwm")) hwm = 1;
        else if (!strcmp(o, "--gap-us") && value) { gap_us = atol(value); i++; }
        else if (!strcmp(o, "--who") && value) { who = value; i++; }
        else if (!strcmp(o, "--smaps") && value) { smaps = value; i++; }
        else if (!strcmp(o, "--socks5") && value) {
            char host[64];
            const char *colon = strrchr(value, ':');
            if (!colon || (size_t)(colon - value) >= sizeof host) { fprintf(stderr, "conn: --socks5 HOST:PORT\n"); return 2; }
            memcpy(host, value, (size_t)(colon - value));
            host[colon - value] = 0;
            parse_ipv4(host, colon + 1, &proxy);
            use_socks = 1;
            i++;
        } else { fprintf(stderr, "conn: unknown option %s\n", o); return 2; }
    }
    if (argc - i != 2 || count < 0 || warmup < 0) {
        fprintf(stderr, "usage: conn [-n N] [-w WARMUP] [--socks5 PHOST:PPORT] [--time] [--who IP] [--gap-us U] [--smaps FILE] [--hwm] HOST PORT\n");
        return 2;
    }
    parse_ipv4(argv[i], argv[i + 1], &target);
    if (who) check_peer(who);

    long long *samples = timed && count > 0 ? malloc(sizeof *samples * (size_t)count) : NULL;
    if (timed && count > 0 && !samples) die("malloc");
    for (long k = 0; k < warmup; k++) close(open_connection());
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    for (long k = 0; k < count; k++) {
        if (timed) {
            long long start = now_ns();
            int fd = open_connection();
            samples[k] = now_ns() - start;
            close(fd);
            if (gap_us > 0) {
                struct timespec pause = {gap_us / 1000000, (gap_us % 1000000) * 1000};
                nanosleep(&pause, NULL);
            }
        } else {
            close(open_connection());
        }
    }
    getrusage(RUSAGE_SELF, &after);
    if (timed && count > 0) {
        long long cpu = (after.ru_utime.tv_sec - before.ru_utime.tv_sec + after.ru_stime.tv_sec - before.ru_stime.tv_sec) * 1000000000LL
                      + (after.ru_utime.tv_usec - before.ru_utime.tv_usec + after.ru_stime.tv_usec - before.ru_stime.tv_usec) * 1000LL;
        qsort(samples, (size_t)count, sizeof *samples, by_value);
        printf("median_ns=%lld p90_ns=%lld min_ns=%lld cpu_ns=%lld n=%ld\n", samples[count / 2], samples[count * 9 / 10], samples[0],
               cpu / count, count);
    }
    if (smaps) copy_smaps(smaps);
    if (hwm) print_hwm();
    return 0;
}
