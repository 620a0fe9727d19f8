import SocksifyLibc
import Testing

/// The descriptor registry (Sources/SocksifyLibc/udp_marks.c): one byte per number, three facts
/// (a UDP association, a descriptor of socksify's own, a tunnel a signal interrupted), and the
/// high numbers socksify keeps its own descriptors at. Real descriptors; the marks are
/// process-wide, so the tests run one at a time on numbers no other test uses.
@Suite(.serialized) struct DescriptorMarksTests {
    static func pipeEnds() throws -> (Int32, Int32) {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        return (ends[0], ends[1])
    }

    @Test func eachFactIsItsOwnBit() {
        let fd: Int32 = 4001
        #expect(sx_udp_mark(fd, 1) == 0)
        #expect(sx_udp_marked(fd) == 1 && sx_own_marked(fd) == 0 && sx_pending_marked(fd) == 0)
        #expect(sx_io_marked(fd) == 1)
        #expect(sx_own_mark(fd, 1) == 0)
        #expect(sx_udp_mark(fd, 0) == 0)
        #expect(sx_udp_marked(fd) == 0 && sx_own_marked(fd) == 1)
        #expect(sx_io_marked(fd) == 0, "socksify's own descriptor is not the program's I/O")
        #expect(sx_pending_mark(fd, 1) == 0)
        #expect(sx_io_marked(fd) == 1, "an interrupted tunnel's I/O goes to the core")
        _ = sx_own_mark(fd, 0)
        _ = sx_pending_mark(fd, 0)
        #expect(sx_io_marked(fd) == 0 && sx_own_marked(fd) == 0)
    }

    @Test func numbersOutsideTheTableAreNeverMarked() {
        #expect(sx_udp_mark(-1, 1) == -1)
        #expect(sx_udp_mark(1 << 20, 1) == -1)
        #expect(sx_udp_marked(-1) == 0)
        #expect(sx_udp_marked(1 << 20) == 0)
        #expect(sx_io_marked(Int32.max) == 0)
    }

    @Test func findsTheFirstMarkInARange() {
        var found: Int32 = -1
        _ = sx_udp_mark(4100, 1)
        _ = sx_own_mark(4105, 1)
        #expect(sx_any_marked_in(4090, 4200, &found) == 1 && found == 4100)
        #expect(sx_any_marked_in(4101, 4200, &found) == 1 && found == 4105)
        #expect(sx_any_marked_in(4106, 4200, &found) == 0)
        _ = sx_udp_mark(4100, 0)
        _ = sx_own_mark(4105, 0)
        #expect(sx_any_marked_in(4090, 4200, &found) == 0)
    }

    @Test func ownDescriptorsLiveHighAndCloseOnExec() throws {
        let (read, write) = try Self.pipeEnds()
        defer { close(read); close(write) }
        let high = sx_dup_high(read)
        try #require(high >= 0)
        defer { close(high) }
        #expect(high >= 1000 || high >= 16, "1000, or half a low limit")
        #expect(sx_get_descriptor_flags(high) & FD_CLOEXEC != 0)
        let moved = sx_move_high(write)
        #expect(moved >= 1000)
        #expect(sx_get_descriptor_flags(write) == -1, "the low number is given back")
        close(moved)
    }

    @Test func notBorrowedInItsOwnProcess() {
        _ = sx_udp_mark(4200, 1)
        #expect(sx_marks_borrowed() == 0)
        _ = sx_udp_mark(4200, 0)
    }
}
