/*
 * udp_send OP HOST PORT: one UDP datagram to HOST:PORT (IPv4), built statically by
 * test_backstop.py so only the kernel backstop can see it. OP: sendto, sendmsg or sendmmsg.
 * Prints "sent N" or "error ENAME"; exit 0 either way, 2 on a usage error.
 * OP echo: connect, send, then print "got " and the answer (3 s at most), or "error ENAME".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
    if (argc != 4) return 2;
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[3])) };
    if (inet_pton(AF_INET, argv[2], &to.sin_addr) != 1) return 2;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    char payload[] = "udp_send\n";
    struct iovec iov = { .iov_base = payload, .iov_len = sizeof payload - 1 };
    struct msghdr message = { .msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov, .msg_iovlen = 1 };
    long n;
    if (strcmp(argv[1], "sendto") == 0) {
        n = sendto(fd, payload, sizeof payload - 1, 0, (struct sockaddr *)&to, sizeof to);
    } else if (strcmp(argv[1], "sendmsg") == 0) {
        n = sendmsg(fd, &message, 0);
    } else if (strcmp(argv[1], "sendmmsg") == 0) {
        struct mmsghdr messages[1] = { { .msg_hdr = message } };
        n = sendmmsg(fd, messages, 1, 0);
    } else if (strcmp(argv[1], "echo") == 0) {
        struct timeval limit = { .tv_sec = 3 };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
        char answer[512];
        if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0 || send(fd, payload, sizeof payload - 1, 0) < 0
            || (n = recv(fd, answer, sizeof answer - 1, 0)) < 0) {
            printf("error %s\n", strerrorname_np(errno));
            return 0;
        }
        answer[n] = 0;
        printf("got %s", answer);
        return 0;
    } else {
        return 2;
    }
    if (n < 0) printf("error %s\n", strerrorname_np(errno));
    else printf("sent %ld\n", n);
    return 0;
}
