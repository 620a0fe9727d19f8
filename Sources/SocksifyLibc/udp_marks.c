// One byte per descriptor number: is it a UDP socket with a SOCKS association (bit 0), is it a
// descriptor the shim itself owns (bit 1), is it a socket whose tunnel a signal interrupted
// (bit 2)? The interposers of read, write, recv and friends check bits 0 and 2 (SX_MARKS_IO),
// so ordinary descriptors pay one load.
//
// That one load is sx_udp_marks_limit: every descriptor that ever had bit 0 set is below it, so
// `(unsigned)fd >= limit` (negative numbers included) proves a descriptor is not a proxied UDP
// socket without touching the table. It starts at 0 and only grows (a bound, not a count), so
// a program that never associates a UDP socket compares against 0 forever; only descriptors
// below the highest one ever marked go on to read their byte. sx_udp_below_limit() and
// sx_udp_marked_below_limit() in socksify_shim.h are the same test, inline, for read and write.
#define _GNU_SOURCE
#include "socksify_libc.h"
#include <fcntl.h>
#include <linux/kcmp.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>


// The table (NULL until the first mark), read and written only with __atomic builtins.
__attribute__((visibility("hidden"))) unsigned char *sx_udp_marks_table;

// Raised (release) after the byte is set; read with acquire, a plain load on x86. A reader that
// sees a larger limit goes on to marked(), which checks the table pointer itself.
__attribute__((visibility("hidden"))) unsigned int sx_udp_marks_limit;

// The process whose bookkeeping the table is. A vfork child runs in its parent's memory: its
// close_range before exec must not tear down the parent's associations. A forked child has its
// own copy of the table and becomes its owner. Without an atfork handler (registering one costs
// a program ~130 KiB of libc pages, bench/README.md section 4): `claimed` sits on a page that
// fork wipes (MADV_WIPEONFORK) and vfork shares, so a process that finds it 0 is a forked child,
// or a vfork child of one that has not claimed the table yet, which kcmp tells apart (it shares
// its parent's memory). Kernels before 4.14 (no MADV_WIPEONFORK) get the atfork handler.
static pid_t owner;
static volatile int *claimed;

static long (*real_syscall)(long, ...);
static long raw_syscall(long number, long a, long b, long c) {
    long (*fn)(long, ...) = __atomic_load_n(&real_syscall, __ATOMIC_RELAXED);
    if (fn == NULL) {  // libc's, not the shim's own syscall()
        fn = (long (*)(long, ...))sx_real_symbol("syscall");
        __atomic_store_n(&real_syscall, fn, __ATOMIC_RELAXED);
    }
    return fn(number, a, b, c);
}
// (libc's getpid is on a page of its own, as costly as the atfork handler's)
static pid_t current_pid(void) { return (pid_t)raw_syscall(SYS_getpid, 0, 0, 0); }

static void owner_is_me(void) { owner = current_pid(); }
static void owner_init(void) {
    owner_is_me();
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page != MAP_FAILED && madvise(page, 4096, MADV_WIPEONFORK) == 0) {
        *(volatile int *)page = 1;
        claimed = page;
        return;
    }
    if (page != MAP_FAILED) munmap(page, 4096);
    pthread_atfork(NULL, NULL, owner_is_me);
}
int sx_marks_borrowed(void) {
    if (__atomic_load_n(&sx_udp_marks_table, __ATOMIC_ACQUIRE) == NULL) return 0;
    pid_t me = current_pid();
    if (claimed != NULL && *claimed == 0) {
        // kcmp: 0 when the parent shares this process's memory (a vfork child). Where it is not
        // allowed, claim: what the atfork handler did.
        if (raw_syscall(SYS_kcmp, me, getppid(), KCMP_VM) == 0) return 1;
        owner = me;
        *claimed = 1;
    }
    return me != owner;
}

