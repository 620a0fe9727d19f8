/*
 * pipe_rw N [--udp-first HOST:PORT]
 *
 * N times: write one byte into a pipe, read it back (2N calls, through the program's PLT, so an
 * LD_PRELOAD library's read and write are on the path). bench/run counts the instructions of
 * two runs (N = 1,000 and N = 101,000) under callgrind: the difference over 200,000 calls is what
 * one read or write costs, start-up cancelled out.
 *
 * --udp-first HOST:PORT  before the loop, send one datagram from a UDP socket opened after the
 *                        pipe (so its number is above the pipe's): under socksify with a
 *                        SOCKS5 proxy that does UDP, this opens an association and marks the
 *                        socket, the case where the shim's mark table exists. The pipe's
 *                        descriptors are below the marked one: the slow side of any cut-off.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--udp-first") == 0)) {
        fprintf(stderr, "usage: pipe_rw N [--udp-first HOST:PORT]\n");
        return 2;
    }
    long count = atol(argv[1]);
    int ends[2];
    if (pipe(ends) != 0) { perror("pipe"); return 1; }
    if (argc == 4) {
        char host[64];
        const char *colon = strrchr(argv[3], ':');
        if (!colon || (size_t)(colon - argv[3]) >= sizeof host) { fprintf(stderr, "pipe_rw: HOST:PORT\n"); return 2; }
        memcpy(host, argv[3], (size_t)(colon - argv[3]));
        host[colon - argv[3]] = 0;
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(colon + 1))};
        if (inet_pton(AF_INET, host, &to.sin_addr) != 1) { fprintf(stderr, "pipe_rw: bad address\n"); return 2; }
        int udp = socket(AF_INET, SOCK_DGRAM, 0);
        if (udp < 0 || sendto(udp, "x", 1, 0, (struct sockaddr *)&to, sizeof to) != 1) { perror("pipe_rw: sendto"); return 1; }
        // The socket stays open: its association, and its mark, live as long as it does.
    }
    char byte = 'x';
    for (long i = 0; i < count; i++) {
        if (write(ends[1], &byte, 1) != 1 || read(ends[0], &byte, 1) != 1) { perror("pipe_rw"); return 1; }
    }
    return 0;
}
