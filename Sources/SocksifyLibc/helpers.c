// Wrappers for libc features Swift cannot reach directly: variadic calls, errno, globals.
#define _GNU_SOURCE
#include "socksify_libc.h"
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <sys/auxv.h>
#include <net/if.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
#include <sys/single_threaded.h>
#define SX_HAVE_SINGLE_THREADED 1
#endif

int sx_errno(void) { return errno; }
void sx_set_errno(int value) { errno = value; }

// The real fcntl, not the shim's own (which watches for F_DUPFD): these are on the connect path.
int sx_get_status_flags(int fd) { return sx_real_fcntl(fd, F_GETFL, 0); }
int sx_set_status_flags(int fd, int flags) { return sx_real_fcntl(fd, F_SETFL, flags); }
int sx_get_descriptor_flags(int fd) { return sx_real_fcntl(fd, F_GETFD, 0); }

static int int_option(int fd, int option) {
    int value = 0;
    socklen_t len = sizeof value;
    if (sx_real_getsockopt(fd, SOL_SOCKET, option, &value, &len) != 0) return -1;
    return value;
}
int sx_socket_type(int fd) { return int_option(fd, SO_TYPE); }
int sx_socket_domain(int fd) { return int_option(fd, SO_DOMAIN); }

int sx_socket_v6only(int fd) {
    int value = 0;
    socklen_t len = sizeof value;
    if (sx_real_getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &value, &len) != 0) return 0;
    return value;
}
int sx_shutdown_both(int fd) { return shutdown(fd, SHUT_RDWR); }

// connect(AF_UNSPEC) dissolves a TCP connection (or a pending one): the socket is then as a
// failed connect leaves it (ENOTCONN, EPIPE, and it may connect again), with its options kept.
int sx_disconnect(int fd) {
    struct sockaddr unspecified = { .sa_family = AF_UNSPEC };
    int result = sx_real_connect(fd, &unspecified, sizeof unspecified);
    // Dissolving an established connection leaves ECONNRESET pending on the socket; the
    // program must hear the tunnel's error once, not the proxy connection's after it.
    int saved = errno, pending;
    socklen_t length = sizeof pending;
    sx_real_getsockopt(fd, SOL_SOCKET, SO_ERROR, &pending, &length);
    errno = saved;
    return result;
}

// Whether a signal that interrupted a wait should end the program's blocking call with EINTR:
// the kernel restarts connect only for handlers with SA_RESTART. Which signal came is not
// known here, so: EINTR if any deliverable signal has a handler without SA_RESTART.
int sx_signal_interrupts(void) {
    sigset_t blocked;
    if (pthread_sigmask(SIG_BLOCK, NULL, &blocked) != 0) sigemptyset(&blocked);
    for (int signal = 1; signal < NSIG; signal++) {
        struct sigaction action;
        if (sigismember(&blocked, signal) == 1 || sigaction(signal, NULL, &action) != 0) continue;
        int handled = (action.sa_flags & SA_SIGINFO) ? action.sa_sigaction != NULL
                                                     : action.sa_handler != SIG_DFL && action.sa_handler != SIG_IGN;
        if (handled && !(action.sa_flags & SA_RESTART)) return 1;
    }
    return 0;
}
uint64_t sx_socket_inode(int fd) {
    struct stat info;
    return fstat(fd, &info) == 0 ? (uint64_t)info.st_ino : 0;
}

// The vDSO's clock_gettime, found on first use; libc's own wrapper lies on a page of libc that
// programs seldom touch, and each such page costs them 64 KiB of resident memory (fault-around).
// Without a vDSO (valgrind), libc's.
typedef int (*clock_fn)(clockid_t, struct timespec *);
static int first_clock(clockid_t id, struct timespec *now);
static clock_fn monotonic_clock = first_clock;
static int first_clock(clockid_t id, struct timespec *now) {
    clock_fn fn = NULL;
    void *vdso = dlopen("linux-vdso.so.1", RTLD_LAZY | RTLD_NOLOAD);
#if defined(__x86_64__)
    if (vdso) fn = (clock_fn)dlsym(vdso, "__vdso_clock_gettime");
#elif defined(__aarch64__)
    if (vdso) fn = (clock_fn)dlsym(vdso, "__kernel_clock_gettime");
#endif
    if (fn == NULL) fn = clock_gettime;
    __atomic_store_n(&monotonic_clock, fn, __ATOMIC_RELAXED);
    return fn(id, now);
}

