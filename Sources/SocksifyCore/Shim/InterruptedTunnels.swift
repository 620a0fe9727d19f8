import SocksifyLibc

/// Tunnels whose exchange is still going on after the program's connect returned: a blocking
/// connect a signal (or the program's SO_SNDTIMEO) interrupted, and every connect on a
/// non-blocking socket, which answers EINPROGRESS at once and is moved on by the program's own
/// waits (Shim+Waits.swift). The program then waits for the socket and reads SO_ERROR, connects
/// again, or just uses it; each of those finishes the exchange (a blocking socket), or takes the
/// steps it can without waiting (a non-blocking one). A tunnel that fails leaves its errno here
/// for SO_ERROR (or the next send or receive) to report once, as the kernel would. Descriptors
/// with an entry or an unreported failure carry the registry's pending bit (4).
final class InterruptedTunnels: @unchecked Sendable {
    struct Entry {
        var fd: Int32
        var progress: TunnelProgress
        /// What the program connected to (its getpeername answer) and the log's words for it.
        var destination: Endpoint
        var what: String
        /// When the program's connect began (monotonic), for the log's "ok 3ms".
        var started: UInt64 = 0
    }

    private var entries: [Entry] = []
    private var failures: [(fd: Int32, errno: Int32)] = []
    /// Descriptors whose tunnel a thread is stepping now: another thread's call on the same
    /// socket meanwhile answers "still going" rather than step it too, or take it for done.
    private var busy: [Int32] = []

    /// A new tunnel (or one put back as it was).
    func keep(_ entry: Entry) {
        sx_lock()
        entries.removeAll { $0.fd == entry.fd }
        entries.append(entry)
        busy.removeAll { $0 == entry.fd }
        publish()
        sx_unlock()
    }

    /// The tunnel on `fd`, to step: it stays listed (waits still see it) and is marked busy
    /// until `update` or `end`. Nil when there is none, or another thread is stepping it.
    func begin(_ fd: Int32) -> Entry? {
        sx_lock()
        defer { sx_unlock() }
        guard !busy.contains(fd), let entry = entries.first(where: { $0.fd == fd }) else { return nil }
        busy.append(fd)
        return entry
    }

    func isBusy(_ fd: Int32) -> Bool {
        sx_lock()
        defer { sx_unlock() }
        return busy.contains(fd)
    }

    /// A step taken: the tunnel goes on.
    func update(_ entry: Entry) { keep(entry) }

    /// The tunnel is up or failed: no longer listed.
    func end(_ fd: Int32) {
        sx_lock()
        entries.removeAll { $0.fd == fd }
        busy.removeAll { $0 == fd }
        publish()
        sx_unlock()
    }

    /// What an asynchronous tunnel waits for, and until when; nil for any other descriptor.
    func waiting(_ fd: Int32) -> (need: TunnelNeed, deadline: UInt64)? {
        sx_lock()
        defer { sx_unlock() }
        guard let entry = entries.first(where: { $0.fd == fd }), entry.progress.asynchronous else { return nil }
        return (entry.progress.waitingFor, entry.progress.deadlineNanoseconds)
    }

    /// The soonest deadline of the asynchronous tunnels (UInt64.max: none), and those past it.
    func soonestDeadline() -> UInt64 {
        sx_lock()
        defer { sx_unlock() }
        var soonest = UInt64.max
        for entry in entries where entry.progress.asynchronous { soonest = min(soonest, entry.progress.deadlineNanoseconds) }
        return soonest
    }

    func expired(at now: UInt64) -> [Int32] {
        sx_lock()
        defer { sx_unlock() }
        return entries.filter { $0.progress.asynchronous && $0.progress.deadlineNanoseconds <= now }.map { $0.fd }
    }

    func noteFailure(_ fd: Int32, _ errno: Int32) {
        sx_lock()
        failures.removeAll { $0.fd == fd }
        failures.append((fd, errno))
        publish()
        sx_unlock()
    }

    func hasFailure(_ fd: Int32) -> Bool {
        sx_lock()
        defer { sx_unlock() }
        return failures.contains { $0.fd == fd }
    }

    /// The failure not yet reported, reported now (then forgotten).
    func takeFailure(_ fd: Int32) -> Int32? {
        sx_lock()
        defer { sx_unlock() }
        guard let i = failures.firstIndex(where: { $0.fd == fd }) else { return nil }
        defer { publish() }
        return failures.remove(at: i).errno
    }

