import Glibc

/// Threads that answer the backstop's stopped calls. A stopped connect may wait seconds on a
/// proxy, so each job gets a thread of its own; a thread that finishes waits a while for the
/// next job instead of exiting, so a program making connections one after another does not pay
/// a thread's creation for each (docs/kernel-backstop.md, "Cost").
final class WorkerPool: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Guarded by `mutex`.
    private var jobs: [() -> Void] = []
    private var idle = 0

    /// How long an idle thread waits for work before it exits.
    static let idleSeconds = 10

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
    }

    /// Runs `job` on an idle thread, or a new one; on this thread when none can be made.
    func run(_ job: @escaping () -> Void) {
        pthread_mutex_lock(mutex)
        if idle > jobs.count {
            jobs.append(job)
            pthread_cond_signal(wake)
            pthread_mutex_unlock(mutex)
            return
        }
        pthread_mutex_unlock(mutex)
        if !Detached.run({ self.work(first: job) }) { job() }
    }

    private func work(first: @escaping () -> Void) {
        var job: (() -> Void)? = first
        while let current = job {
            current()
            job = next()
        }
    }

    /// The next job, or nil after `idleSeconds` without one.
    private func next() -> (() -> Void)? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        idle += 1
        defer { idle -= 1 }
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        deadline.tv_sec += WorkerPool.idleSeconds
        while jobs.isEmpty {
            if pthread_cond_timedwait(wake, mutex, &deadline) == ETIMEDOUT && jobs.isEmpty { return nil }
        }
        return jobs.removeFirst()
    }
}
