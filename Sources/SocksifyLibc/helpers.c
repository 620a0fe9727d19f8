// Wrappers for libc features Swift cannot reach directly: variadic calls, errno, globals.
#define _GNU_SOURCE
#include "socksify_libc.h"
#include <pthread.h>
#include <sys/auxv.h>
#include <time.h>

int sx_errno(void) { return errno; }
void sx_set_errno(int value) { errno = value; }

int sx_get_status_flags(int fd) { return fcntl(fd, F_GETFL); }
int sx_set_status_flags(int fd, int flags) { return fcntl(fd, F_SETFL, flags); }
int sx_get_descriptor_flags(int fd) { return fcntl(fd, F_GETFD); }

static int int_option(int fd, int option) {
    int value = 0;
    socklen_t len = sizeof value;
    if (getsockopt(fd, SOL_SOCKET, option, &value, &len) != 0) return -1;
    return value;
}
int sx_socket_type(int fd) { return int_option(fd, SO_TYPE); }
int sx_socket_domain(int fd) { return int_option(fd, SO_DOMAIN); }
int sx_socket_error(int fd) {
    int value = 0;
    socklen_t len = sizeof value;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &len) != 0) return errno;
    return value;
}

int sx_socket_v6only(int fd) {
    int value = 0;
    socklen_t len = sizeof value;
    if (getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &value, &len) != 0) return 0;
    return value;
}
int sx_shutdown_both(int fd) { return shutdown(fd, SHUT_RDWR); }

uint64_t sx_monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

const char *sx_program_name(void) { return program_invocation_short_name; }
const char *sx_getenv(const char *name) { return secure_getenv(name); }
int sx_is_secure_mode(void) { return getauxval(AT_SECURE) != 0; }

void sx_write_stderr(const void *bytes, size_t count) {
    const char *p = bytes;
    int saved = errno;  // logging must never change what the program sees in errno
    while (count > 0) {
        ssize_t n = write(2, p, count);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        p += n;
        count -= (size_t)n;
    }
    errno = saved;
}

// A plain pthread mutex with atfork handlers: a child forked while another thread held the
// lock gets a fresh, unlocked one (Synchronization.Mutex traps there, see PRELOAD-NOTES.md).
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void before_fork(void) { pthread_mutex_lock(&lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&lock); }
static void after_fork_child(void) { pthread_mutex_init(&lock, NULL); }
static void register_atfork(void) { pthread_atfork(before_fork, after_fork_parent, after_fork_child); }

void sx_lock(void) {
    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_lock(&lock);
}
void sx_unlock(void) { pthread_mutex_unlock(&lock); }