    /// The descriptor is closed or replaced: nothing of it is kept.
    func forget(_ fd: Int32) {
        sx_lock()
        entries.removeAll { $0.fd == fd }
        failures.removeAll { $0.fd == fd }
        busy.removeAll { $0 == fd }
        publish()
        sx_unlock()
    }

    /// Tells the wait interposers whether any wait may involve an asynchronous tunnel (while
    /// none does, they cost the program one load). Under the lock.
    private func publish() {
        let count = entries.count + failures.count
        sx_async_tunnels_set(Int32(clamping: count))
    }
}

extension Shim {
    /// Finishes an interrupted tunnel. `interruptible`: a signal may end the wait again (a
    /// connect call: it then answers EINTR and the tunnel stays kept); otherwise (SO_ERROR, a
    /// send or receive) the exchange goes on through signals, within its deadlines.
    /// Returns 0 (the tunnel is up, or there was none) or the errno of its failure.
    /// An asynchronous tunnel is never waited for: EINPROGRESS says it is still going.
    func settleInterrupted(_ fd: Int32, interruptible: Bool) -> Int32 {
        guard var entry = interrupted.begin(fd) else {
            if interrupted.isBusy(fd) { return EINPROGRESS }  // another thread is stepping it
            return takeFailure(fd)
        }
        if entry.progress.asynchronous {
            interrupted.update(entry)
            switch asyncStep(fd) {
            case .going: return EINPROGRESS
            case .up, .none: return 0
            case .failed: return takeFailure(fd)
            }
        }
        entry.progress.programDeadline = nil  // the program now waits for the outcome
        while true {
            do throws(SocksError) {
                try entry.progress.finish(fd: fd, kernel: kernel)
                interrupted.end(fd)
                kernel.setFacts(fd, 4, 0)
                recordPeer(fd, entry.destination, bound: entry.progress.bound)
                log.info(entry.what + " ok (finished after a signal)")
                return 0
            } catch {
                if case .socketState(let e) = error, e == EINTR || e == EINPROGRESS {
                    if interruptible {
                        interrupted.update(entry)
                        return EINTR
                    }
                    continue
                }
                interrupted.end(fd)
                kernel.setFacts(fd, 4, 0)
                _ = kernel.disconnect(fd)
                log.error(entry.what + " failed: " + error.reason + "; program sees " + ErrnoName.name(error.errno))
                return error.errno
            }
        }
    }

    /// An unreported failure, reported now: the pending bit goes with it.
    private func takeFailure(_ fd: Int32) -> Int32 {
        let failure = interrupted.takeFailure(fd) ?? 0
        kernel.setFacts(fd, 4, 0)
        return failure
    }

    /// The program's connect, again, on a socket whose tunnel is still going: as the kernel, a
    /// blocking one waits for the outcome and answers it (0, or the failure's errno); a
    /// non-blocking one answers EALREADY while it goes on.
    func connectInterrupted(_ fd: Int32) -> Int32 {
        let outcome = settleInterrupted(fd, interruptible: true)
        if outcome == EINPROGRESS { return fail(EALREADY) }
        return outcome == 0 ? 0 : fail(outcome)
    }

    /// getsockopt(SO_ERROR) on such a socket: the outcome, once (0 while it is still going).
    public func socketError(_ fd: Int32) -> Int32 {
        let outcome = settleInterrupted(fd, interruptible: false)
        return outcome == EINPROGRESS ? 0 : outcome
    }

    /// A send or receive on such a socket: the tunnel first. 0 to go on with the call, else
    /// the errno to fail it with (EAGAIN while an asynchronous tunnel is still going; a failure
    /// once: later calls meet the disconnected socket as it is).
    public func settleBeforeIO(_ fd: Int32) -> Int32 {
        let outcome = settleInterrupted(fd, interruptible: false)
        return outcome == EINPROGRESS ? EAGAIN : outcome
    }

    /// close(2) or a dup over it: the tunnel is forgotten, and so is the registry's mark of it.
    public func forgetInterrupted(_ fd: Int32) {
        interrupted.forget(fd)
        kernel.setFacts(fd, 4, 0)
    }
}
