/*
 * leak_probe [-t SECONDS] OP ARGS...
 *
 * One socket operation that has been (or could be) a way past socksify's proxy, for
 * test_fail_closed.py. Each step's result is printed on one JSON line, in order:
 *   {"op": "...", "socket": "ok", "connect": "EPERM", "send": "EDESTADDRREQ", "reply": "..."}
 * "ok" (or a number: bytes sent, a descriptor) on success, else the errno name
 * (strerrorname_np), or for getaddrinfo the EAI_ name. Exit 0 once the steps have run (the test
 * judges them), 2 on a usage error.
 *
 * -t SECONDS bounds every blocking socket call (SO_SNDTIMEO and SO_RCVTIMEO; default 5): a
 * negative control whose SYN nobody answers returns instead of waiting for the kernel's retries.
 *
 * OPs:
 *   tfo-sendto HOST PORT       TCP, sendto(MSG_FASTOPEN) with the address, then read the reply
 *   tfo-sendmsg HOST PORT      the same with sendmsg (msg_name) and MSG_FASTOPEN
 *   tfo-connect HOST PORT      TCP_FASTOPEN_CONNECT set, then connect, send, read the reply
 *   tcp6-24 HOST6 PORT         TCP connect with a 24-byte sockaddr_in6 (no sin6_scope_id), send, read
 *   udp6-24 HOST6 PORT         UDP sendto with a 24-byte sockaddr_in6
 *   tcp4-short HOST PORT       TCP connect, AF_INET with length 8
 *   udp4-short HOST PORT       UDP sendto, AF_INET with length 8
 *   unspec PROTO HOST PORT     PROTO udp|udplite: sendto an IPv4 address whose family says AF_UNSPEC
 *                              (an IPv4 UDP socket's kernel takes it as AF_INET)
 *   gai FLAGS NAME PORT        getaddrinfo(NAME, PORT, {AF_INET, SOCK_STREAM, FLAGS}), then connect,
 *                              send and read the reply
 *   gai-a NAME PORT            the same lookup with getaddrinfo_a(GAI_WAIT), then connect, send, read
 *   dgram PROTO MODE HOST PORT PROTO udplite|icmp (a ping socket); MODE connect-send, connect-write,
 *                              sendto or sendmsg; HOST IPv4 or IPv6 (then ICMPv6)
 *   socket DOMAIN TYPE PROTO   socket(2) with these numbers; socket-syscall: through syscall(SYS_socket)
 *   raw-ping HOST              socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), sendto an ICMP echo request
 *   stream PROTO HOST PORT     PROTO mptcp|sctp|seqpacket over AF_INET: socket, connect, send, read
 *   io_uring                   syscall(SYS_io_uring_setup, 8, &params)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/io_uring.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif
#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef TCP_FASTOPEN_CONNECT
#define TCP_FASTOPEN_CONNECT 30
#endif
#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif

static int timeout_s = 5;
static int steps;

/* ---- output ------------------------------------------------------------------------------ */

static void json_string(const char *s, size_t n) {
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20 || c >= 0x7f) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

static void field(const char *key, const char *value) {
    printf("%s", steps++ ? ", " : "{");
    json_string(key, strlen(key));
    printf(": ");
    json_string(value, strlen(value));
}

static const char *errno_name(int e) {
    const char *name = strerrorname_np(e);
    return name ? name : "E?";
}

/* Records a step: "ok" (or the number) when ret >= 0, else errno's name. Returns ret. */
static long step(const char *key, long ret) {
    int saved = errno;
    char text[32];
    if (ret >= 0) snprintf(text, sizeof text, "%ld", ret);
    field(key, ret >= 0 ? (ret == 0 ? "ok" : text) : errno_name(saved));
    errno = saved;
    return ret;
}

static int finish(void) {
    printf("%s}\n", steps ? "" : "{");
    fflush(stdout);
    return 0;
}

/* ---- helpers ----------------------------------------------------------------------------- */

