/*
 * sig_connect MODE HOST PORT [HOST2 PORT2]
 *
 * A blocking TCP connect(2) to the numeric IPv4 HOST:PORT and signals, for test_signals.py
 * (run under socksify, through a proxy that may never answer). Prints one JSON line.
 *
 * MODE:
 *   eintr       SIGALRM handler without SA_RESTART, alarm(1): the connect should end with EINTR
 *               after about a second
 *   restart     the same handler with SA_RESTART: the connect goes on (the kernel restarts it);
 *               it ends however the connection ends
 *   longjmp     handler with SA_RESTART that siglongjmps out of the connect; afterwards a
 *               second connect on a new socket, interrupted by an alarm without SA_RESTART,
 *               shows the shim is still usable (not wedged by the jump)
 *   longjmp_nr  the same, the jumping handler without SA_RESTART
 *   refused     connect to HOST:PORT (expected to fail), then connect the SAME socket to
 *               HOST2:PORT2; write "ping\n" and read until the echo comes back
 *   posix       handler without SA_RESTART, alarm(1); after EINTR the program does what POSIX
 *               says ("the connection shall be established asynchronously"): poll for
 *               POLLOUT (10 s), read SO_ERROR, and if 0 write "ping\n" and read the echo
 *   mixed       SIGALRM handler WITH SA_RESTART at 1 s, a SIGUSR1 handler WITHOUT it, SIGUSR1
 *               sent by a timer at 2 s: the first signal must not end the connect, the second
 *               must (EINTR at about 2 s, alarms 1, usr1 1)
 *
 * Keys: "rc", "errno", "elapsed_ms", "alarms" (handler calls), "flags_before"/"flags_after"
 * (fcntl F_GETFL), "fdflags_before"/"fdflags_after" (F_GETFD), and per mode more.
 * Exit 0 when the JSON line was printed, 2 on usage error.
 */
#include "fdtest.h"

#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <time.h>

static volatile sig_atomic_t alarms, usr1s;
static sigjmp_buf jump;
static volatile sig_atomic_t jump_armed;

static void on_alarm(int sig) {
    (void)sig;
    alarms++;
}

static void on_alarm_jump(int sig) {
    (void)sig;
    alarms++;
    if (jump_armed) {
        jump_armed = 0;
        siglongjmp(jump, 1);
    }
}

static void on_usr1(int sig) {
    (void)sig;
    usr1s++;
}

static void handle_signal(int signo, void (*fn)(int), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(signo, &sa, NULL);
}

static void handle(void (*fn)(int), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
}

static int tcp_socket(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) { perror("socket"); exit(1); }
    return fd;
}

/* connect with an alarm after one second; records rc, errno, elapsed, alarms under prefix */
static void timed_connect(const char *prefix, int fd, struct sockaddr_in *to) {
    char key[64];
    alarms = 0;
    alarm(1);
    long long t0 = now_ms();
    int rc = connect(fd, (struct sockaddr *)to, sizeof *to);
    int e = errno;
    long long elapsed = now_ms() - t0;
    alarm(0);
    snprintf(key, sizeof key, "%src", prefix);
    json_int(key, rc);
    snprintf(key, sizeof key, "%serrno", prefix);
    json_str(key, rc == 0 ? "OK" : ename(e));
    snprintf(key, sizeof key, "%selapsed_ms", prefix);
    json_int(key, elapsed);
    snprintf(key, sizeof key, "%salarms", prefix);
    json_int(key, alarms);
}

static void flags(const char *when, int fd) {
    char key[64];
    snprintf(key, sizeof key, "flags_%s", when);
    json_int(key, fcntl(fd, F_GETFL));
    snprintf(key, sizeof key, "fdflags_%s", when);
    json_int(key, fcntl(fd, F_GETFD));
    snprintf(key, sizeof key, "nonblock_%s", when);
    json_bool(key, (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
}

static int mode_signal(struct sockaddr_in *to, int restart) {
    handle(on_alarm, restart ? SA_RESTART : 0);
    int fd = tcp_socket();
    flags("before", fd);
    timed_connect("", fd, to);
    flags("after", fd);
    /* the socket is the program's to close, and closing works */
    json_result("close", close(fd), errno);
    return 0;
}

static int mode_longjmp(struct sockaddr_in *to, int restart) {
    handle(on_alarm_jump, restart ? SA_RESTART : 0);
    int fd = tcp_socket();
    flags("before", fd);
    alarms = 0;
    long long t0 = now_ms();
    volatile int jumped = 0;
    if (sigsetjmp(jump, 1) == 0) {
        jump_armed = 1;
        alarm(1);
        int rc = connect(fd, (struct sockaddr *)to, sizeof *to);
        int e = errno;
        jump_armed = 0;
        alarm(0);
        json_int("rc", rc);
        json_str("errno", rc == 0 ? "OK" : ename(e));
    } else {
        jumped = 1;
    }
    json_bool("jumped", jumped);
    json_int("elapsed_ms", now_ms() - t0);
    flags("after", fd);
    json_result("close", close(fd), errno);
    /* the shim must still work after the jump: a new connect, interrupted normally */
    handle(on_alarm, 0);
    int fd2 = tcp_socket();
    timed_connect("second_", fd2, to);
    flags("second_after", fd2);
    close(fd2);
    return 0;
}

/* "ping\n" to a connected target that writes "peer SRC\n" and echoes: what comes back */
static void exchange(int fd) {
    if (write(fd, "ping\n", 5) != 5) { json_str("write", ename(errno)); return; }
    char buf[512];
    size_t len = 0;
    long long deadline = now_ms() + 5000;
    while (len < sizeof buf - 1 && now_ms() < deadline) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 200) <= 0) continue;
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0) {
            if (n < 0) json_str("read", ename(errno));
            break;
        }
        len += (size_t)n;
        buf[len] = 0;
        if (strstr(buf, "ping\n")) break;
    }
    json_bytes("data", buf, len);
}

