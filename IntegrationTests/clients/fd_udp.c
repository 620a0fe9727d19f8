/*
 * fd_udp ECHO_PORT PROXY_PORT SCENARIO [ARG] [--nofile N]
 *
 * Descriptor semantics of a proxied UDP socket, for test_descriptors.py. Every scenario first
 * makes a UDP socket proxied: it talks to the UDP echo server at 127.0.0.1:ECHO_PORT, which
 * socksify (with --proxy-loopback) sends through a SOCKS5 UDP association of the proxy on
 * PROXY_PORT. The echo answers "from SRC:PORT|payload", so a reply starting with the proxy's
 * outgoing address shows the datagram went through the relay (and a reply with a SOCKS header
 * in front shows a descriptor the shim forgot). The shim's control connection is the TCP
 * socket whose kernel peer port is PROXY_PORT.
 *
 * --nofile N: setrlimit(RLIMIT_NOFILE) soft limit N first.
 *
 * Scenarios (each prints one JSON line; the test judges it):
 *   high                 the descriptors open while one connected and one unconnected proxied
 *                        socket live, and after both are closed
 *   dup2file OP          OP = dup2 | dup3 | sys_dup2 | sys_dup3: a file is put onto the
 *                        shim's own descriptor number, then the UDP socket is used and closed
 *   dup OP               OP = dup | fcntl_dupfd | fcntl_dupfd_500 | fcntl_dupfd_cloexec |
 *                        sys_dup | sys_fcntl_dupfd: the copy of a connected proxied socket
 *                        sends and receives, also after the original is closed
 *   closeall OP          OP = close_range | sys_close_range | closefrom | close | sys_close:
 *                        every descriptor >= 3 (three proxied ones) closed, then a file
 *                        opened at the same number must read and write normally
 *   cloexec OP           OP = close_range | sys_close_range, with CLOSE_RANGE_CLOEXEC: all stay
 *                        open, the proxied socket keeps working
 *   leak N               N proxied sockets opened, used and closed in six ways
 *   keep OP              OP = close_range | closefrom | loop: the program closes every
 *                        descriptor above its proxied socket (close_range(u+1, ~0U),
 *                        closefrom(u+1), or close() on each number up to the limit); the shim's
 *                        own descriptor is not the program's to close: the socket keeps working
 *   child OP             OP = fork_closefrom | vfork_close_range | vfork_close: a child closes
 *                        every descriptor >= 3 (the way spawn code does before exec) and execs
 *                        /bin/true; the parent's proxied socket must not notice
 *
 * Exit status 0 when the JSON line was printed, 2 on a usage error.
 */
#include "fdtest.h"

#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static int echo_port, proxy_port;
static struct sockaddr_in echo_addr;

/* Sends payload on fd (write, send or sendto to the echo) and waits up to 2 s for the answer
 * (read, recv or recvfrom). reply gets the answer (or "ERR <name>" / "TIMEOUT"); sender gets
 * "ip:port" of recvfrom. */
static void roundtrip(int fd, const char *how_send, const char *how_recv, const char *payload,
                      char *reply, size_t cap, char *sender, size_t sender_cap) {
    ssize_t n;
    size_t len = strlen(payload);
    if (sender && sender_cap) sender[0] = 0;
    if (strcmp(how_send, "write") == 0) n = write(fd, payload, len);
    else if (strcmp(how_send, "send") == 0) n = send(fd, payload, len, 0);
    else n = sendto(fd, payload, len, 0, (struct sockaddr *)&echo_addr, sizeof echo_addr);
    if (n < 0) { snprintf(reply, cap, "ERR send %s", ename(errno)); return; }
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int r = poll(&p, 1, 2000);
    if (r <= 0) { snprintf(reply, cap, r == 0 ? "TIMEOUT" : "ERR poll %s", ename(errno)); return; }
    char buf[2048];
    if (strcmp(how_recv, "read") == 0) n = read(fd, buf, sizeof buf - 1);
    else if (strcmp(how_recv, "recv") == 0) n = recv(fd, buf, sizeof buf - 1, 0);
    else {
        struct sockaddr_in from;
        socklen_t flen = sizeof from;
        n = recvfrom(fd, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &flen);
        if (n >= 0 && sender) {
            char ip[64] = "?";
            inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
            snprintf(sender, sender_cap, "%s:%d", ip, ntohs(from.sin_port));
        }
    }
    if (n < 0) { snprintf(reply, cap, "ERR recv %s", ename(errno)); return; }
    buf[n] = 0;
    /* keep printable text only: a SOCKS header left on a datagram shows as \u escapes */
    size_t k = (size_t)n < cap - 1 ? (size_t)n : cap - 1;
    memcpy(reply, buf, k);
    reply[k] = 0;
    for (size_t i = 0; i < k; i++)
        if ((unsigned char)reply[i] < 0x20 || (unsigned char)reply[i] >= 0x7f) reply[i] = '?';
}

