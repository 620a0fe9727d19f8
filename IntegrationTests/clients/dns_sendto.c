#define _GNU_SOURCE
/* dns_sendto SERVER NAME: one DNS query for NAME's A records, sent with sendto on an
 * unconnected UDP socket to SERVER:53 (as musl and older resolvers do), the reply read with
 * recvfrom. Prints "rcode N", then each address, then "error ERRNO" on failure.
 * Built statically by test_backstop.py: only the kernel backstop sees its calls. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s SERVER NAME\n", argv[0]); return 2; }
    unsigned char q[300] = {0x4a, 0x11, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
    size_t n = 12;
    for (const char *label = argv[2]; *label;) {
        const char *dot = strchr(label, '.');
        size_t len = dot ? (size_t)(dot - label) : strlen(label);
        if (len == 0 || len > 63 || n + len + 6 > sizeof q) { fprintf(stderr, "bad name\n"); return 2; }
        q[n++] = (unsigned char)len;
        memcpy(q + n, label, len);
        n += len;
        label += len + (dot ? 1 : 0);
    }
    memcpy(q + n, "\0\0\1\0\1", 5);
    n += 5;
    struct sockaddr_in server = {.sin_family = AF_INET, .sin_port = htons(53)};
    inet_pton(AF_INET, argv[1], &server.sin_addr);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct timeval limit = {3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    if (sendto(fd, q, n, 0, (struct sockaddr *)&server, sizeof server) != (ssize_t)n) {
        printf("error %s\n", strerrorname_np(errno));
        return 1;
    }
    unsigned char r[512];
    ssize_t got = recvfrom(fd, r, sizeof r, 0, NULL, NULL);
    if (got < 12) { printf("error %s\n", got < 0 ? strerrorname_np(errno) : "short"); return 1; }
    if (r[0] != 0x4a || r[1] != 0x11) { printf("error id\n"); return 1; }
    printf("rcode %d\n", r[3] & 0xF);
    int answers = r[6] << 8 | r[7];
    size_t at = n;  /* the question is echoed: the answers follow it */
    for (int i = 0; i < answers && at + 12 <= (size_t)got; i++) {
        int type = r[at + 2] << 8 | r[at + 3], len = r[at + 10] << 8 | r[at + 11];
        if (type == 1 && len == 4 && at + 16 <= (size_t)got) printf("%d.%d.%d.%d\n", r[at + 12], r[at + 13], r[at + 14], r[at + 15]);
        at += 12 + (size_t)len;
    }
    return 0;
}
