// The libc surface the Swift core uses, for both its compilations (Embedded Swift has no Glibc
// module). Calls the shim also interposes go through sx_real_*: pointers found with
// dlsym(RTLD_NEXT), so the core never re-enters its own interposers.
#ifndef SOCKSIFY_LIBC_H
#define SOCKSIFY_LIBC_H

// No _GNU_SOURCE here: Swift imports this header next to Glibc, and both must see the same
// definitions of the system's types. GNU-only declarations live in the C files that need them.

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

// Real libc calls (resolved once, lazily, thread-safe).
int sx_real_socket(int domain, int type, int protocol);
int sx_real_connect(int fd, const struct sockaddr *addr, socklen_t len);
int sx_real_close(int fd);
int sx_real_dup2(int oldfd, int newfd);
int sx_real_dup3(int oldfd, int newfd, int flags);
ssize_t sx_real_send(int fd, const void *buf, size_t len, int flags);
ssize_t sx_real_recv(int fd, void *buf, size_t len, int flags);
int sx_real_poll(struct pollfd *fds, nfds_t count, int timeout_ms);
int sx_real_getpeername(int fd, struct sockaddr *addr, socklen_t *len);
int sx_real_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                        struct addrinfo **result);
void sx_real_freeaddrinfo(struct addrinfo *result);

int sx_real_getnameinfo(const struct sockaddr *address, socklen_t length, char *host, socklen_t hostlen,
                        char *serv, socklen_t servlen, int flags);
int sx_real_gethostbyname2_r(const char *name, int family, struct hostent *ret, char *buf, size_t buflen,
                             struct hostent **result, int *h_errnop);
int sx_real_gethostbyaddr_r(const void *address, socklen_t length, int type, struct hostent *ret, char *buf,
                            size_t buflen, struct hostent **result, int *h_errnop);
struct hostent *sx_real_gethostbyname(const char *name);
struct hostent *sx_real_gethostbyname2(const char *name, int family);
struct hostent *sx_real_gethostbyaddr(const void *address, socklen_t length, int type);
ssize_t sx_real_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *address, socklen_t length);
ssize_t sx_real_sendmsg(int fd, const struct msghdr *message, int flags);
// Any other real function by name (the res_* family, whose signatures vary).
void *sx_real_symbol(const char *name);
void sx_real_use_linked_libc(void);  // the static launcher: sx_real_* are the libc linked in (real.c)

ssize_t sx_real_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *address, socklen_t *length);
ssize_t sx_real_recvmsg(int fd, struct msghdr *message, int flags);
int sx_real_bind(int fd, const struct sockaddr *address, socklen_t length);
int sx_real_listen(int fd, int backlog);
int sx_real_accept(int fd, struct sockaddr *address, socklen_t *length);
int sx_real_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);
int sx_real_getsockname(int fd, struct sockaddr *address, socklen_t *length);
// Listening sockets a SOCKS5 BIND may carry (Shim+Bind.swift): how many candidates and BIND
// tunnels exist, so listen, accept and getsockname cost one load while there are none.
void sx_bind_watch_set(int count);
ssize_t sx_real_read(int fd, void *buf, size_t len);
ssize_t sx_real_write(int fd, const void *buf, size_t len);
int sx_real_dup(int fd);
int sx_real_fcntl(int fd, int command, long argument);
int sx_real_getsockopt(int fd, int level, int name, void *value, socklen_t *length);
int sx_real_setsockopt(int fd, int level, int name, const void *value, socklen_t length);

// Which descriptors are UDP sockets with a SOCKS association: one byte per descriptor number
// below SX_UDP_MARKS, read without a lock on every send/recv/read/write/close.
#define SX_UDP_MARKS 65536
int sx_udp_marked(int fd);
int sx_udp_mark(int fd, int on);  // 0, or -1 if fd is out of range
// Descriptors the shim owns (the UDP control connections): kept high and moved away when the
// program closes or replaces their number.
int sx_own_marked(int fd);
int sx_own_mark(int fd, int on);
// A socket whose tunnel a signal interrupted: its next call finishes the exchange (bit 2).
int sx_pending_marked(int fd);
int sx_pending_mark(int fd, int on);
// The bits whose descriptors' I/O goes to the core: a UDP association, an interrupted tunnel.
#define SX_MARKS_IO 5
int sx_io_marked(int fd);
// 1 in a vfork child: the marks are its parent's bookkeeping, to be left alone.
int sx_marks_borrowed(void);
// The transport socket() was asked for (bits 3-4: 1 TCP, 2 UDP, 3 other; 0 unknown), and a
// recorded proxied peer (bit 5).
#define SX_FACT_KIND 0x18
#define SX_FACT_KIND_SHIFT 3
#define SX_FACT_PEER 0x20
// The program set SO_SNDTIMEO on it (bit 6): a blocking connect's limit.
#define SX_FACT_SNDTIMEO 0x40
int sx_socket_send_timeout_ms(int fd);  // getsockopt(SO_SNDTIMEO) in ms, rounded up; 0 none
int sx_fd_facts(int fd);
int sx_fd_facts_set(int fd, int mask, int bits);
int sx_any_marked_in(int first, int last, int *found);  // 1 and the first marked fd in the range
int sx_move_high(int fd);         // F_DUPFD_CLOEXEC to a high number; returns the (new) fd
int sx_dup_high(int fd);          // a high close-on-exec copy, or -1
int sx_socket_protocol(int fd);   // getsockopt(SO_PROTOCOL)
int sx_socket_local_port(int fd); // getsockname's port, -1 on error

