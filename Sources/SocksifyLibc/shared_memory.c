// System V shared memory, for the run's name map. Thin wrappers: which segment is whose, and
// when one may go, is decided in Swift (SocksifyCore/DNS/SharedNameMap.swift, NameMapCleanup.swift).
#define _GNU_SOURCE
#include "socksify_libc.h"
#include <sys/ipc.h>
#include <sys/shm.h>

int sx_shm_create(size_t size) { return shmget(IPC_PRIVATE, size, IPC_CREAT | IPC_EXCL | 0600); }

void *sx_shm_attach(int id, int read_only) {
    void *memory = shmat(id, NULL, read_only ? SHM_RDONLY : 0);
    return memory == (void *)-1 ? NULL : memory;
}

int sx_shm_detach(const void *address) { return shmdt(address); }

int sx_shm_remove(int id) { return shmctl(id, IPC_RMID, NULL); }

static void describe(int id, const struct shmid_ds *ds, sx_shm_facts *facts) {
    facts->id = id;
    facts->key = (int)ds->shm_perm.__key;
    facts->owner_uid = (uint32_t)ds->shm_perm.uid;
    facts->creator_uid = (uint32_t)ds->shm_perm.cuid;
    facts->mode = (uint32_t)ds->shm_perm.mode;
    facts->size = (uint64_t)ds->shm_segsz;
    facts->attachments = (uint64_t)ds->shm_nattch;
    facts->creator_pid = (int32_t)ds->shm_cpid;
    facts->last_pid = (int32_t)ds->shm_lpid;
    facts->attach_time = (int64_t)ds->shm_atime;
    facts->detach_time = (int64_t)ds->shm_dtime;
    facts->change_time = (int64_t)ds->shm_ctime;
}

int sx_shm_facts_of(int id, sx_shm_facts *facts) {
    struct shmid_ds ds;
    if (shmctl(id, IPC_STAT, &ds) != 0) return -1;
    describe(id, &ds, facts);
    return 0;
}

int sx_shm_highest_index(void) {
    struct shm_info info;
    return shmctl(0, SHM_INFO, (struct shmid_ds *)&info);
}

int sx_shm_facts_at(int index, sx_shm_facts *facts) {
    struct shmid_ds ds;
    int id = shmctl(index, SHM_STAT, &ds);
    if (id < 0) return -1;
    describe(id, &ds, facts);
    return 0;
}
