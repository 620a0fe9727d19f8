import Testing
import SocksifyLibc
@testable import SocksifyCore

@Suite struct DeadlineTests {
    @Test func pastDeadlinesHaveNothingLeft() {
        #expect(Deadline(nanoseconds: 0).remainingMilliseconds == 0)
        #expect(Deadline.after(milliseconds: 0).remainingMilliseconds == 0)
        #expect(Deadline.after(milliseconds: -5).remainingMilliseconds == 0)
        #expect(Deadline(nanoseconds: sx_monotonic_ns()).remainingMilliseconds == 0)
    }

    @Test func futureDeadlineRoundsUp() {
        let remaining = Deadline.after(milliseconds: 1000).remainingMilliseconds
        #expect(remaining > 900 && remaining <= 1000)
        // 1 ns left is still 1 ms for poll, never 0.
        #expect(Deadline(nanoseconds: sx_monotonic_ns() + 50_000_000).remainingMilliseconds >= 40)
    }

    @Test func farFutureIsClamped() {
        #expect(Deadline(nanoseconds: .max).remainingMilliseconds == Int32.max)
    }

    @Test func defaultTimeouts() {
        #expect(Timeouts.defaults.connectMilliseconds == 10_000)
        #expect(Timeouts.defaults.handshakeMilliseconds == 30_000)
    }
}
