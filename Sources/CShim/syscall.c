// syscall(2) for the socket calls: libuv (and so dig, node, …) sends and receives datagrams with
// syscall(SYS_sendmmsg/SYS_recvmmsg) instead of libc's functions; those numbers are sent to the
// same interposers as the functions, and so are socket creation and every way a descriptor is
// closed or copied (the registry must stay true). io_uring_setup is judged by the core: the
// ring's own connect and sendmsg would never pass through libc. Every other number goes
// straight to libc.
#define _GNU_SOURCE
#include "socksify_shim.h"
#include <stdarg.h>
#include <sys/syscall.h>

typedef long (*syscall_fn)(long, ...);

SX_EXPORT long syscall(long number, ...) {
    va_list arguments;
    va_start(arguments, number);
    long a = va_arg(arguments, long), b = va_arg(arguments, long), c = va_arg(arguments, long);
    long d = va_arg(arguments, long), e = va_arg(arguments, long), f = va_arg(arguments, long);
    va_end(arguments);
    switch (number) {
    case SYS_sendmmsg: return sendmmsg((int)a, (struct mmsghdr *)b, (unsigned int)c, (int)d);
    case SYS_recvmmsg: return recvmmsg((int)a, (struct mmsghdr *)b, (unsigned int)c, (int)d, (struct timespec *)e);
    case SYS_sendmsg: return sendmsg((int)a, (const struct msghdr *)b, (int)c);
    case SYS_recvmsg: return recvmsg((int)a, (struct msghdr *)b, (int)c);
    case SYS_sendto: return sendto((int)a, (const void *)b, (size_t)c, (int)d, (const struct sockaddr *)e, (socklen_t)f);
    case SYS_recvfrom: return recvfrom((int)a, (void *)b, (size_t)c, (int)d, (struct sockaddr *)e, (socklen_t *)f);
    case SYS_connect: return connect((int)a, (const struct sockaddr *)b, (socklen_t)c);
    case SYS_socket: return socket((int)a, (int)b, (int)c);
    case SYS_close: return close((int)a);
    case SYS_close_range: return close_range((unsigned int)a, (unsigned int)b, (int)c);
    case SYS_dup: return dup((int)a);
    case SYS_dup2: return dup2((int)a, (int)b);
    case SYS_dup3: return dup3((int)a, (int)b, (int)c);
    case SYS_fcntl: return fcntl((int)a, (int)b, c);
    case SYS_io_uring_setup:
        if (sx_shim_ready()) {
            int refusal = sx_core_check_io_uring();
            if (refusal) { errno = refusal; return -1; }
        }
        goto pass;
    default:
    pass: {
        static syscall_fn real;
        if (real == NULL) real = (syscall_fn)sx_real_symbol("syscall");
        return real(number, a, b, c, d, e, f);
    }
    }
}