static void raise_limit(int fd) {
    unsigned int want = (unsigned int)fd + 1;
    unsigned int now = __atomic_load_n(&sx_udp_marks_limit, __ATOMIC_RELAXED);
    while (now < want &&
           !__atomic_compare_exchange_n(&sx_udp_marks_limit, &now, want, 1, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
    }
}

static int marked(int fd, unsigned char bit) {
    unsigned char *table = __atomic_load_n(&sx_udp_marks_table, __ATOMIC_ACQUIRE);
    if (table == NULL || fd < 0 || fd >= SX_UDP_MARKS) return 0;
    return (__atomic_load_n(&table[fd], __ATOMIC_RELAXED) & bit) != 0;
}

static int mark(int fd, unsigned char bit, int on) {
    if (fd < 0 || fd >= SX_UDP_MARKS) return -1;
    unsigned char *table = __atomic_load_n(&sx_udp_marks_table, __ATOMIC_ACQUIRE);
    if (table == NULL) {
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        pthread_once(&once, owner_init);
        unsigned char *fresh = mmap(NULL, SX_UDP_MARKS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (fresh == MAP_FAILED) return -1;
        unsigned char *expected = NULL;
        if (!__atomic_compare_exchange_n(&sx_udp_marks_table, &expected, fresh, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
            munmap(fresh, SX_UDP_MARKS);
            table = expected;
        } else {
            table = fresh;
        }
    }
    if (on) {
        __atomic_fetch_or(&table[fd], bit, __ATOMIC_RELAXED);
        if (bit & SX_MARKS_IO) raise_limit(fd);  // after the byte: a reader below the limit finds it set
    } else {
        __atomic_fetch_and(&table[fd], (unsigned char)~bit, __ATOMIC_RELAXED);
    }
    return 0;
}

int sx_udp_marked(int fd) {
    if ((unsigned int)fd >= __atomic_load_n(&sx_udp_marks_limit, __ATOMIC_ACQUIRE)) return 0;
    return marked(fd, 1);
}
int sx_udp_mark(int fd, int on) { return mark(fd, 1, on); }
int sx_own_marked(int fd) { return marked(fd, 2); }
int sx_own_mark(int fd, int on) { return mark(fd, 2, on); }
int sx_pending_marked(int fd) {
    if ((unsigned int)fd >= __atomic_load_n(&sx_udp_marks_limit, __ATOMIC_ACQUIRE)) return 0;
    return marked(fd, 4);
}
int sx_pending_mark(int fd, int on) { return mark(fd, 4, on); }
int sx_io_marked(int fd) {
    if ((unsigned int)fd >= __atomic_load_n(&sx_udp_marks_limit, __ATOMIC_ACQUIRE)) return 0;
    return marked(fd, SX_MARKS_IO);
}

int sx_any_marked_in(int first, int last, int *found) {
    unsigned char *table = __atomic_load_n(&sx_udp_marks_table, __ATOMIC_ACQUIRE);
    if (table == NULL || first < 0 || first >= SX_UDP_MARKS) return 0;
    if (last >= SX_UDP_MARKS || last < 0) last = SX_UDP_MARKS - 1;
    for (int fd = first; fd <= last; fd++) {
        if (__atomic_load_n(&table[fd], __ATOMIC_RELAXED)) { *found = fd; return 1; }
    }
    return 0;
}

static long high_base(void) {
    struct rlimit limit;
    long base = 1000;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && (long)limit.rlim_cur <= base + 16) {
        base = (long)limit.rlim_cur / 2;
    }
    return base;
}

// A copy of fd at the lowest free number from a high base (1000, or half the soft limit when
// that is lower), close-on-exec; -1 if there is no room.
int sx_dup_high(int fd) { return sx_real_fcntl(fd, F_DUPFD_CLOEXEC, high_base()); }

// Moves a descriptor the shim owns out of the program's way (programs take the lowest numbers).
int sx_move_high(int fd) {
    if (fd >= high_base()) return fd;
    int moved = sx_dup_high(fd);
    if (moved < 0) return fd;  // no room up there: keep it where it is
    sx_real_close(fd);
    return moved;
}

int sx_socket_protocol(int fd) {
    int value = 0;
    socklen_t len = sizeof value;
    return sx_real_getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &value, &len) == 0 ? value : -1;
}

int sx_socket_local_port(int fd) {
    struct sockaddr_storage address;
    socklen_t len = sizeof address;
    if (sx_real_getsockname(fd, (struct sockaddr *)&address, &len) != 0) return -1;
    if (address.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&address)->sin_port);
    if (address.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&address)->sin6_port);
    return -1;
}

// The whole byte, for the hooks that act on several facts at once (close, dup, getpeername):
// 0 for a number never marked. Beyond the three facts above it holds what the program's own
// calls already said (so connect need not ask the kernel again): the socket's transport
// (SX_FACT_KIND, from socket()) and whether a proxied peer is recorded (SX_FACT_PEER).
int sx_fd_facts(int fd) {
    unsigned char *table = __atomic_load_n(&sx_udp_marks_table, __ATOMIC_ACQUIRE);
    if (table == NULL || fd < 0 || fd >= SX_UDP_MARKS) return 0;
    return __atomic_load_n(&table[fd], __ATOMIC_RELAXED);
}

// Replaces the bits of `mask` with `bits` (the I/O bits keep going through mark(): the limit).
int sx_fd_facts_set(int fd, int mask, int bits) {
    if (fd < 0 || fd >= SX_UDP_MARKS) return -1;
    if (mark(fd, (unsigned char)(bits & mask), 1) != 0) return -1;  // creates the table if need be
    unsigned char *table = __atomic_load_n(&sx_udp_marks_table, __ATOMIC_ACQUIRE);
    __atomic_fetch_and(&table[fd], (unsigned char)~(mask & ~bits), __ATOMIC_RELAXED);
    return 0;
}

int sx_socket_send_timeout_ms(int fd) {
    struct timeval limit = { 0 };
    socklen_t len = sizeof limit;
    if (sx_real_getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, &len) != 0) return 0;
    long long ms = (long long)limit.tv_sec * 1000 + (limit.tv_usec + 999) / 1000;
    return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

// The log file (--log FILE).
static int log_fd = -1;

int sx_log_open(const char *path) {
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    int moved = sx_move_high(fd);
    mark(moved, 2, 1);  // the shim's own: the close hooks move it rather than lose it
    __atomic_store_n(&log_fd, moved, __ATOMIC_RELEASE);
    return 0;
}

int sx_log_enabled(void) { return __atomic_load_n(&log_fd, __ATOMIC_ACQUIRE) >= 0; }

void sx_log_write(const void *bytes, size_t count) {
    int fd = __atomic_load_n(&log_fd, __ATOMIC_ACQUIRE);
    if (fd < 0) return;
    int saved = errno;
    (void)!sx_real_write(fd, bytes, count);
    errno = saved;
}

int sx_log_relocate(int fd) {
    if (fd < 0 || fd != __atomic_load_n(&log_fd, __ATOMIC_ACQUIRE)) return 0;
    int moved = sx_dup_high(fd);
    mark(fd, 2, 0);
    if (moved >= 0) mark(moved, 2, 1);
    __atomic_store_n(&log_fd, moved, __ATOMIC_RELEASE);  // -1: no room, logging to the file ends
    return 1;
}

int sx_getpid(void) { return (int)getpid(); }