// Small wrappers for what Swift cannot call directly (variadic fcntl, errno, globals).
int sx_errno(void);
void sx_set_errno(int value);
int sx_get_status_flags(int fd);                 // fcntl(F_GETFL)
int sx_set_status_flags(int fd, int flags);      // fcntl(F_SETFL)
int sx_get_descriptor_flags(int fd);             // fcntl(F_GETFD)
int sx_socket_type(int fd);                      // getsockopt(SO_TYPE), -1 if not a socket
int sx_socket_domain(int fd);                    // getsockopt(SO_DOMAIN), -1 if not a socket
int sx_socket_v6only(int fd);                    // getsockopt(IPV6_V6ONLY)
int sx_shutdown_both(int fd);                    // shutdown(SHUT_RDWR)
int sx_disconnect(int fd);                       // connect(AF_UNSPEC): back to unconnected
int sx_signal_interrupts(void);                  // 1: a signal ends a blocking connect (EINTR)
uint64_t sx_socket_inode(int fd);                // fstat st_ino: one socket, whatever its copies
uint64_t sx_monotonic_ns(void);
const char *sx_program_name(void);               // program_invocation_short_name
const char *sx_program_argv0(void);              // program_invocation_name
long sx_executable_path(char *buffer, size_t size); // readlink /proc/self/exe
const char *sx_getenv(const char *name);         // secure_getenv: nothing for setuid programs
int sx_is_secure_mode(void);                     // AT_SECURE: setuid/setgid/capabilities
void sx_write_stderr(const void *bytes, size_t count);
// The log file (--log FILE, SOCKSIFY_LOG): opened once for appending, kept at a high number the
// program does not reach and moved (not closed) when the program closes or replaces that number.
int sx_log_open(const char *path);        // 0, or -1 with errno
int sx_log_enabled(void);
void sx_log_write(const void *bytes, size_t count);
int sx_log_relocate(int fd);              // 1 when fd was the log file (now moved)
int sx_getpid(void);

// For RulesFileReader: open(O_RDONLY | O_CLOEXEC), and fstat's size (-1 if not a regular file).
int sx_open_readonly(const char *path);
long long sx_file_size(int fd);
// getxattr(path, name, NULL, 0): the attribute's size, -1 if absent (for the launcher's checks).
long sx_xattr_size(const char *path, const char *name);
int sx_inet_aton(const char *text, uint32_t *address_network_order);
unsigned int sx_interface_index(const char *name);  // if_nametoindex

// Shared memory for the name table (see SocksifyCore/DNS/NameTable.swift).
void *sx_map_shared_anonymous(size_t size);                            // NULL on failure
// A robust, process-shared mutex that lives inside that memory.
int sx_shared_mutex_init(void *mutex);
void sx_shared_mutex_lock(void *mutex);
void sx_shared_mutex_unlock(void *mutex);
size_t sx_shared_mutex_size(void);

// What a name resolves to, as the core hands it to the C resolver interposers.
typedef struct {
    int family;               // AF_INET or AF_INET6
    unsigned char bytes[16];  // 4 or 16 bytes, network order
} sx_ip;

#define SX_MAX_ADDRESSES 16
typedef struct {
    int count;
    sx_ip addresses[SX_MAX_ADDRESSES];
    char canonical[256];
} sx_resolution;

// Answers of sx_core_resolve / sx_core_reverse.
#define SX_RESOLVE_LIBC 0       // hand the call to libc
#define SX_RESOLVE_ANSWERED 1   // the sx_resolution holds the answer
#define SX_RESOLVE_NOT_FOUND 2  // no such name, and no one was asked
#define SX_RESOLVE_REFUSED 3    // refused by policy (logged)

void sx_resolution_add(sx_resolution *resolution, int family, const unsigned char *bytes);
void sx_resolution_set_name(sx_resolution *resolution, const unsigned char *name, size_t length);

// One process-wide lock that survives fork (held across fork, re-initialised in the child).
void sx_lock(void);
void sx_unlock(void);

