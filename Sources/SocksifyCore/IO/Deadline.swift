import SocksifyLibc

/// A point on the monotonic clock after which an operation gives up.
public struct Deadline: Sendable {
    public var nanoseconds: UInt64
    /// The program's own limit (a blocking socket's SO_SNDTIMEO), not socksify's: when it
    /// passes, the connect answers EINPROGRESS as the kernel's would, and the exchange goes on.
    public var isProgramLimit = false
    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    /// The sooner of this deadline and the program's limit, if it has one.
    public func capped(by limit: Deadline?) -> Deadline {
        guard let limit, limit.nanoseconds < nanoseconds else { return self }
        var capped = limit
        capped.isProgramLimit = true
        return capped
    }

    public static func after(milliseconds: Int, on kernel: Kernel = RealKernel.shared) -> Deadline {
        Deadline(nanoseconds: kernel.monotonicNanoseconds() &+ UInt64(max(0, milliseconds)) &* 1_000_000)
    }

    /// Milliseconds left, rounded up so a poll never returns a hair early; 0 when past.
    public var remainingMilliseconds: Int32 { remainingMilliseconds(on: RealKernel.shared) }

    public func remainingMilliseconds(on kernel: Kernel) -> Int32 {
        let now = kernel.monotonicNanoseconds()
        guard nanoseconds > now else { return 0 }
        return Int32(clamping: (nanoseconds - now + 999_999) / 1_000_000)
    }
}

/// Waits until `fd` is ready for `events` or the deadline passes (poll(2)). Returns false on
/// timeout. A signal ends the wait with EINTR when the program's handler would have ended a
/// plain blocking connect (no SA_RESTART), so Ctrl-C and the program's alarms work as without us.
func waitFor(_ fd: Int32, events: Int16, until deadline: Deadline, on kernel: Kernel = RealKernel.shared) throws(SocksError) -> Bool {
    while true {
        let remaining = deadline.remainingMilliseconds(on: kernel)
        if remaining == 0 {
            if deadline.isProgramLimit { throw .socketState(errno: EINPROGRESS) }
            return false
        }
        let n = kernel.poll(fd, events, remaining)
        if n > 0 { return true }
        if n == 0 { continue }  // the loop re-checks the deadline
        let e = kernel.errno
        if e == EINTR && kernel.signalInterrupts() { throw .socketState(errno: EINTR) }
        if e == EINTR || e == EAGAIN { continue }
        throw .io(errno: e)
    }
}
