// Lazy, once-only start of the Swift core. At load time only the run's shared name map is
// attached (when SOCKSIFY_DNS_MAP names one): a program that never touches the network pays for
// loading the library, one getenv and, in a run with a shared map, one shmat.
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

// From its first instruction, a process of the run counts as using the name map (shm_nattch),
// so a later run never removes a map that this process may still need.
__attribute__((constructor)) static void hold_name_map(void) { sx_core_hold_name_map(); }