static void bound_blocking_calls(int fd) {
    struct timeval tv = { timeout_s, 0 };
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

static int new_socket(int domain, int type, int protocol) {
    int fd = socket(domain, type, protocol);
    step("socket", fd >= 0 ? 0 : -1);
    if (fd >= 0) bound_blocking_calls(fd);
    return fd;
}

static int v4(const char *host, const char *port, struct sockaddr_in *out) {
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    out->sin_port = htons((uint16_t)atoi(port));
    return inet_pton(AF_INET, host, &out->sin_addr) == 1;
}

static int v6(const char *host, const char *port, struct sockaddr_in6 *out) {
    memset(out, 0, sizeof *out);
    out->sin6_family = AF_INET6;
    out->sin6_port = htons((uint16_t)atoi(port));
    return inet_pton(AF_INET6, host, &out->sin6_addr) == 1;
}

/* Reads what the target answers (its "peer ADDR" line, then the echo of `sent`) into "reply". */
static void read_reply(int fd, const char *sent) {
    char buf[512];
    size_t have = 0;
    while (have < sizeof buf - 1) {
        ssize_t n = recv(fd, buf + have, sizeof buf - 1 - have, 0);
        if (n <= 0) {
            if (n < 0 && have == 0) step("recv", -1);
            break;
        }
        have += (size_t)n;
        buf[have] = 0;
        if (strstr(buf, sent)) break;
    }
    buf[have] = 0;
    field("reply", buf);
}

static void send_and_read(int fd, const char *payload) {
    if (step("send", send(fd, payload, strlen(payload), 0)) >= 0) read_reply(fd, payload);
}

static uint16_t checksum(const void *data, size_t n) {
    const uint8_t *p = data;
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1) sum += (uint32_t)p[n - 1] << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return htons((uint16_t)~sum);
}

/* An ICMP echo request (type 8, or 128 for ICMPv6) with the checksum filled in (ping sockets
   and ICMPv6 redo it). */
static size_t echo_request(uint8_t *out, size_t size, int type) {
    const char *data = "leak-probe-ping";
    size_t n = 8 + strlen(data);
    if (n > size) return 0;
    memset(out, 0, 8);
    out[0] = (uint8_t)type;
    out[5] = 0x2a;  /* id 0x002a */
    out[7] = 1;     /* sequence 1 */
    memcpy(out + 8, data, strlen(data));
    uint16_t sum = checksum(out, n);
    memcpy(out + 2, &sum, 2);
    return n;
}

/* ---- operations -------------------------------------------------------------------------- */

static int op_tfo(int use_sendmsg, char **args) {
    struct sockaddr_in to;
    if (!v4(args[0], args[1], &to)) return 2;
    int fd = new_socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return finish();
    const char *payload = "tfo-data\n";
    long sent;
    if (use_sendmsg) {
        struct iovec iov = { (void *)payload, strlen(payload) };
        struct msghdr m = { &to, sizeof to, &iov, 1, NULL, 0, 0 };
        sent = step("send", sendmsg(fd, &m, MSG_FASTOPEN));
    } else {
        sent = step("send", sendto(fd, payload, strlen(payload), MSG_FASTOPEN,
                                   (struct sockaddr *)&to, sizeof to));
    }
    if (sent >= 0) read_reply(fd, payload);
    close(fd);
    return finish();
}

// glibc exports __connect as well as connect: a program linked against it must not get past.
extern int __connect(int fd, const struct sockaddr *address, socklen_t length);

static int op_libc_alias_connect(char **args) {
    struct sockaddr_in to;
    if (!v4(args[0], args[1], &to)) return 2;
    int fd = new_socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return finish();
    if (step("connect", __connect(fd, (struct sockaddr *)&to, sizeof to)) == 0) send_and_read(fd, "alias\n");
    close(fd);
    return finish();
}

static int op_tfo_connect(char **args) {
    struct sockaddr_in to;
    if (!v4(args[0], args[1], &to)) return 2;
    int fd = new_socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return finish();
    int on = 1;
    step("setsockopt", setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &on, sizeof on));
    if (step("connect", connect(fd, (struct sockaddr *)&to, sizeof to)) == 0) send_and_read(fd, "tfo-connect\n");
    close(fd);
    return finish();
}

static int op_tcp6_24(char **args) {
    struct sockaddr_in6 to;
    if (!v6(args[0], args[1], &to)) return 2;
    int fd = new_socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0) return finish();
    if (step("connect", connect(fd, (struct sockaddr *)&to, 24)) == 0) send_and_read(fd, "tcp6-24\n");
    close(fd);
    return finish();
}

static int op_udp6_24(char **args) {
    struct sockaddr_in6 to;
    if (!v6(args[0], args[1], &to)) return 2;
    int fd = new_socket(AF_INET6, SOCK_DGRAM, 0);
    if (fd < 0) return finish();
    const char *payload = "udp6-24\n";
    step("send", sendto(fd, payload, strlen(payload), 0, (struct sockaddr *)&to, 24));
    close(fd);
    return finish();
}

static int op_short4(int type, char **args) {
    struct sockaddr_in to;
    if (!v4(args[0], args[1], &to)) return 2;
    int fd = new_socket(AF_INET, type, 0);
    if (fd < 0) return finish();
    if (type == SOCK_STREAM) step("connect", connect(fd, (struct sockaddr *)&to, 8));
    else step("send", sendto(fd, "short\n", 6, 0, (struct sockaddr *)&to, 8));
    close(fd);
    return finish();
}

