/* bulk BYTES: a sink on 127.0.0.1 in this process, a connection to it (through the proxy under
   socksify), BYTES written to it; prints MiB/s from the connect to the sink's last byte. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
static int listener; static long received;
static void *sink(void *unused) {
    (void)unused; static char buf[1 << 16]; ssize_t n;
    int c = accept(listener, NULL, NULL);
    while ((n = read(c, buf, sizeof buf)) > 0) received += n;
    return NULL;
}
int main(int argc, char **argv) {
    long total = argc > 1 ? atol(argv[1]) : 1L << 28;
    struct sockaddr_in a = {.sin_family = AF_INET}; socklen_t len = sizeof a;
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    listener = socket(AF_INET, SOCK_STREAM, 0);
    if (bind(listener, (struct sockaddr *)&a, sizeof a) || listen(listener, 1) || getsockname(listener, (struct sockaddr *)&a, &len)) { perror("listen"); return 1; }
    pthread_t t; pthread_create(&t, NULL, sink, NULL);
    struct timespec t0, t1; clock_gettime(CLOCK_MONOTONIC, &t0);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); return 1; }
    static char buf[1 << 16]; long left = total;
    while (left > 0) { ssize_t n = write(fd, buf, left < (long)sizeof buf ? (size_t)left : sizeof buf); if (n <= 0) { perror("write"); return 1; } left -= n; }
    close(fd); pthread_join(t, NULL); clock_gettime(CLOCK_MONOTONIC, &t1);
    if (received != total) { fprintf(stderr, "bulk: %ld of %ld\n", received, total); return 1; }
    printf("%.0f\n", total / ((t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9) / 1048576.0);
    return 0;
}
