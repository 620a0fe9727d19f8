/* http_get.h: the HTTP/1.0 exchange both resolver clients make once connected.
 * http_get(fd, name, program) sends "GET / HTTP/1.0\r\nHost: NAME\r\n\r\n", prints the
 * response body on stdout and returns 0, or prints the failing step (prefixed with PROGRAM)
 * on stderr and returns 1. */
#ifndef HTTP_GET_H
#define HTTP_GET_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int http_get(int fd, const char *name, const char *program)
{
    char req[512];
    int n = snprintf(req, sizeof req, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", name);
    if (n < 0 || (size_t)n >= sizeof req) {
        fprintf(stderr, "%s: name too long\n", program);
        return 1;
    }
    for (int off = 0; off < n;) {
        ssize_t w = write(fd, req + off, (size_t)(n - off));
        if (w < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "%s: write: %s\n", program, strerror(errno));
            return 1;
        }
        off += (int)w;
    }
    static char resp[65536];
    size_t len = 0;
    for (;;) {
        if (len == sizeof resp - 1)
            break;
        ssize_t r = read(fd, resp + len, sizeof resp - 1 - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "%s: read: %s\n", program, strerror(errno));
            return 1;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    resp[len] = 0;
    char *body = strstr(resp, "\r\n\r\n");
    if (!body) {
        fprintf(stderr, "%s: no HTTP response (got %zu bytes)\n", program, len);
        return 1;
    }
    fputs(body + 4, stdout);
    fflush(stdout);
    return 0;
}

#endif