static int op_unspec(char **args) {
    struct sockaddr_in to;
    if (!v4(args[1], args[2], &to)) return 2;
    int protocol = strcmp(args[0], "udplite") == 0 ? IPPROTO_UDPLITE : IPPROTO_UDP;
    int fd = new_socket(AF_INET, SOCK_DGRAM, protocol);
    if (fd < 0) return finish();
    to.sin_family = AF_UNSPEC;
    step("send", sendto(fd, "unspec\n", 7, 0, (struct sockaddr *)&to, sizeof to));
    close(fd);
    return finish();
}

static const char *gai_name(int status) {
    switch (status) {
    case EAI_BADFLAGS: return "EAI_BADFLAGS";
    case EAI_NONAME: return "EAI_NONAME";
    case EAI_AGAIN: return "EAI_AGAIN";
    case EAI_FAIL: return "EAI_FAIL";
    case EAI_FAMILY: return "EAI_FAMILY";
    case EAI_SOCKTYPE: return "EAI_SOCKTYPE";
    case EAI_SERVICE: return "EAI_SERVICE";
    case EAI_MEMORY: return "EAI_MEMORY";
    case EAI_SYSTEM: return errno_name(errno);
    default: return "EAI_?";
    }
}

/* Records the lookup's outcome, then connects to its first address, sends and reads. */
static int use_lookup(int status, struct addrinfo *res) {
    field("getaddrinfo", status == 0 ? "ok" : gai_name(status));
    if (status != 0) return finish();
    char text[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, text, sizeof text);
    field("address", text);
    int fd = new_socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (fd >= 0 && step("connect", connect(fd, res->ai_addr, res->ai_addrlen)) == 0)
        send_and_read(fd, "gai\n");
    if (fd >= 0) close(fd);
    freeaddrinfo(res);
    return finish();
}

static void stream4_hints(struct addrinfo *hints, int flags) {
    memset(hints, 0, sizeof *hints);
    hints->ai_family = AF_INET;
    hints->ai_socktype = SOCK_STREAM;
    hints->ai_flags = flags;
}

static int op_gai(char **args) {
    struct addrinfo hints, *res = NULL;
    stream4_hints(&hints, (int)strtol(args[0], NULL, 0));
    int status = getaddrinfo(args[1], args[2], &hints, &res);
    return use_lookup(status, res);
}

static int op_gai_a(char **args) {
    struct addrinfo hints;
    stream4_hints(&hints, 0);
    struct gaicb request = { .ar_name = args[0], .ar_service = args[1], .ar_request = &hints };
    struct gaicb *list[1] = { &request };
    int status = getaddrinfo_a(GAI_WAIT, list, 1, NULL);
    if (status == 0) status = gai_error(&request);
    return use_lookup(status, status == 0 ? request.ar_result : NULL);
}

static int op_dgram(char **args) {
    const char *proto = args[0], *mode = args[1];
    struct sockaddr_storage to;
    socklen_t tolen;
    int family;
    if (v4(args[2], args[3], (struct sockaddr_in *)&to)) family = AF_INET, tolen = sizeof(struct sockaddr_in);
    else if (v6(args[2], args[3], (struct sockaddr_in6 *)&to)) family = AF_INET6, tolen = sizeof(struct sockaddr_in6);
    else return 2;
    int icmp = strcmp(proto, "icmp") == 0;
    if (!icmp && strcmp(proto, "udplite") != 0) return 2;
    uint8_t payload[64];
    size_t n = icmp ? echo_request(payload, sizeof payload, family == AF_INET ? 8 : 128)
                    : (size_t)snprintf((char *)payload, sizeof payload, "udplite\n");
    if (icmp) ((struct sockaddr_in *)&to)->sin_port = 0;  /* the same offset in both */
    int protocol = !icmp ? IPPROTO_UDPLITE : family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
    int fd = new_socket(family, SOCK_DGRAM, protocol);
    if (fd < 0) return finish();
    if (strcmp(mode, "connect-send") == 0 || strcmp(mode, "connect-write") == 0) {
        step("connect", connect(fd, (struct sockaddr *)&to, tolen));
        if (strcmp(mode, "connect-send") == 0) step("send", send(fd, payload, n, 0));
        else step("write", write(fd, payload, n));
    } else if (strcmp(mode, "sendto") == 0) {
        step("send", sendto(fd, payload, n, 0, (struct sockaddr *)&to, tolen));
    } else if (strcmp(mode, "sendmsg") == 0) {
        struct iovec iov = { payload, n };
        struct msghdr m = { &to, tolen, &iov, 1, NULL, 0, 0 };
        step("send", sendmsg(fd, &m, 0));
    } else {
        return 2;
    }
    close(fd);
    return finish();
}