// System V shared memory for a run's name map (SocksifyCore/DNS/SharedNameMap.swift): a segment
// cannot be truncated under the processes that use it, and the kernel counts who is attached.
typedef struct {
    int id;                   // the segment's identifier (shmget's answer)
    int key;                  // 0 (IPC_PRIVATE) for segments socksify makes
    uint32_t owner_uid;       // shm_perm.uid
    uint32_t creator_uid;     // shm_perm.cuid
    uint32_t mode;            // shm_perm.mode: permission bits, plus SHM_DEST once removed
    uint64_t size;            // shm_segsz
    uint64_t attachments;     // shm_nattch
    int32_t creator_pid;      // shm_cpid
    int32_t last_pid;         // shm_lpid: the last process to attach or detach
    int64_t attach_time;      // shm_atime, shm_dtime, shm_ctime (seconds since the epoch)
    int64_t detach_time;
    int64_t change_time;
} sx_shm_facts;
int sx_shm_create(size_t size);                       // shmget(IPC_PRIVATE, 0600): the id, or -1
void *sx_shm_attach(int id, int read_only);           // shmat; NULL on failure (errno kept)
int sx_shm_detach(const void *address);               // shmdt
int sx_shm_remove(int id);                            // shmctl(IPC_RMID)
int sx_shm_facts_of(int id, sx_shm_facts *facts);     // shmctl(IPC_STAT): 0, or -1
int sx_shm_highest_index(void);                       // shmctl(SHM_INFO): -1 on failure
int sx_shm_facts_at(int index, sx_shm_facts *facts);  // shmctl(SHM_STAT): 0, or -1 (unused or unreadable)

// Asynchronous tunnels (async_waits.c): their count, for the wait interposers' fast path, and
// the program's epoll registration of each TCP socket (bit 7 of the facts: it has one), which a
// tunnel borrows while it runs (the kernel then reports its steps under SX_EPOLL_TAG | fd).
#define SX_FACT_EPOLL 0x80
#define SX_EPOLL_TAG 0x534F434B00000000ULL
void sx_async_tunnels_set(int count);
void sx_epoll_arm(int fd, int need);  // need: 1 writable, 2 readable
void sx_epoll_restore(int fd);
void sx_epoll_forget(int fd);
#ifndef __swift__
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
__attribute__((visibility("hidden"))) extern int sx_async_tunnels;
__attribute__((visibility("hidden"))) extern int sx_bind_watch;
void sx_epoll_note(int epfd, int op, int fd, const struct epoll_event *event);
void sx_epoll_silence(int epfd, int fd);
void sx_epoll_release_other(int epfd, int fd);
int sx_real_ppoll(struct pollfd *fds, nfds_t count, const struct timespec *timeout, const sigset_t *mask);
int sx_real_select(int nfds, fd_set *r, fd_set *w, fd_set *x, struct timeval *timeout);
int sx_real_pselect(int nfds, fd_set *r, fd_set *w, fd_set *x, const struct timespec *timeout, const sigset_t *mask);
int sx_real_epoll_ctl(int epfd, int op, int fd, struct epoll_event *event);
int sx_real_epoll_wait(int epfd, struct epoll_event *events, int max, int timeout_ms);
int sx_real_epoll_pwait(int epfd, struct epoll_event *events, int max, int timeout_ms, const sigset_t *mask);
int sx_real_epoll_pwait2(int epfd, struct epoll_event *events, int max, const struct timespec *timeout, const sigset_t *mask);
int sx_real___poll_chk(struct pollfd *fds, nfds_t count, int timeout_ms, size_t room);
int sx_real___ppoll_chk(struct pollfd *fds, nfds_t count, const struct timespec *timeout, const sigset_t *mask, size_t room);
#include <sys/uio.h>
ssize_t sx_real_readv(int fd, const struct iovec *vector, int count);
ssize_t sx_real_writev(int fd, const struct iovec *vector, int count);
#endif


// The kernel backstop (seccomp.c, docs/kernel-backstop.md): the launcher's filter and supervisor.
typedef struct {
    uint64_t id;        // the notification, for the answer
    uint32_t pid;       // the stopped thread
    int32_t nr;         // the system call's number and ABI (AUDIT_ARCH_*)
    uint32_t arch;
    uint64_t args[6];
} sx_stopped_call;
int sx_backstop_install(void);                                    // no_new_privs + filter: the listener, or -1
int sx_backstop_supported(void);                                  // 0 if user notification exists (nothing installed), or -1
int sx_backstop_receive(int listener, sx_stopped_call *call);     // SECCOMP_IOCTL_NOTIF_RECV: 0, or -1
// SECCOMP_IOCTL_NOTIF_SEND: `value`, or `error` (an errno > 0), or with `proceed` the call itself
int sx_backstop_respond(int listener, uint64_t id, int64_t value, int error, int proceed);
// SECCOMP_IOCTL_NOTIF_ADDFD: `fd` installed in the program as the call's result; 0, or -1
int sx_backstop_install_descriptor(int listener, uint64_t id, int fd, int cloexec);
int sx_backstop_still_waiting(int listener, uint64_t id);         // SECCOMP_IOCTL_NOTIF_ID_VALID: 1 or 0
long sx_read_process_memory(int pid, uint64_t address, void *buffer, size_t count);  // process_vm_readv
int sx_pidfd_open(int pid);
int sx_close_range(unsigned int first, unsigned int last);         // the supervisor lets go of what it inherited
int sx_pidfd_getfd(int pidfd, int fd);                            // a copy of the process's descriptor

#endif
