// The kernel backstop (docs/kernel-backstop.md): a seccomp filter that stops the calls which
// open connections and hands them to the launcher, which supervises the program from outside.
// Only the launcher uses this file; the library never installs a filter.
#define _GNU_SOURCE
#include "socksify_libc.h"
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
        /* 1 */ IF_EQUAL(AUDIT_ARCH_X86_64, 0, 20),                      // else i386: 22
        /* 2 */ LOAD(NR_OFFSET),
        /* 3 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, X32_BIT, 11, 0),   // x32: 15
        /* 4 */ IF_EQUAL(__NR_connect, 9, 0),                            // notify: 14
        /* 5 */ IF_EQUAL(__NR_sendmsg, 8, 0),   // the message's name is in memory the filter cannot read
        /* 6 */ IF_EQUAL(__NR_sendmmsg, 7, 0),
        /* 7 */ IF_EQUAL(__NR_io_uring_setup, 6, 0),
        /* 8 */ IF_EQUAL(__NR_sendto, 0, 4),                             // else allow: 13
        // sendto with a destination (args[4], both halves); a connected socket's send passes NULL
        /* 9 */ LOAD(ARG_LOW(4)),
        /* 10 */ IF_EQUAL(0, 0, 3),                                      // notify: 14
        /* 11 */ LOAD(ARG_HIGH(4)),
        /* 12 */ IF_EQUAL(0, 0, 1),                                      // allow: 13, notify: 14
        /* 13 */ RETURN(SECCOMP_RET_ALLOW),
        /* 14 */ RETURN(SECCOMP_RET_USER_NOTIF),
        // x32: the same calls under their x32 numbers (the supervisor refuses them)
        /* 15 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~X32_BIT),
        /* 16 */ IF_EQUAL(__NR_connect, 13, 0),                          // notify: 30
        /* 17 */ IF_EQUAL(__NR_sendto, 12, 0),
        /* 18 */ IF_EQUAL(518 /* x32 sendmsg */, 11, 0),
        /* 19 */ IF_EQUAL(538 /* x32 sendmmsg */, 10, 0),
        /* 20 */ IF_EQUAL(__NR_io_uring_setup, 9, 0),
        /* 21 */ RETURN(SECCOMP_RET_ALLOW),
        // i386 (int 0x80, 32-bit programs): the direct socket calls, and socketcall, which
        // multiplexes every socket call, stopped only for the ones that open connections (its
        // first argument says which: SYS_CONNECT 3, SYS_SENDTO 11, SYS_SENDMSG 16, SYS_SENDMMSG
        // 20), so a 32-bit program's other socket calls never wait for the supervisor
        /* 22 */ LOAD(NR_OFFSET),
        /* 23 */ IF_EQUAL(102 /* socketcall */, 7, 0),                   // 31
        /* 24 */ IF_EQUAL(362 /* connect */, 5, 0),                      // notify: 30
        /* 25 */ IF_EQUAL(369 /* sendto */, 4, 0),
        /* 26 */ IF_EQUAL(370 /* sendmsg */, 3, 0),
        /* 27 */ IF_EQUAL(345 /* sendmmsg */, 2, 0),
        /* 28 */ IF_EQUAL(425 /* io_uring_setup */, 1, 0),
        /* 29 */ RETURN(SECCOMP_RET_ALLOW),
        /* 30 */ RETURN(SECCOMP_RET_USER_NOTIF),
        /* 31 */ LOAD(ARG_LOW(0)),
        /* 32 */ IF_EQUAL(3, 4, 0),                                      // notify: 37
        /* 33 */ IF_EQUAL(11, 3, 0),
        /* 34 */ IF_EQUAL(16, 2, 0),
        /* 35 */ IF_EQUAL(20, 1, 0),
        /* 36 */ RETURN(SECCOMP_RET_ALLOW),
        /* 37 */ RETURN(SECCOMP_RET_USER_NOTIF),
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
