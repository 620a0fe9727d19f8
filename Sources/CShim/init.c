// Lazy, once-only start of the Swift core. Nothing runs at load time: a program that never
// touches the network pays only for loading the library.
#include "socksify_shim.h"
#include <pthread.h>
#include <stdatomic.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_int started;
static __thread int initialising;

static void start_core(void) {
    initialising = 1;
    sx_core_init();
    initialising = 0;
    atomic_store_explicit(&started, 1, memory_order_release);
}

int sx_shim_ready(void) {
    if (atomic_load_explicit(&started, memory_order_acquire)) return 1;
    if (initialising) return 0;
    pthread_once(&once, start_core);
    return 1;
}

int sx_shim_started(void) { return atomic_load_explicit(&started, memory_order_acquire); }