static int udp_socket(void) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) { perror("socket"); exit(1); }
    return fd;
}

static int udp_connected(void) {
    int fd = udp_socket();
    if (connect(fd, (struct sockaddr *)&echo_addr, sizeof echo_addr) != 0) {
        json_str("setup_connect", ename(errno));
    }
    return fd;
}

static void json_roundtrip(const char *key, int fd, const char *how_send, const char *how_recv,
                           const char *payload) {
    char reply[1024], sender[64];
    roundtrip(fd, how_send, how_recv, payload, reply, sizeof reply, sender, sizeof sender);
    json_str(key, reply);
    if (sender[0]) {
        char k2[64];
        snprintf(k2, sizeof k2, "%s_sender", key);
        json_str(k2, sender);
    }
}

static int cloexec_of(int fd) {
    int f = fcntl(fd, F_GETFD);
    return f >= 0 && (f & FD_CLOEXEC);
}

/* ---- scenarios ----------------------------------------------------------- */

static int scenario_high(void) {
    json_fds("fds_before", 0);
    int a = udp_connected();
    json_int("connected_fd", a);
    json_roundtrip("connected_reply", a, "write", "read", "hello-high");
    json_fds("fds_one", 0);
    int b = udp_socket();
    json_int("unconnected_fd", b);
    json_roundtrip("unconnected_reply", b, "sendto", "recvfrom", "hello-second");
    json_fds("fds_two", 0);
    close(a);
    close(b);
    json_fds("fds_after", 0);
    json_int("controls_after", count_controls(proxy_port));
    return 0;
}

static int scenario_dup2file(const char *op) {
    int u = udp_connected();
    json_int("udp_fd", u);
    json_roundtrip("reply_before", u, "send", "recv", "before");
    int s = find_control(proxy_port);
    json_int("shim_fd", s);
    if (s < 0) return 0;

    char path[] = "/tmp/fd_udp_fileXXXXXX";
    int f = mkstemp(path);
    const char content[] = "intact-data\n";
    if (f < 0 || write(f, content, sizeof content - 1) != (ssize_t)(sizeof content - 1)) {
        json_str("file", ename(errno));
        return 0;
    }
    struct stat want;
    fstat(f, &want);
    long rc;
    if (strcmp(op, "dup2") == 0) rc = dup2(f, s);
    else if (strcmp(op, "dup3") == 0) rc = dup3(f, s, O_CLOEXEC);
    else if (strcmp(op, "sys_dup3") == 0) rc = syscall(SYS_dup3, f, s, 0);
#ifdef SYS_dup2
    else if (strcmp(op, "sys_dup2") == 0) rc = syscall(SYS_dup2, f, s);
#endif
    else return 2;
    json_result("dup_rc", rc, errno);
    close(f);
    /* the association still works: the shim moved its descriptor before it was replaced */
    json_roundtrip("reply_after_dup", u, "send", "recv", "after-dup");
    json_roundtrip("reply_after_dup_write", u, "write", "read", "after-dup-write");
    json_int("controls_mid", count_controls(proxy_port));
    json_fds("fds_mid", 3);
    json_result("close_udp", close(u), errno);

    /* the program's file is still at s, the very same file, whole */
    struct stat got;
    int same = fstat(s, &got) == 0 && S_ISREG(got.st_mode) && got.st_ino == want.st_ino &&
               got.st_dev == want.st_dev;
    json_bool("same_file", same);
    json_bool("file_cloexec", cloexec_of(s));
    char buf[128] = "";
    ssize_t n = pread(s, buf, sizeof buf - 1, 0);
    json_result("pread_n", n, errno);
    if (n >= 0) json_bytes("pread", buf, (size_t)n);
    /* and it is usable as the program's own file: write() and read() (both interposed) */
    lseek(s, 0, SEEK_END);
    ssize_t w = write(s, "more\n", 5);
    json_result("write_n", w, errno);
    lseek(s, 0, SEEK_SET);
    n = read(s, buf, sizeof buf - 1);
    json_result("read_n", n, errno);
    if (n >= 0) json_bytes("read", buf, (size_t)n);
    json_int("controls_after", count_controls(proxy_port));
    json_fds("fds_after", 3);
    close(s);
    unlink(path);
    return 0;
}

