// getaddrinfo_a(3): glibc's worker threads call libc's own getaddrinfo, which the interposer
// never sees, so a query would leave directly. When the core keeps names from leaving (names
// resolved by the proxy, or strict mode), each request is answered at once through the
// interposed getaddrinfo and the program is notified as glibc would; otherwise it is glibc's.
#define _GNU_SOURCE
#include "socksify_shim.h"
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

typedef int (*getaddrinfo_a_fn)(int, struct gaicb *[], int, struct sigevent *);

static void *notify_thread(void *argument) {
    struct sigevent *event = argument;
    event->sigev_notify_function(event->sigev_value);
    free(event);
    return NULL;
}

// SIGEV_SIGNAL and SIGEV_THREAD, as glibc delivers them once every request is done.
static void notify(const struct sigevent *event) {
    if (event == NULL) return;
    if (event->sigev_notify == SIGEV_SIGNAL) {
        sigqueue(getpid(), event->sigev_signo, event->sigev_value);
    } else if (event->sigev_notify == SIGEV_THREAD && event->sigev_notify_function != NULL) {
        struct sigevent *copy = malloc(sizeof *copy);
        if (copy == NULL) return;
        *copy = *event;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        if (event->sigev_notify_attributes != NULL) attributes = *event->sigev_notify_attributes;
        pthread_t thread;
        if (pthread_create(&thread, &attributes, notify_thread, copy) != 0) free(copy);
    }
}

SX_EXPORT int getaddrinfo_a(int mode, struct gaicb *list[], int count, struct sigevent *event) {
    if (!sx_shim_ready() || !sx_core_names_kept_in()) {
        static getaddrinfo_a_fn real;
        if (real == NULL) real = (getaddrinfo_a_fn)sx_real_symbol("getaddrinfo_a");
        if (real == NULL) return EAI_SYSTEM;
        return real(mode, list, count, event);
    }
    if (mode != GAI_WAIT && mode != GAI_NOWAIT) return EAI_SYSTEM;
    for (int i = 0; i < count; i++) {
        if (list[i] == NULL) continue;
        // gai_error reads __return; gai_suspend and gai_cancel see the request as done.
        list[i]->__return = getaddrinfo(list[i]->ar_name, list[i]->ar_service, list[i]->ar_request, &list[i]->ar_result);
    }
    if (mode == GAI_NOWAIT) notify(event);
    return 0;
}
