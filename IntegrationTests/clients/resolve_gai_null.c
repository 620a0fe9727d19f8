/* resolve_gai_null NAME [PORT]
 *
 * Resolves NAME with getaddrinfo(NAME, PORT, NULL, &res) -- NULL hints, so
 * every family and socket type comes back (AF_INET and AF_INET6, STREAM, DGRAM
 * and RAW entries) -- then connects a socket of each stream result in turn
 * (non-stream entries are skipped) until one works, sends
 * "GET / HTTP/1.0\r\nHost: NAME\r\n\r\n" and prints the response body.
 * PORT defaults to "80".  Exit 0 on success; otherwise 1 with the failing step
 * and error on stderr.  Used by test_dns_leak.py.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "http_get.h"

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: resolve_gai_null NAME [PORT]\n");
        return 2;
    }
    const char *name = argv[1];
    const char *port = argc == 3 ? argv[2] : "80";

    struct addrinfo *res = NULL;
    int rc = getaddrinfo(name, port, NULL, &res);
    if (rc != 0) {
        fprintf(stderr, "resolve_gai_null: getaddrinfo(%s, %s, NULL): %s%s%s\n", name, port,
                gai_strerror(rc), rc == EAI_SYSTEM ? ": " : "",
                rc == EAI_SYSTEM ? strerror(errno) : "");
        return 1;
    }
    int tried = 0, last_errno = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        char text[INET6_ADDRSTRLEN] = "?";
        if (ai->ai_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, text, sizeof text);
        else if (ai->ai_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, text,
                      sizeof text);
        fprintf(stderr, "resolve_gai_null: %s -> family %d socktype %d protocol %d %s\n", name,
                ai->ai_family, ai->ai_socktype, ai->ai_protocol, text);
        if (ai->ai_socktype != SOCK_STREAM)
            continue;
        tried++;
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            fprintf(stderr, "resolve_gai_null: socket: %s\n", strerror(errno));
            continue;
        }
        struct timeval tv = {15, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            last_errno = errno;
            fprintf(stderr, "resolve_gai_null: connect %s port %s: %s\n", text, port,
                    strerror(errno));
            close(fd);
            continue;
        }
        int result = http_get(fd, name, "resolve_gai_null");
        close(fd);
        freeaddrinfo(res);
        return result;
    }
    freeaddrinfo(res);
    fprintf(stderr, "resolve_gai_null: no stream address of %s worked (%d tried, last error: %s)\n",
            name, tried, last_errno ? strerror(last_errno) : "none");
    return 1;
}
