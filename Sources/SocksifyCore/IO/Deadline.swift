import SocksifyLibc

/// A point on the monotonic clock after which an operation gives up.
public struct Deadline: Sendable {
    public var nanoseconds: UInt64
    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    public static func after(milliseconds: Int) -> Deadline {
        Deadline(nanoseconds: sx_monotonic_ns() &+ UInt64(max(0, milliseconds)) &* 1_000_000)
    }

    /// Milliseconds left, rounded up so a poll never returns a hair early; 0 when past.
    public var remainingMilliseconds: Int32 {
        let now = sx_monotonic_ns()
        guard nanoseconds > now else { return 0 }
        return Int32(clamping: (nanoseconds - now + 999_999) / 1_000_000)
    }
}

/// Waits until `fd` is ready for `events` or the deadline passes (poll(2)). Returns false on
/// timeout. A signal ends the wait with EINTR when the program's handler would have ended a
/// plain blocking connect (no SA_RESTART), so Ctrl-C and the program's alarms work as without us.
func waitFor(_ fd: Int32, events: Int16, until deadline: Deadline) throws(SocksError) -> Bool {
    while true {
        let remaining = deadline.remainingMilliseconds
        if remaining == 0 { return false }
        var descriptor = pollfd(fd: fd, events: events, revents: 0)
        let n = sx_real_poll(&descriptor, 1, remaining)
        if n > 0 { return true }
        if n == 0 { continue }  // the loop re-checks the deadline
        let e = sx_errno()
        if e == EINTR && sx_signal_interrupts() != 0 { throw .socketState(errno: EINTR) }
        if e == EINTR || e == EAGAIN { continue }
        throw .io(errno: e)
    }
}