static int scenario_dup(const char *op) {
    int u = udp_connected();
    json_int("udp_fd", u);
    json_roundtrip("reply_orig", u, "send", "recv", "orig");
    long d;
    if (strcmp(op, "dup") == 0) d = dup(u);
    else if (strcmp(op, "fcntl_dupfd") == 0) d = fcntl(u, F_DUPFD, 0);
    else if (strcmp(op, "fcntl_dupfd_500") == 0) d = fcntl(u, F_DUPFD, 500);
    else if (strcmp(op, "fcntl_dupfd_cloexec") == 0) d = fcntl(u, F_DUPFD_CLOEXEC, 0);
    else if (strcmp(op, "sys_dup") == 0) d = syscall(SYS_dup, u);
    else if (strcmp(op, "sys_fcntl_dupfd") == 0) d = syscall(SYS_fcntl, u, F_DUPFD_CLOEXEC, 0);
    else return 2;
    json_result("dup_fd", d, errno);
    if (d < 0) return 0;
    json_bool("dup_cloexec", cloexec_of((int)d));
    json_roundtrip("dup_write", (int)d, "write", "read", "dup-write");
    json_roundtrip("dup_send", (int)d, "send", "recv", "dup-send");
    json_roundtrip("dup_recvfrom", (int)d, "send", "recvfrom", "dup-recvfrom");
    /* the original still works too */
    json_roundtrip("orig_after_dup", u, "write", "read", "orig-again");
    json_result("close_orig", close(u), errno);
    json_int("controls_after_close_orig", count_controls(proxy_port));
    json_roundtrip("dup_after_close_orig", (int)d, "write", "read", "dup-alone");
    json_result("close_dup", close((int)d), errno);
    json_int("controls_after", count_controls(proxy_port));
    json_fds("fds_after", 3);
    return 0;
}

static void reuse_number(void) {
    /* a file opened now takes the lowest free number: the first proxied socket's */
    char path[] = "/tmp/fd_udp_reuseXXXXXX";
    int f = mkstemp(path);
    json_result("file_fd", f, errno);
    if (f < 0) return;
    unlink(path);
    ssize_t w = write(f, "file-data", 9);
    json_result("file_write", w, errno);
    json_result("file_lseek", lseek(f, 0, SEEK_SET), errno);
    char buf[64];
    ssize_t n = read(f, buf, sizeof buf);
    json_result("file_read_n", n, errno);
    if (n >= 0) json_bytes("file_read", buf, (size_t)n);
    n = pread(f, buf, 4, 5);
    if (n >= 0) json_bytes("file_pread", buf, (size_t)n);
    /* the kernel's answers for a file, not a socket layer's */
    n = recv(f, buf, sizeof buf, MSG_DONTWAIT);
    json_result("file_recv", n, errno);
    struct stat st;
    json_bool("file_is_regular", fstat(f, &st) == 0 && S_ISREG(st.st_mode));
    close(f);
}

static int scenario_closeall(const char *op) {
    json_fds("fds_before", 3);
    int u1 = udp_connected();
    json_roundtrip("reply1", u1, "write", "read", "one");
    int u2 = udp_socket();
    json_roundtrip("reply2", u2, "sendto", "recvfrom", "two");
    int u3 = dup(u1);
    json_roundtrip("reply3", u3, "send", "recv", "three");
    json_int("u1", u1);
    json_int("u2", u2);
    json_int("u3", u3);
    json_int("controls_open", count_controls(proxy_port));
    json_fds("fds_open", 3);
    long rc = 0;
    if (strcmp(op, "close_range") == 0) rc = close_range(3, ~0U, 0);
    else if (strcmp(op, "sys_close_range") == 0) rc = syscall(SYS_close_range, 3, ~0U, 0);
    else if (strcmp(op, "closefrom") == 0) closefrom(3);
    else if (strcmp(op, "close") == 0) rc = close(u1) | close(u2) | close(u3);
    else if (strcmp(op, "sys_close") == 0)
        rc = syscall(SYS_close, u1) | syscall(SYS_close, u2) | syscall(SYS_close, u3);
    else return 2;
    json_result("rc", rc, errno);
    json_fds("fds_after", 3);
    json_int("controls_after", count_controls(proxy_port));
    reuse_number();
    /* the shim still works: a new proxied socket gets a new association */
    int u4 = udp_socket();
    json_roundtrip("reply_new", u4, "sendto", "recvfrom", "new-socket");
    close(u4);
    json_int("controls_end", count_controls(proxy_port));
    json_fds("fds_end", 3);
    return 0;
}

