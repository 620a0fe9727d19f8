/* async_waits built with _FORTIFY_SOURCE=2: its poll over a fixed-size array is glibc's
 * __poll_chk (test_async_waits.py checks the binary asks for it). */
#undef _FORTIFY_SOURCE
#define _FORTIFY_SOURCE 2
#define ASYNC_WAITS_FORTIFY 1
#include "async_waits.c"
