// The kernel backstop (docs/kernel-backstop.md): a seccomp filter that stops the calls which
// open connections and hands them to the launcher, which supervises the program from outside.
// Only the launcher uses this file; the library never installs a filter.
#define _GNU_SOURCE
#include "socksify_libc.h"
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#define ARCH_OFFSET offsetof(struct seccomp_data, arch)
#define NR_OFFSET offsetof(struct seccomp_data, nr)
#define ARG_LOW(n) (offsetof(struct seccomp_data, args) + 8 * (n))
#define ARG_HIGH(n) (ARG_LOW(n) + 4)

#define LOAD(offset) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (offset))
#define IF_EQUAL(value, yes, no) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (value), (yes), (no))
#define RETURN(what) BPF_STMT(BPF_RET | BPF_K, (what))

#define X32_BIT 0x40000000u

#ifdef __x86_64__
int sx_backstop_install(void) {
    // Numbers are fixed by the ABI; the i386 ones are spelled out because this file is built
    // for x86_64 only. A jump skips that many instructions; the targets are in the comments.
    struct sock_filter program[] = {
        /* 0 */ LOAD(ARCH_OFFSET),
        /* 1 */ IF_EQUAL(AUDIT_ARCH_X86_64, 0, 31),                      // else i386: 33
        /* 2 */ LOAD(NR_OFFSET),
        /* 3 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, X32_BIT, 22, 0),   // x32: 26
        /* 4 */ IF_EQUAL(__NR_connect, 20, 0),                           // notify: 25
        /* 5 */ IF_EQUAL(__NR_sendmsg, 19, 0),  // the message's name is in memory the filter cannot read
        /* 6 */ IF_EQUAL(__NR_sendmmsg, 18, 0),
        /* 7 */ IF_EQUAL(__NR_io_uring_setup, 17, 0),
        /* 8 */ IF_EQUAL(__NR_socket, 0, 10),                            // else sendto: 19
        // socket: the library's socket verdict, for the sockets it can refuse in strict mode:
        // families other than IP and local ones, and raw and packet IP sockets, which write
        // packets of their own (any other socket's way out is its connect or send)
        /* 9 */ LOAD(ARG_LOW(0)),
        /* 10 */ IF_EQUAL(AF_INET, 4, 0),                                // type: 15
        /* 11 */ IF_EQUAL(AF_INET6, 3, 0),
        /* 12 */ IF_EQUAL(AF_UNIX, 11, 0),                               // allow: 24
        /* 13 */ IF_EQUAL(AF_NETLINK, 10, 0),
        /* 14 */ IF_EQUAL(38 /* AF_ALG */, 9, 10),                       // allow: 24, notify: 25
        /* 15 */ LOAD(ARG_LOW(1)),
        /* 16 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xF),               // the type without its flags
        /* 17 */ IF_EQUAL(SOCK_RAW, 7, 0),                               // notify: 25
        /* 18 */ IF_EQUAL(SOCK_PACKET, 6, 5),                            // notify: 25, allow: 24
        /* 19 */ IF_EQUAL(__NR_sendto, 0, 4),                            // else allow: 24
        // sendto with a destination (args[4], both halves); a connected socket's send passes NULL
        /* 20 */ LOAD(ARG_LOW(4)),
        /* 21 */ IF_EQUAL(0, 0, 3),                                      // notify: 25
        /* 22 */ LOAD(ARG_HIGH(4)),
        /* 23 */ IF_EQUAL(0, 0, 1),                                      // allow: 24, notify: 25
        /* 24 */ RETURN(SECCOMP_RET_ALLOW),
        /* 25 */ RETURN(SECCOMP_RET_USER_NOTIF),
        // x32: the same calls under their x32 numbers (the supervisor refuses them)
        /* 26 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~X32_BIT),
        /* 27 */ IF_EQUAL(__NR_connect, 24, 0),                          // notify: 52
        /* 28 */ IF_EQUAL(__NR_sendto, 23, 0),
        /* 29 */ IF_EQUAL(518 /* x32 sendmsg */, 22, 0),
        /* 30 */ IF_EQUAL(538 /* x32 sendmmsg */, 21, 0),
        /* 31 */ IF_EQUAL(__NR_io_uring_setup, 20, 0),
        /* 32 */ RETURN(SECCOMP_RET_ALLOW),
        // i386 (int 0x80, 32-bit programs): the direct socket calls, and socketcall, which
        // multiplexes every socket call, stopped only for the ones that open connections or
        // make sockets (its first argument says which: SYS_SOCKET 1, SYS_CONNECT 3, SYS_SENDTO
        // 11, SYS_SENDMSG 16, SYS_SENDMMSG 20; a socket's own arguments are in memory the
        // filter cannot read, so every SYS_SOCKET stops)
        /* 33 */ LOAD(NR_OFFSET),
        /* 34 */ IF_EQUAL(102 /* socketcall */, 18, 0),                  // 53
        /* 35 */ IF_EQUAL(362 /* connect */, 16, 0),                     // notify: 52
        /* 36 */ IF_EQUAL(369 /* sendto */, 15, 0),
        /* 37 */ IF_EQUAL(370 /* sendmsg */, 14, 0),
        /* 38 */ IF_EQUAL(345 /* sendmmsg */, 13, 0),
        /* 39 */ IF_EQUAL(425 /* io_uring_setup */, 12, 0),
        /* 40 */ IF_EQUAL(359 /* socket */, 0, 10),                      // else allow: 51
        /* 41 */ LOAD(ARG_LOW(0)),
        /* 42 */ IF_EQUAL(AF_INET, 4, 0),                                // type: 47
        /* 43 */ IF_EQUAL(AF_INET6, 3, 0),
        /* 44 */ IF_EQUAL(AF_UNIX, 6, 0),                                // allow: 51
        /* 45 */ IF_EQUAL(AF_NETLINK, 5, 0),
        /* 46 */ IF_EQUAL(38 /* AF_ALG */, 4, 5),                        // allow: 51, notify: 52
        /* 47 */ LOAD(ARG_LOW(1)),
        /* 48 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xF),
        /* 49 */ IF_EQUAL(SOCK_RAW, 2, 0),                               // notify: 52
        /* 50 */ IF_EQUAL(SOCK_PACKET, 1, 0),                            // notify: 52, allow: 51
        /* 51 */ RETURN(SECCOMP_RET_ALLOW),
        /* 52 */ RETURN(SECCOMP_RET_USER_NOTIF),
        /* 53 */ LOAD(ARG_LOW(0)),
        /* 54 */ IF_EQUAL(1, 5, 0),                                      // notify: 60
        /* 55 */ IF_EQUAL(3, 4, 0),
        /* 56 */ IF_EQUAL(11, 3, 0),
        /* 57 */ IF_EQUAL(16, 2, 0),
        /* 58 */ IF_EQUAL(20, 1, 0),
        /* 59 */ RETURN(SECCOMP_RET_ALLOW),
        /* 60 */ RETURN(SECCOMP_RET_USER_NOTIF),
    };
    struct sock_fprog filter = { .len = (unsigned short)(sizeof program / sizeof program[0]), .filter = program };

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
    unsigned long flags = SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    long listener = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, flags, &filter);
    if (listener < 0 && errno == EINVAL) {
        // Before 5.19: no killable wait. A signal (Go's SIGURG) then restarts a stopped call,
        // which the filter simply stops again.
        listener = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &filter);
    }
    return (int)listener;
}