static int scenario_cloexec(const char *op) {
    int u = udp_connected();
    json_int("udp_fd", u);
    json_roundtrip("reply_before", u, "send", "recv", "before");
    json_fds("fds_open", 3);
    long rc;
    if (strcmp(op, "close_range") == 0) rc = close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    else if (strcmp(op, "sys_close_range") == 0) rc = syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
    else return 2;
    json_result("rc", rc, errno);
    json_fds("fds_after", 3);
    json_int("controls_after", count_controls(proxy_port));
    json_roundtrip("reply_after", u, "write", "read", "after-cloexec");
    json_roundtrip("reply_after_recvfrom", u, "send", "recvfrom", "after-cloexec-2");
    close(u);
    json_int("controls_closed", count_controls(proxy_port));
    json_fds("fds_closed", 3);
    return 0;
}

/* One proxied socket, used and closed in way i % 6. Returns 1 when every reply came through
 * the proxy (reply starts with "from " + via). */
static int leak_once(int i, const char *via) {
    char payload[32], reply[1024];
    snprintf(payload, sizeof payload, "leak-%d", i);
    char want[64];
    snprintf(want, sizeof want, "from %s:", via);
    int ok = 1;
#define CHECK(fd, s, r) do { \
        roundtrip((fd), (s), (r), payload, reply, sizeof reply, NULL, 0); \
        if (strncmp(reply, want, strlen(want)) != 0) ok = 0; \
    } while (0)
    int fd, d;
    switch (i % 6) {
    case 0:
        fd = udp_socket(); CHECK(fd, "sendto", "recvfrom"); close(fd);
        break;
    case 1:
        fd = udp_connected(); CHECK(fd, "send", "recv");
        d = dup(fd); close(fd); CHECK(d, "write", "read"); close(d);
        break;
    case 2:
        fd = udp_connected(); CHECK(fd, "send", "recv");
        d = dup2(fd, fd + 40); CHECK(d, "send", "recv"); close(d); close(fd);
        break;
    case 3:
        fd = udp_connected(); CHECK(fd, "write", "read");
        d = fcntl(fd, F_DUPFD_CLOEXEC, 0); CHECK(d, "send", "recv");
        close_range((unsigned)d, (unsigned)d, 0); close_range((unsigned)fd, (unsigned)fd, 0);
        break;
    case 4:
        fd = udp_socket(); CHECK(fd, "sendto", "recvfrom"); syscall(SYS_close, fd);
        break;
    case 5:
        fd = udp_socket(); CHECK(fd, "sendto", "recvfrom");
        d = dup3(fd, fd + 41, O_CLOEXEC); close(fd); CHECK(d, "sendto", "recvfrom"); close(d);
        break;
    }
#undef CHECK
    return ok;
}

static int scenario_leak(int count, const char *via) {
    leak_once(0, via);  /* the first one may set up lasting state */
    int fds[MAX_FDS];
    int before = list_fds(fds, MAX_FDS);
    json_int("before", before);
    int ok = 0;
    for (int i = 0; i < count; i++) ok += leak_once(i, via);
    json_int("ok", ok);
    json_int("after", list_fds(fds, MAX_FDS));
    json_int("controls", count_controls(proxy_port));
    json_fds("fds_after", 3);
    return 0;
}