static int mode_posix(struct sockaddr_in *to) {
    handle(on_alarm, 0);
    int fd = tcp_socket();
    flags("before", fd);
    timed_connect("", fd, to);
    flags("after", fd);
    long long t0 = now_ms();
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    int n = poll(&p, 1, 10000);
    json_int("poll", n);
    json_int("poll_ms", now_ms() - t0);
    json_bool("pollout", n > 0 && (p.revents & POLLOUT));
    json_bool("pollhup", n > 0 && (p.revents & POLLHUP));
    int err = -1;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    json_str("so_error", ename(err));
    if (n > 0 && err == 0) exchange(fd);
    close(fd);
    return 0;
}

static int mode_mixed(struct sockaddr_in *to) {
    handle(on_alarm, SA_RESTART);
    handle_signal(SIGUSR1, on_usr1, 0);
    timer_t timer;
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR1;
    if (timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0) { perror("timer_create"); exit(1); }
    struct itimerspec at = { .it_value = { .tv_sec = 2 } };
    int fd = tcp_socket();
    flags("before", fd);
    usr1s = 0;
    timer_settime(timer, 0, &at, NULL);
    timed_connect("", fd, to);   /* SIGALRM at 1 s */
    json_int("usr1", usr1s);
    flags("after", fd);
    close(fd);
    return 0;
}

static int mode_refused(struct sockaddr_in *dead, struct sockaddr_in *live) {
    int fd = tcp_socket();
    flags("before", fd);
    long long t0 = now_ms();
    int rc = connect(fd, (struct sockaddr *)dead, sizeof *dead);
    int e = errno;
    json_int("first_rc", rc);
    json_str("first_errno", rc == 0 ? "OK" : ename(e));
    json_int("first_elapsed_ms", now_ms() - t0);
    flags("after_first", fd);
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    rc = getpeername(fd, (struct sockaddr *)&peer, &plen);
    json_str("getpeername_after_first", rc == 0 ? "connected" : ename(errno));
    /* the same socket again, to a live destination */
    rc = connect(fd, (struct sockaddr *)live, sizeof *live);
    e = errno;
    json_int("second_rc", rc);
    json_str("second_errno", rc == 0 ? "OK" : ename(e));
    flags("after_second", fd);
    if (rc != 0) return 0;
    plen = sizeof peer;
    if (getpeername(fd, (struct sockaddr *)&peer, &plen) == 0) {
        char ip[64] = "?", text[96];
        inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
        snprintf(text, sizeof text, "%s:%d", ip, ntohs(peer.sin_port));
        json_str("peername", text);
    } else {
        json_str("peername", ename(errno));
    }
    exchange(fd);
    close(fd);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODE HOST PORT [HOST2 PORT2]\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1];
    struct sockaddr_in to = loopback4(argv[2], atoi(argv[3]));
    int rc;
    if (strcmp(mode, "eintr") == 0) rc = mode_signal(&to, 0);
    else if (strcmp(mode, "restart") == 0) rc = mode_signal(&to, 1);
    else if (strcmp(mode, "longjmp") == 0) rc = mode_longjmp(&to, 1);
    else if (strcmp(mode, "longjmp_nr") == 0) rc = mode_longjmp(&to, 0);
    else if (strcmp(mode, "posix") == 0) rc = mode_posix(&to);
    else if (strcmp(mode, "mixed") == 0) rc = mode_mixed(&to);
    else if (strcmp(mode, "refused") == 0 && argc >= 6) {
        struct sockaddr_in live = loopback4(argv[4], atoi(argv[5]));
        rc = mode_refused(&to, &live);
    } else rc = 2;
    if (rc == 2) {
        fprintf(stderr, "sig_connect: bad mode or arguments\n");
        return 2;
    }
    json_print();
    return 0;
}