int sx_backstop_supported(void) {
    // Asks without installing anything (no no_new_privs either): whether the kernel knows
    // user notification. A process that goes on without the filter keeps its privileges.
    uint32_t action = SECCOMP_RET_USER_NOTIF;
    return syscall(__NR_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0 ? 0 : -1;
}
#else
int sx_backstop_install(void) {
    errno = ENOSYS;  // the filter speaks x86_64 system call numbers
    return -1;
}
int sx_backstop_supported(void) {
    errno = ENOSYS;
    return -1;
}
#endif

int sx_backstop_receive(int listener, sx_stopped_call *call) {
    struct seccomp_notif notification;
    memset(&notification, 0, sizeof notification);  // the kernel insists on zeroes
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &notification) != 0) return -1;
    call->id = notification.id;
    call->pid = notification.pid;
    call->nr = notification.data.nr;
    call->arch = notification.data.arch;
    for (int i = 0; i < 6; i++) call->args[i] = notification.data.args[i];
    return 0;
}

int sx_backstop_respond(int listener, uint64_t id, int64_t value, int error, int proceed) {
    struct seccomp_notif_resp response;
    memset(&response, 0, sizeof response);
    response.id = id;
    if (proceed) {
        response.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    } else {
        response.val = value;
        response.error = error ? -error : 0;
    }
    return ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &response);
}

int sx_backstop_install_descriptor(int listener, uint64_t id, int fd, int cloexec) {
    struct seccomp_notif_addfd addfd;
    memset(&addfd, 0, sizeof addfd);
    addfd.id = id;
    addfd.srcfd = (uint32_t)fd;
    addfd.newfd_flags = cloexec ? O_CLOEXEC : 0;
    int installed;
#ifdef SECCOMP_ADDFD_FLAG_SEND
    addfd.flags = SECCOMP_ADDFD_FLAG_SEND;  // 5.14+: installs it and answers the call with it, at once
    installed = ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd);
    if (installed >= 0) return 0;
    if (errno != EINVAL) return -1;
    addfd.flags = 0;
#endif
    installed = ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd);
    if (installed < 0) return -1;
    return sx_backstop_respond(listener, id, installed, 0, 0);
}

int sx_backstop_still_waiting(int listener, uint64_t id) {
    return ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

long sx_read_process_memory(int pid, uint64_t address, void *buffer, size_t count) {
    struct iovec local = { .iov_base = buffer, .iov_len = count };
    struct iovec remote = { .iov_base = (void *)(uintptr_t)address, .iov_len = count };
    return (long)process_vm_readv(pid, &local, 1, &remote, 1, 0);
}

int sx_pidfd_open(int pid) { return (int)syscall(__NR_pidfd_open, pid, 0); }

int sx_pidfd_getfd(int pidfd, int fd) { return (int)syscall(__NR_pidfd_getfd, pidfd, fd, 0); }

int sx_close_range(unsigned int first, unsigned int last) {
#ifdef __NR_close_range
    return (int)syscall(__NR_close_range, first, last, 0);
#else
    errno = ENOSYS;
    return -1;
#endif
}
