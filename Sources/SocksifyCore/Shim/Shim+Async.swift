import SocksifyLibc

/// Asynchronous tunnels: a non-blocking socket's connect through a proxy answers EINPROGRESS at
/// once, and the exchange advances whenever the program's own wait (poll, select, epoll) finds
/// the socket ready for the step it is at, or the program tries the socket (SO_ERROR, connect,
/// send, receive). See docs/async-handshake.md.
extension Shim {
    enum AsyncState { case going, up, failed, none }

    /// Takes the steps the socket allows now, never waiting. When the tunnel is up or has
    /// failed, the program's epoll registrations get its own events back (the kernel then
    /// reports the socket as it is: writable, or hung up), and the outcome is logged.
    func asyncStep(_ fd: Int32) -> AsyncState {
        guard var entry = interrupted.begin(fd) else {
            if interrupted.isBusy(fd) { return .going }  // another thread is stepping it
            return interrupted.hasFailure(fd) ? .failed : .none
        }
        guard entry.progress.asynchronous else {
            interrupted.update(entry)
            return .going
        }
        do throws(SocksError) {
            if let need = try entry.progress.advance(fd: fd, kernel: kernel) {
                let changed = need != entry.progress.waitingFor
                entry.progress.waitingFor = need
                interrupted.update(entry)
                if changed { kernel.armWaits(fd, need) }
                return .going
            }
            interrupted.end(fd)
            kernel.setFacts(fd, 4, 0)
            recordPeer(fd, entry.destination, bound: entry.progress.bound)
            kernel.restoreWaits(fd)
            if log.verbose { log.info(entry.what + " ok " + Log.milliseconds(kernel.monotonicNanoseconds() - entry.started)) }
            return .up
        } catch {
            _ = kernel.disconnect(fd)
            interrupted.end(fd)
            interrupted.noteFailure(fd, error.errno)  // the pending bit stays until it is reported
            kernel.restoreWaits(fd)
            log.error(entry.what + " failed: " + error.reason + "; program sees " + ErrnoName.name(error.errno))
            return .failed
        }
    }

    /// For the wait interposers: 1 the tunnel on `fd` waits to write, 2 to read, 3 it failed
    /// (its error not yet reported: the socket is ready, with an error), 0 not an asynchronous
    /// tunnel (the program's wait is left as it is). `deadline`: when the tunnel gives up.
    public func asyncNeed(_ fd: Int32, deadline: inout UInt64) -> Int32 {
        if let (need, until) = interrupted.waiting(fd) {
            deadline = until
            return need == .writable ? 1 : 2
        }
        return interrupted.hasFailure(fd) ? 3 : 0
    }

    /// For the wait interposers: one step on `fd` (ready, or its deadline passed): 0 the tunnel
    /// is up, 1 still going, 3 failed, 2 there is no tunnel on `fd` (any more).
    public func asyncStepCode(_ fd: Int32) -> Int32 {
        switch asyncStep(fd) {
        case .up: return 0
        case .going: return 1
        case .none: return 2
        case .failed: return 3
        }
    }

    public func asyncSoonestDeadline() -> UInt64 { interrupted.soonestDeadline() }

    /// Every asynchronous tunnel past its deadline fails now (a step says so).
    public func asyncExpire() {
        for fd in interrupted.expired(at: kernel.monotonicNanoseconds()) { _ = asyncStep(fd) }
    }
}