static int op_socket(int via_syscall, char **args) {
    int domain = atoi(args[0]), type = atoi(args[1]), protocol = atoi(args[2]);
    int fd = via_syscall ? (int)syscall(SYS_socket, domain, type, protocol)
                         : socket(domain, type, protocol);
    step("socket", fd >= 0 ? 0 : -1);
    if (fd >= 0) close(fd);
    return finish();
}

static int op_raw_ping(char **args) {
    struct sockaddr_in to;
    if (!v4(args[0], "0", &to)) return 2;
    uint8_t packet[64];
    size_t n = echo_request(packet, sizeof packet, 8);
    int fd = new_socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    if (fd >= 0) {
        step("send", sendto(fd, packet, n, 0, (struct sockaddr *)&to, sizeof to));
        close(fd);
    }
    return finish();
}

static int op_stream(char **args) {
    struct sockaddr_in to;
    if (!v4(args[1], args[2], &to)) return 2;
    int type = SOCK_STREAM, protocol;
    if (strcmp(args[0], "mptcp") == 0) protocol = IPPROTO_MPTCP;
    else if (strcmp(args[0], "sctp") == 0) protocol = IPPROTO_SCTP;
    else if (strcmp(args[0], "seqpacket") == 0) type = SOCK_SEQPACKET, protocol = 0;
    else return 2;
    int fd = new_socket(AF_INET, type, protocol);
    if (fd < 0) return finish();
    if (step("connect", connect(fd, (struct sockaddr *)&to, sizeof to)) == 0) send_and_read(fd, "stream\n");
    close(fd);
    return finish();
}

static int op_io_uring(void) {
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    long fd = syscall(SYS_io_uring_setup, 8, &params);
    step("io_uring_setup", fd >= 0 ? 0 : -1);
    if (fd >= 0) close((int)fd);
    return finish();
}

/* ---- main -------------------------------------------------------------------------------- */

static int usage(void) {
    fprintf(stderr, "usage: leak_probe [-t SECONDS] OP ARGS... (see the source)\n");
    return 2;
}

int main(int argc, char **argv) {
    int i = 1;
    if (i + 1 < argc && strcmp(argv[i], "-t") == 0) {
        timeout_s = atoi(argv[i + 1]);
        i += 2;
    }
    if (i >= argc) return usage();
    const char *op = argv[i];
    char **args = argv + i + 1;
    int nargs = argc - i - 1;
    static const struct { const char *name; int nargs; } arity[] = {
        { "tfo-sendto", 2 }, { "tfo-sendmsg", 2 }, { "tfo-connect", 2 }, { "__connect", 2 }, { "unspec", 3 }, { "tcp6-24", 2 }, { "udp6-24", 2 },
        { "tcp4-short", 2 }, { "udp4-short", 2 }, { "gai", 3 }, { "gai-a", 2 }, { "dgram", 4 }, { "socket", 3 },
        { "socket-syscall", 3 }, { "raw-ping", 1 }, { "stream", 3 }, { "io_uring", 0 },
    };
    int known = 0;
    for (size_t k = 0; k < sizeof arity / sizeof arity[0]; k++)
        if (strcmp(op, arity[k].name) == 0) known = arity[k].nargs == nargs;
    if (!known) return usage();
    field("op", op);
    int rc = 2;
    if (strcmp(op, "tfo-sendto") == 0) rc = op_tfo(0, args);
    else if (strcmp(op, "tfo-sendmsg") == 0) rc = op_tfo(1, args);
    else if (strcmp(op, "tfo-connect") == 0) rc = op_tfo_connect(args);
    else if (strcmp(op, "__connect") == 0) rc = op_libc_alias_connect(args);
    else if (strcmp(op, "unspec") == 0) rc = op_unspec(args);
    else if (strcmp(op, "tcp6-24") == 0) rc = op_tcp6_24(args);
    else if (strcmp(op, "udp6-24") == 0) rc = op_udp6_24(args);
    else if (strcmp(op, "tcp4-short") == 0) rc = op_short4(SOCK_STREAM, args);
    else if (strcmp(op, "udp4-short") == 0) rc = op_short4(SOCK_DGRAM, args);
    else if (strcmp(op, "gai") == 0) rc = op_gai(args);
    else if (strcmp(op, "gai-a") == 0) rc = op_gai_a(args);
    else if (strcmp(op, "dgram") == 0) rc = op_dgram(args);
    else if (strcmp(op, "socket") == 0) rc = op_socket(0, args);
    else if (strcmp(op, "socket-syscall") == 0) rc = op_socket(1, args);
    else if (strcmp(op, "raw-ping") == 0) rc = op_raw_ping(args);
    else if (strcmp(op, "stream") == 0) rc = op_stream(args);
    else if (strcmp(op, "io_uring") == 0) rc = op_io_uring();
    if (rc == 2) fprintf(stderr, "leak_probe: bad arguments for %s\n", op);
    return rc;
}
