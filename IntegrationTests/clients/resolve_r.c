/* resolve_r NAME [PORT]
 *
 * Resolves NAME with gethostbyname_r (the reentrant glibc call, IPv4), then
 * connects to PORT (default 80) of the first address that accepts, sends
 * "GET / HTTP/1.0\r\nHost: NAME\r\n\r\n" and prints the response body on stdout.
 * Exit 0 on success; otherwise 1 with the failing step and error on stderr.
 * Used by test_dns_leak.py (under socksify, the address is a synthetic one and
 * the name must reach the proxy).
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
        fprintf(stderr, "usage: resolve_r NAME [PORT]\n");
        return 2;
    }
    const char *name = argv[1];
    int port = argc == 3 ? atoi(argv[2]) : 80;

    struct hostent he, *res = NULL;
    char buf[8192];
    int herr = 0;
    int rc = gethostbyname_r(name, &he, buf, sizeof buf, &res, &herr);
    if (rc != 0 || res == NULL) {
        fprintf(stderr, "resolve_r: gethostbyname_r(%s) failed: rc=%d (%s) h_errno=%d (%s)\n",
                name, rc, rc ? strerror(rc) : "-", herr, hstrerror(herr));
        return 1;
    }
    if (res->h_addrtype != AF_INET || res->h_length != 4) {
        fprintf(stderr, "resolve_r: unexpected address type %d length %d\n",
                res->h_addrtype, res->h_length);
        return 1;
    }
    int last_errno = 0;
    for (char **a = res->h_addr_list; *a; a++) {
        struct sockaddr_in sin;
        memset(&sin, 0, sizeof sin);
        sin.sin_family = AF_INET;
        sin.sin_port = htons((unsigned short)port);
        memcpy(&sin.sin_addr, *a, 4);
        char text[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &sin.sin_addr, text, sizeof text);
        fprintf(stderr, "resolve_r: %s -> %s\n", name, text);

        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) {
            fprintf(stderr, "resolve_r: socket: %s\n", strerror(errno));
            return 1;
        }
        struct timeval tv = {15, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
            last_errno = errno;
            fprintf(stderr, "resolve_r: connect %s:%d: %s\n", text, port, strerror(errno));
            close(fd);
            continue;
        }
        int result = http_get(fd, name, "resolve_r");
        close(fd);
        return result;
    }
    fprintf(stderr, "resolve_r: no address of %s accepted a connection (last error: %s)\n",
            name, last_errno ? strerror(last_errno) : "no addresses");
    return 1;
}
