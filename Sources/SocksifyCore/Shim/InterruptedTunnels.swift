import SocksifyLibc

/// Tunnels whose exchange a signal interrupted. POSIX says an interrupted connect goes on in the
/// background; the program then waits for the socket and reads SO_ERROR (Python does), connects
/// again, or just uses it. Each of those finishes the exchange from where it stopped. A tunnel
/// that then fails leaves its errno here for SO_ERROR to report once, as the kernel would.
final class InterruptedTunnels: @unchecked Sendable {
    struct Entry {
        var fd: Int32
        var progress: TunnelProgress
        /// What the program connected to (its getpeername answer) and the log's words for it.
        var destination: Endpoint
        var what: String
    }

    private var entries: [Entry] = []
    private var failures: [(fd: Int32, errno: Int32)] = []

    func keep(_ entry: Entry) {
        sx_lock()
        entries.removeAll { $0.fd == entry.fd }
        entries.append(entry)
        sx_unlock()
    }

    func take(_ fd: Int32) -> Entry? {
        sx_lock()
        defer { sx_unlock() }
        guard let i = entries.firstIndex(where: { $0.fd == fd }) else { return nil }
        return entries.remove(at: i)
    }

    func noteFailure(_ fd: Int32, _ errno: Int32) {
        sx_lock()
        failures.removeAll { $0.fd == fd }
        failures.append((fd, errno))
        sx_unlock()
    }

    /// The failure not yet reported, reported now (then forgotten).
    func takeFailure(_ fd: Int32) -> Int32? {
        sx_lock()
        defer { sx_unlock() }
        guard let i = failures.firstIndex(where: { $0.fd == fd }) else { return nil }
        return failures.remove(at: i).errno
    }

    /// The descriptor is closed or replaced: nothing of it is kept.
    func forget(_ fd: Int32) {
        sx_lock()
        entries.removeAll { $0.fd == fd }
        failures.removeAll { $0.fd == fd }
        sx_unlock()
    }
}

extension Shim {
    /// Finishes an interrupted tunnel. `interruptible`: a signal may end the wait again (a
    /// connect call: it then answers EINTR and the tunnel stays kept); otherwise (SO_ERROR, a
    /// send or receive) the exchange goes on through signals, within its deadlines.
    /// Returns 0 (the tunnel is up, or there was none) or the errno of its failure.
    func settleInterrupted(_ fd: Int32, interruptible: Bool) -> Int32 {
        guard var entry = interrupted.take(fd) else { return interrupted.takeFailure(fd) ?? 0 }
        entry.progress.programDeadline = nil  // the program now waits for the outcome
        while true {
            do throws(SocksError) {
                try entry.progress.finish(fd: fd, kernel: kernel)
                kernel.setFacts(fd, 4, 0)
                recordPeer(fd, entry.destination)
                log.info(entry.what + " ok (finished after a signal)")
                return 0
            } catch {
                if case .socketState(let e) = error, e == EINTR || e == EINPROGRESS {
                    if interruptible {
                        interrupted.keep(entry)
                        return EINTR
                    }
                    continue
                }
                kernel.setFacts(fd, 4, 0)
                _ = kernel.disconnect(fd)
                log.error(entry.what + " failed: " + error.reason + "; program sees " + ErrnoName.name(error.errno))
                return error.errno
            }
        }
    }

    /// The program's connect, again, on a socket whose tunnel a signal interrupted: as the
    /// kernel, it waits for the outcome and answers it (0, or the failure's errno).
    func connectInterrupted(_ fd: Int32) -> Int32 {
        let outcome = settleInterrupted(fd, interruptible: true)
        return outcome == 0 ? 0 : fail(outcome)
    }

    /// getsockopt(SO_ERROR) on such a socket: the outcome, once.
    public func socketError(_ fd: Int32) -> Int32 {
        let outcome = settleInterrupted(fd, interruptible: false)
        if outcome != 0 { interrupted.noteFailure(fd, outcome) }
        return interrupted.takeFailure(fd) ?? 0
    }

    /// A send or receive on such a socket: the tunnel first. 0 to go on with the call, else
    /// the errno to fail it with (once; later calls meet the disconnected socket as it is).
    public func settleBeforeIO(_ fd: Int32) -> Int32 {
        settleInterrupted(fd, interruptible: false)
    }

    /// close(2) or a dup over it: the tunnel is forgotten, and so is the registry's mark of it.
    public func forgetInterrupted(_ fd: Int32) {
        interrupted.forget(fd)
        kernel.setFacts(fd, 4, 0)
    }
}