// The static launcher (real.c, sx_real_use_linked_libc): libc's clock, no static dlopen.
void sx_monotonic_use_libc(void) { monotonic_clock = clock_gettime; }

uint64_t sx_monotonic_ns(void) {
    struct timespec now;
    __atomic_load_n(&monotonic_clock, __ATOMIC_RELAXED)(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

const char *sx_program_name(void) { return program_invocation_short_name; }
const char *sx_program_argv0(void) { return program_invocation_name; }
long sx_executable_path(char *buffer, size_t size) {
    ssize_t n = readlink("/proc/self/exe", buffer, size - 1);
    if (n < 0) return -1;
    buffer[n] = 0;
    return (long)n;
}
const char *sx_getenv(const char *name) { return secure_getenv(name); }
int sx_is_secure_mode(void) { return getauxval(AT_SECURE) != 0; }

void sx_write_stderr(const void *bytes, size_t count) {
    const char *p = bytes;
    int saved = errno;  // logging must never change what the program sees in errno
    while (count > 0) {
        ssize_t n = sx_real_write(2, p, count);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        p += n;
        count -= (size_t)n;
    }
    errno = saved;
}

// A plain pthread mutex with atfork handlers: a child forked while another thread held the
// lock gets a fresh, unlocked one (Synchronization.Mutex traps there, see PRELOAD-NOTES.md).
// The handlers matter only once a second thread exists: while the process is single-threaded
// (glibc's __libc_single_threaded, which only pthread_create clears) no other thread can hold
// the lock across a fork, and registering costs a single-threaded program ~130 KiB of libc
// pages (bench/README.md, section 4).
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void before_fork(void) { pthread_mutex_lock(&lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&lock); }
static void after_fork_child(void) { pthread_mutex_init(&lock, NULL); }
static void register_atfork(void) { pthread_atfork(before_fork, after_fork_parent, after_fork_child); }

void sx_lock(void) {
#if SX_HAVE_SINGLE_THREADED
    if (!__libc_single_threaded) pthread_once(&atfork_once, register_atfork);
#else
    pthread_once(&atfork_once, register_atfork);
#endif
    pthread_mutex_lock(&lock);
}
void sx_unlock(void) { pthread_mutex_unlock(&lock); }

int sx_open_readonly(const char *path) { return open(path, O_RDONLY | O_CLOEXEC); }

long long sx_file_size(int fd) {
    struct stat info;
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) return -1;
    return (long long)info.st_size;
}

long sx_xattr_size(const char *path, const char *name) { return (long)getxattr(path, name, NULL, 0); }

unsigned int sx_interface_index(const char *name) { return if_nametoindex(name); }

int sx_inet_aton(const char *text, uint32_t *address) {
    struct in_addr parsed;
    if (inet_aton(text, &parsed) == 0) return 0;
    *address = parsed.s_addr;
    return 1;
}

void *sx_map_shared_anonymous(size_t size) {
    void *memory = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return memory == MAP_FAILED ? NULL : memory;
}

size_t sx_shared_mutex_size(void) { return sizeof(pthread_mutex_t); }

int sx_shared_mutex_init(void *mutex) {
    pthread_mutexattr_t attributes;
    pthread_mutexattr_init(&attributes);
    pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
    int result = pthread_mutex_init((pthread_mutex_t *)mutex, &attributes);
    pthread_mutexattr_destroy(&attributes);
    return result;
}

// A process that died holding the lock leaves the table as it was between two whole-field
// writes; the table's readers check every entry, so marking it consistent is enough.
void sx_shared_mutex_lock(void *mutex) {
    if (pthread_mutex_lock((pthread_mutex_t *)mutex) == EOWNERDEAD) {
        pthread_mutex_consistent((pthread_mutex_t *)mutex);
    }
}

void sx_shared_mutex_unlock(void *mutex) { pthread_mutex_unlock((pthread_mutex_t *)mutex); }

void sx_resolution_add(sx_resolution *r, int family, const unsigned char *bytes) {
    if (r->count >= SX_MAX_ADDRESSES) return;
    r->addresses[r->count].family = family;
    memcpy(r->addresses[r->count].bytes, bytes, family == AF_INET ? 4 : 16);
    r->count++;
}

void sx_resolution_set_name(sx_resolution *r, const unsigned char *name, size_t length) {
    if (length >= sizeof r->canonical) length = sizeof r->canonical - 1;
    memcpy(r->canonical, name, length);
    r->canonical[length] = 0;
}
