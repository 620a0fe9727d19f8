/*
 * udp_mmsg HOST PORT COUNT [--connect] [--syscall]
 *
 * Sends COUNT datagrams (COUNT <= 64) to the numeric IPv4 HOST:PORT with sendmmsg(2), each one
 * gathered from two iovecs ("mmsg-NNN" + "-tail"), then receives COUNT replies with
 * recvmmsg(2) (MSG_WAITFORONE, after poll), each one scattered over two iovecs (8 bytes, then
 * the rest). With --connect the socket is connect()ed first and the messages name no address.
 * With --syscall both go through syscall(SYS_sendmmsg/SYS_recvmmsg), as libuv 1.44 (Debian 12)
 * does, and so every libuv program (dig, node) does.
 *
 * Prints one JSON line:
 *   {"sent": N, "send_calls": C, "received": M, "recv_calls": R, "lens": [...],
 *    "payloads": ["...", ...], "senders": ["ip:port", ...], "errors": ["..."]}
 * Exit 0 when the calls themselves worked (the test judges the contents), 1 on a failed call.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAXMSG 64
#define TIMEOUT_MS 4000

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

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

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s HOST PORT COUNT [--connect]\n", argv[0]);
        return 2;
    }
    int count = atoi(argv[3]);
    int connected = 0, raw = 0;
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--connect") == 0) connected = 1;
        else if (strcmp(argv[i], "--syscall") == 0) raw = 1;
        else return 2;
    }
    if (count < 1 || count > MAXMSG) return 2;
    struct sockaddr_in dest;
    memset(&dest, 0, sizeof dest);
    dest.sin_family = AF_INET;
    dest.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &dest.sin_addr) != 1) return 2;

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) { perror("socket"); return 1; }
    char errors[1024] = "";
    int failed = 0;
    if (connected && connect(fd, (struct sockaddr *)&dest, sizeof dest) != 0) {
        snprintf(errors, sizeof errors, "connect: %s", strerror(errno));
        failed = 1;
    }

    static char heads[MAXMSG][16];
    static char tail[] = "-tail";
    struct iovec out_iov[MAXMSG][2];
    struct mmsghdr out[MAXMSG];
    memset(out, 0, sizeof out);
    for (int i = 0; i < count; i++) {
        snprintf(heads[i], sizeof heads[i], "mmsg-%03d", i);
        out_iov[i][0].iov_base = heads[i];
        out_iov[i][0].iov_len = strlen(heads[i]);
        out_iov[i][1].iov_base = tail;
        out_iov[i][1].iov_len = strlen(tail);
        out[i].msg_hdr.msg_iov = out_iov[i];
        out[i].msg_hdr.msg_iovlen = 2;
        if (!connected) {
            out[i].msg_hdr.msg_name = &dest;
            out[i].msg_hdr.msg_namelen = sizeof dest;
        }
    }
    int sent = 0, send_calls = 0;
    while (!failed && sent < count) {
        int n = raw ? (int)syscall(SYS_sendmmsg, fd, out + sent, (unsigned)(count - sent), 0)
                    : sendmmsg(fd, out + sent, (unsigned)(count - sent), 0);
        send_calls++;
        if (n < 0) {
            snprintf(errors, sizeof errors, "sendmmsg: %s", strerror(errno));
            failed = 1;
            break;
        }
        for (int i = sent; i < sent + n; i++) {
            if (out[i].msg_len != out_iov[i][0].iov_len + out_iov[i][1].iov_len) {
                snprintf(errors, sizeof errors, "sendmmsg: msg_len %u for message %d", out[i].msg_len, i);
                failed = 1;
            }
        }
        sent += n;
    }

    static char first[MAXMSG][8];
    static char rest[MAXMSG][512];
    struct iovec in_iov[MAXMSG][2];
    struct sockaddr_in from[MAXMSG];
    struct mmsghdr in[MAXMSG];
    int received = 0, recv_calls = 0;
    long deadline = now_ms() + TIMEOUT_MS;
    while (!failed && received < count) {
        long left = deadline - now_ms();
        if (left <= 0) break;
        struct pollfd p = { fd, POLLIN, 0 };
        int r = poll(&p, 1, (int)left);
        if (r < 0) { snprintf(errors, sizeof errors, "poll: %s", strerror(errno)); failed = 1; break; }
        if (r == 0) break;
        int want = count - received;
        memset(in + received, 0, sizeof in[0] * (size_t)want);
        for (int i = received; i < count; i++) {
            in_iov[i][0].iov_base = first[i];
            in_iov[i][0].iov_len = sizeof first[i];
            in_iov[i][1].iov_base = rest[i];
            in_iov[i][1].iov_len = sizeof rest[i];
            in[i].msg_hdr.msg_iov = in_iov[i];
            in[i].msg_hdr.msg_iovlen = 2;
            in[i].msg_hdr.msg_name = &from[i];
            in[i].msg_hdr.msg_namelen = sizeof from[i];
        }
        int n = raw ? (int)syscall(SYS_recvmmsg, fd, in + received, (unsigned)want, MSG_WAITFORONE, NULL)
                    : recvmmsg(fd, in + received, (unsigned)want, MSG_WAITFORONE, NULL);
        recv_calls++;
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            snprintf(errors, sizeof errors, "recvmmsg: %s", strerror(errno));
            failed = 1;
            break;
        }
        received += n;
    }

    printf("{\"sent\": %d, \"send_calls\": %d, \"received\": %d, \"recv_calls\": %d, \"lens\": [",
           sent, send_calls, received, recv_calls);
    for (int i = 0; i < received; i++) printf("%s%u", i ? ", " : "", in[i].msg_len);
    printf("], \"payloads\": [");
    for (int i = 0; i < received; i++) {
        char buf[sizeof first[0] + sizeof rest[0]];
        size_t len = in[i].msg_len;
        if (len > sizeof buf) len = sizeof buf;
        size_t a = len < sizeof first[i] ? len : sizeof first[i];
        memcpy(buf, first[i], a);
        memcpy(buf + a, rest[i], len - a);
        if (i) printf(", ");
        json_string(buf, len);
    }
    printf("], \"senders\": [");
    for (int i = 0; i < received; i++) {
        char text[INET_ADDRSTRLEN] = "?";
        if (in[i].msg_hdr.msg_namelen >= sizeof(struct sockaddr_in) && from[i].sin_family == AF_INET)
            inet_ntop(AF_INET, &from[i].sin_addr, text, sizeof text);
        printf("%s\"%s:%u\"", i ? ", " : "", text, ntohs(from[i].sin_port));
    }
    printf("], \"errors\": [");
    if (errors[0]) json_string(errors, strlen(errors));
    printf("]}\n");
    close(fd);
    return failed ? 1 : 0;
}