static int scenario_keep(const char *op) {
    int u = udp_connected();
    json_int("udp_fd", u);
    json_roundtrip("reply_before", u, "send", "recv", "before");
    json_fds("fds_open", 3);
    long rc = 0;
    if (strcmp(op, "close_range") == 0) rc = close_range((unsigned)u + 1, ~0U, 0);
    else if (strcmp(op, "closefrom") == 0) closefrom(u + 1);
    else if (strcmp(op, "loop") == 0) {
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        int closed = 0;
        for (int fd = u + 1; fd < (int)rl.rlim_cur; fd++)
            if (close(fd) == 0) closed++;
        json_int("loop_closed", closed);
    } else return 2;
    json_result("rc", rc, errno);
    json_fds("fds_after", 3);
    json_int("controls_after", count_controls(proxy_port));
    json_roundtrip("reply_after", u, "send", "recv", "after");
    json_roundtrip("reply_after_write", u, "write", "read", "after-write");
    close(u);
    json_int("controls_closed", count_controls(proxy_port));
    json_fds("fds_closed", 3);
    return 0;
}

static int scenario_child(const char *op) {
    int a = udp_connected();
    json_int("connected_fd", a);
    json_roundtrip("connected_before", a, "send", "recv", "before-a");
    int b = udp_socket();
    json_int("unconnected_fd", b);
    json_roundtrip("unconnected_before", b, "sendto", "recvfrom", "before-b");
    json_fds("fds_open", 3);
    pid_t pid;
    char *const argv[] = { "/bin/true", NULL };
    if (strcmp(op, "fork_closefrom") == 0) {
        pid = fork();
        if (pid == 0) { closefrom(3); execv(argv[0], argv); _exit(127); }
    } else if (strcmp(op, "vfork_close_range") == 0) {
        pid = vfork();
        if (pid == 0) { close_range(3, ~0U, 0); execv(argv[0], argv); _exit(127); }
    } else if (strcmp(op, "vfork_close") == 0) {
        pid = vfork();
        if (pid == 0) { close(a); close(b); execv(argv[0], argv); _exit(127); }
    } else return 2;
    int status = -1;
    if (pid > 0) waitpid(pid, &status, 0);
    json_int("child_status", status);
    json_fds("fds_after_child", 3);
    json_roundtrip("connected_after", a, "send", "recv", "after-a");
    json_roundtrip("unconnected_after", b, "sendto", "recvfrom", "after-b");
    json_fds("fds_after_use", 3);
    close(a);
    close(b);
    json_int("controls_closed", count_controls(proxy_port));
    json_fds("fds_closed", 3);
    return 0;
}

int main(int argc, char **argv) {
    int nofile = 0;
    const char *via = "127.0.0.3";
    char *args[8];
    int nargs = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--nofile") == 0 && i + 1 < argc) nofile = atoi(argv[++i]);
        else if (strcmp(argv[i], "--via") == 0 && i + 1 < argc) via = argv[++i];
        else if (nargs < 8) args[nargs++] = argv[i];
    }
    if (nargs < 3) {
        fprintf(stderr, "usage: %s ECHO_PORT PROXY_PORT SCENARIO [ARG] [--nofile N] [--via IP]\n", argv[0]);
        return 2;
    }
    echo_port = atoi(args[0]);
    proxy_port = atoi(args[1]);
    echo_addr = loopback4("127.0.0.1", echo_port);
    const char *scenario = args[2];
    const char *arg = nargs > 3 ? args[3] : "";
    if (nofile > 0) {
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        rl.rlim_cur = (rlim_t)nofile;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) { perror("setrlimit"); return 1; }
    }
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    json_int("nofile", rl.rlim_cur == RLIM_INFINITY ? -1 : (long long)rl.rlim_cur);
    int rc;
    if (strcmp(scenario, "high") == 0) rc = scenario_high();
    else if (strcmp(scenario, "dup2file") == 0) rc = scenario_dup2file(arg);
    else if (strcmp(scenario, "dup") == 0) rc = scenario_dup(arg);
    else if (strcmp(scenario, "closeall") == 0) rc = scenario_closeall(arg);
    else if (strcmp(scenario, "cloexec") == 0) rc = scenario_cloexec(arg);
    else if (strcmp(scenario, "leak") == 0) rc = scenario_leak(atoi(arg), via);
    else if (strcmp(scenario, "keep") == 0) rc = scenario_keep(arg);
    else if (strcmp(scenario, "child") == 0) rc = scenario_child(arg);
    else rc = 2;
    if (rc == 2) {
        fprintf(stderr, "fd_udp: unknown scenario or operation: %s %s\n", scenario, arg);
        return 2;
    }
    json_print();
    return 0;
}
