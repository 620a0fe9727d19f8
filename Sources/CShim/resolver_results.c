// Building addrinfo lists and hostents from the core's answers, with glibc's semantics for
// hints, services and socket types.
#define _GNU_SOURCE
#include "resolver_results.h"
#include <stdlib.h>
#include <string.h>

struct socket_kind { int socktype; int protocol; const char *service_protocol; };

// Which (socktype, protocol) pairs a query asks for, as glibc answers them.
static int socket_kinds(const struct addrinfo *hints, int has_service, struct socket_kind *out) {
    static const struct socket_kind all[] = {
        { SOCK_STREAM, IPPROTO_TCP, "tcp" }, { SOCK_DGRAM, IPPROTO_UDP, "udp" }, { SOCK_RAW, 0, NULL },
    };
    int socktype = hints ? hints->ai_socktype : 0;
    int protocol = hints ? hints->ai_protocol : 0;
    int count = 0;
    if (socktype == SOCK_RAW && has_service) return 0;  // raw sockets have no ports: EAI_SERVICE
    for (int i = 0; i < 3; i++) {
        if (socktype != 0 && all[i].socktype != socktype) continue;
        // glibc adds a raw entry for socktype 0 unless the service is a name (raw has no ports).
        if (all[i].socktype == SOCK_RAW && socktype == 0 && (has_service == 2 || protocol != 0)) continue;
        if (protocol != 0 && all[i].protocol != 0 && all[i].protocol != protocol) continue;
        out[count] = all[i];
        if (all[i].socktype == SOCK_RAW) out[count].protocol = protocol;
        count++;
    }
    return count;
}

// The port for a service in network order, or -1 when it does not exist for this protocol.
static int service_port(const char *service, int flags, const char *protocol, int *error) {
    if (service == NULL || *service == 0) return 0;
    char *end = NULL;
    unsigned long value = strtoul(service, &end, 10);
    if (end != service && *end == 0) {
        if (value > 65535) { *error = EAI_SERVICE; return -1; }
        return htons((uint16_t)value);
    }
    if (flags & AI_NUMERICSERV) { *error = EAI_NONAME; return -1; }
    if (protocol == NULL) { *error = EAI_SERVICE; return -1; }
    struct servent entry, *found = NULL;
    char buffer[1024];
    if (getservbyname_r(service, protocol, &entry, buffer, sizeof buffer, &found) != 0 || found == NULL) {
        *error = EAI_SERVICE;
        return -1;
    }
    return found->s_port;
}

static void free_list(struct addrinfo *list) {
    while (list) {
        struct addrinfo *next = list->ai_next;
        free(list->ai_canonname);
        free(list);
        list = next;
    }
}

int sx_build_addrinfo(const sx_resolution *r, const char *service, const struct addrinfo *hints,
                      struct addrinfo **result) {
    int flags = hints ? hints->ai_flags : AI_V4MAPPED | AI_ADDRCONFIG;  // glibc's flags for NULL hints
    struct socket_kind kinds[3];
    int has_service = 0;
    if (service != NULL && *service != 0) {
        char *end = NULL;
        strtoul(service, &end, 10);
        has_service = *end == 0 ? 1 : 2;  // 1: numeric, 2: a name from /etc/services
    }
    int kind_count = socket_kinds(hints, has_service, kinds);
    if (kind_count == 0) {
        int socktype = hints ? hints->ai_socktype : 0;
        if (socktype == SOCK_RAW) return EAI_SERVICE;
        return socktype != 0 && socktype != SOCK_STREAM && socktype != SOCK_DGRAM ? EAI_SOCKTYPE
             : (hints && hints->ai_protocol != 0 ? EAI_SOCKTYPE : EAI_SERVICE);
    }

    struct addrinfo *head = NULL, **tail = &head;
    int error = EAI_SERVICE;
    for (int a = 0; a < r->count; a++) {
        const sx_ip *ip = &r->addresses[a];
        for (int k = 0; k < kind_count; k++) {
            int kind_error = 0;
            int port = service_port(service, flags, kinds[k].service_protocol, &kind_error);
            if (port < 0) { error = kind_error; continue; }
            size_t address_length = ip->family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
            struct addrinfo *node = calloc(1, sizeof(struct addrinfo) + sizeof(struct sockaddr_in6));
            if (node == NULL) { free_list(head); return EAI_MEMORY; }
            node->ai_flags = flags;
            node->ai_family = ip->family;
            node->ai_socktype = kinds[k].socktype;
            node->ai_protocol = kinds[k].protocol;
            node->ai_addrlen = (socklen_t)address_length;
            node->ai_addr = (struct sockaddr *)(node + 1);
            if (ip->family == AF_INET) {
                struct sockaddr_in *sin = (struct sockaddr_in *)node->ai_addr;
                sin->sin_family = AF_INET;
                sin->sin_port = (in_port_t)port;
                memcpy(&sin->sin_addr, ip->bytes, 4);
            } else {
                struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)node->ai_addr;
                sin6->sin6_family = AF_INET6;
                sin6->sin6_port = (in_port_t)port;
                memcpy(&sin6->sin6_addr, ip->bytes, 16);
            }
            *tail = node;
            tail = &node->ai_next;
        }
    }
    if (head == NULL) return error;
    if (flags & AI_CANONNAME) {
        head->ai_canonname = strdup(r->canonical);
        if (head->ai_canonname == NULL) { free_list(head); return EAI_MEMORY; }
    }
    *result = head;
    return 0;
}

static char *take(char **cursor, size_t *left, size_t size, size_t align) {
    size_t pad = (align - ((uintptr_t)*cursor % align)) % align;
    if (*left < pad + size) return NULL;
    char *p = *cursor + pad;
    *cursor += pad + size;
    *left -= pad + size;
    return p;
}

int sx_build_hostent(const sx_resolution *r, int family, struct hostent *ret, char *buffer, size_t length) {
    int address_length = family == AF_INET ? 4 : 16;
    int count = 0;
    for (int i = 0; i < r->count; i++) if (r->addresses[i].family == family) count++;
    char *cursor = buffer;
    size_t left = length;
    char **aliases = (char **)take(&cursor, &left, sizeof(char *), sizeof(char *));
    char **list = (char **)take(&cursor, &left, sizeof(char *) * (size_t)(count + 1), sizeof(char *));
    char *addresses = take(&cursor, &left, (size_t)(address_length * count), 8);
    size_t name_length = strlen(r->canonical) + 1;
    char *name = take(&cursor, &left, name_length, 1);
    if (aliases == NULL || list == NULL || addresses == NULL || name == NULL) return ERANGE;
    memcpy(name, r->canonical, name_length);
    aliases[0] = NULL;
    int n = 0;
    for (int i = 0; i < r->count; i++) {
        if (r->addresses[i].family != family) continue;
        memcpy(addresses + n * address_length, r->addresses[i].bytes, (size_t)address_length);
        list[n] = addresses + n * address_length;
        n++;
    }
    list[n] = NULL;
    ret->h_name = name;
    ret->h_aliases = aliases;
    ret->h_addrtype = family;
    ret->h_length = address_length;
    ret->h_addr_list = list;
    return 0;
}
