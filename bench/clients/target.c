/*
 * target BINDADDR PORT
 *
 * The destination of bench/run's connections: a single-threaded epoll server that accepts
 * everything, closes a connection when the client does, and answers a request that starts with
 * "WHO?" with "peer <ip>" (the address it sees, padded with spaces to the request's length),
 * then closes. bench/conn --who uses that to prove a connection went through the proxy
 * (microsocks -b 127.0.0.2 connects from 127.0.0.2, a direct connection arrives from elsewhere).
 * Prints "port N" once listening (PORT 0: any free port). Runs until killed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: target BINDADDR PORT\n"); return 2; }
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2]))};
    if (inet_pton(AF_INET, argv[1], &address.sin_addr) != 1) { fprintf(stderr, "target: not an IPv4 address\n"); return 2; }
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 4096) != 0) {
        perror("target: listen");
        return 1;
    }
    socklen_t length = sizeof address;
    getsockname(listener, (struct sockaddr *)&address, &length);
    printf("port %d\n", ntohs(address.sin_port));
    fflush(stdout);

    int poller = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event event = {.events = EPOLLIN, .data.fd = listener};
    epoll_ctl(poller, EPOLL_CTL_ADD, listener, &event);
    struct epoll_event ready[64];
    for (;;) {
        int count = epoll_wait(poller, ready, 64, -1);
        if (count < 0) { if (errno == EINTR) continue; perror("target: epoll_wait"); return 1; }
        for (int i = 0; i < count; i++) {
            int fd = ready[i].data.fd;
            if (fd == listener) {
                int client;
                while ((client = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    struct epoll_event watch = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = client};
                    epoll_ctl(poller, EPOLL_CTL_ADD, client, &watch);
                }
                continue;
            }
            char request[256];
            ssize_t n = read(fd, request, sizeof request);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (n >= 4 && memcmp(request, "WHO?", 4) == 0) {
                struct sockaddr_in peer;
                socklen_t peer_length = sizeof peer;
                char ip[INET_ADDRSTRLEN] = "?";
                if (getpeername(fd, (struct sockaddr *)&peer, &peer_length) == 0) inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
                char answer[256];
                memset(answer, ' ', (size_t)n);
                int used = snprintf(answer, sizeof answer, "peer %s", ip);
                if (used < n) answer[used] = ' ';
                answer[n - 1] = '\n';
                if (write(fd, answer, (size_t)n) < 0) { /* the client is gone: nothing to tell */ }
            }
            close(fd);  // any request is the last; EOF or an error too
        }
    }
}
