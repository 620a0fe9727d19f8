/* fdtest.h: small helpers shared by the descriptor and signal clients (fd_udp.c,
 * sig_connect.c): a JSON line built piece by piece, errno names, the descriptors open in
 * the process (from /proc/self/fd) and what each one is, a monotonic clock.
 *
 * Everything here talks to the kernel through the same libc calls a program would use,
 * except where noted (getpeername through syscall(2), which the shim passes through
 * unchanged, so a control connection shows its real peer: the proxy). */
#ifndef FDTEST_H
#define FDTEST_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* ---- errno names -------------------------------------------------------- */

static inline const char *ename(int e) {
    switch (e) {
    case 0: return "OK";
    case EINTR: return "EINTR";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case ENETUNREACH: return "ENETUNREACH";
    case EACCES: return "EACCES";
    case EPROTO: return "EPROTO";
    case ECONNRESET: return "ECONNRESET";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EINPROGRESS: return "EINPROGRESS";
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case EALREADY: return "EALREADY";
    case EISCONN: return "EISCONN";
    case ENOTCONN: return "ENOTCONN";
    case EPIPE: return "EPIPE";
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case ENOTSOCK: return "ENOTSOCK";
    case EMFILE: return "EMFILE";
    case ENOSYS: return "ENOSYS";
    case EDESTADDRREQ: return "EDESTADDRREQ";
    case ECONNABORTED: return "ECONNABORTED";
    case ENOENT: return "ENOENT";
    default: {
        static char buf[32];
        snprintf(buf, sizeof buf, "errno=%d", e);
        return buf;
    }
    }
}

/* ---- one JSON object on one line ------------------------------------------ */

static char json_buf[65536];
static size_t json_len;

static inline void json_raw(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(json_buf + json_len, sizeof json_buf - json_len, fmt, ap);
    va_end(ap);
    if (n > 0) json_len += (size_t)n;
    if (json_len >= sizeof json_buf) json_len = sizeof json_buf - 1;
}

static inline void json_sep(void) {
    if (json_len == 0) json_raw("{");
    else json_raw(", ");
}

static inline void json_escaped(const char *s, size_t n) {
    json_raw("\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') json_raw("\\%c", c);
        else if (c < 0x20 || c >= 0x7f) json_raw("\\u%04x", c);
        else json_raw("%c", c);
    }
    json_raw("\"");
}

static inline void json_int(const char *key, long long v) { json_sep(); json_raw("\"%s\": %lld", key, v); }
static inline void json_bool(const char *key, int v) { json_sep(); json_raw("\"%s\": %s", key, v ? "true" : "false"); }
static inline void json_str(const char *key, const char *v) {
    json_sep();
    json_raw("\"%s\": ", key);
    json_escaped(v, strlen(v));
}
static inline void json_bytes(const char *key, const char *v, size_t n) {
    json_sep();
    json_raw("\"%s\": ", key);
    json_escaped(v, n);
}
/* key: the errno name of a failed call (-1), or the number the call returned */
static inline void json_result(const char *key, long long rc, int saved_errno) {
    if (rc < 0) json_str(key, ename(saved_errno));
    else json_int(key, rc);
}

static inline void json_print(void) {
    if (json_len == 0) json_raw("{");
    json_raw("}");
    fputs(json_buf, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    json_len = 0;
}

/* ---- the clock ------------------------------------------------------------ */

static inline long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- descriptors -------------------------------------------------------- */

#define MAX_FDS 4096

/* The descriptors open in this process, ascending, without the one used to read the
 * directory. Returns how many (at most max). */
static inline int list_fds(int *out, int max) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int own = dirfd(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        int fd = atoi(e->d_name);
        if (fd == own) continue;
        if (n < max) out[n++] = fd;
    }
    closedir(d);
    for (int i = 1; i < n; i++)  /* insertion sort: small sets */
        for (int j = i; j > 0 && out[j - 1] > out[j]; j--) {
            int t = out[j]; out[j] = out[j - 1]; out[j - 1] = t;
        }
    return n;
}

static inline int fd_in(int fd, const int *set, int n) {
    for (int i = 0; i < n; i++)
        if (set[i] == fd) return 1;
    return 0;
}

/* The peer port of a TCP socket as the kernel has it (syscall: not the shim's getpeername,
 * which would name a proxied connection's destination), or -1. */
static inline int kernel_peer_port(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (syscall(SYS_getpeername, fd, (struct sockaddr *)&ss, &len) != 0) return -1;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

/* "file", "udp", "tcp", "tcp->PORT" (a connected TCP socket and its peer port), "socket",
 * "pipe", "other", or "closed" */
static inline void describe_fd(int fd, char *out, size_t n) {
    struct stat st;
    if (fstat(fd, &st) != 0) { snprintf(out, n, "closed"); return; }
    if (S_ISREG(st.st_mode)) { snprintf(out, n, "file"); return; }
    if (S_ISFIFO(st.st_mode)) { snprintf(out, n, "pipe"); return; }
    if (!S_ISSOCK(st.st_mode)) { snprintf(out, n, "other"); return; }
    int type = 0;
    socklen_t len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) { snprintf(out, n, "socket"); return; }
    if (type == SOCK_DGRAM) { snprintf(out, n, "udp"); return; }
    if (type == SOCK_STREAM) {
        int port = kernel_peer_port(fd);
        if (port >= 0) snprintf(out, n, "tcp->%d", port);
        else snprintf(out, n, "tcp");
        return;
    }
    snprintf(out, n, "socket");
}

/* The open descriptors as a JSON array: [{"fd": N, "kind": "...", "cloexec": bool}, ...],
 * only those >= from. */
static inline void json_fds(const char *key, int from) {
    int fds[MAX_FDS];
    int n = list_fds(fds, MAX_FDS);
    json_sep();
    json_raw("\"%s\": [", key);
    int first = 1;
    for (int i = 0; i < n; i++) {
        if (fds[i] < from) continue;
        char kind[64];
        describe_fd(fds[i], kind, sizeof kind);
        int fdflags = fcntl(fds[i], F_GETFD);
        json_raw("%s{\"fd\": %d, \"kind\": \"%s\", \"cloexec\": %s}", first ? "" : ", ", fds[i], kind,
                 (fdflags >= 0 && (fdflags & FD_CLOEXEC)) ? "true" : "false");
        first = 0;
    }
    json_raw("]");
}

/* How many descriptors are TCP connections to proxy_port (the shim's control connections). */
static inline int count_controls(int proxy_port) {
    int fds[MAX_FDS];
    int n = list_fds(fds, MAX_FDS);
    int count = 0;
    for (int i = 0; i < n; i++) {
        char kind[64];
        describe_fd(fds[i], kind, sizeof kind);
        char want[32];
        snprintf(want, sizeof want, "tcp->%d", proxy_port);
        if (strcmp(kind, want) == 0) count++;
    }
    return count;
}

/* The first descriptor that is a TCP connection to proxy_port, or -1. */
static inline int find_control(int proxy_port) {
    int fds[MAX_FDS];
    int n = list_fds(fds, MAX_FDS);
    for (int i = 0; i < n; i++) {
        if (kernel_peer_port(fds[i]) == proxy_port) return fds[i];
    }
    return -1;
}

static inline struct sockaddr_in loopback4(const char *ip, int port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

#endif
