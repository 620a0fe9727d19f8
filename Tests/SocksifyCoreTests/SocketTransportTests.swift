import Testing
import SocksifyLibc
@testable import SocksifyCore

/// SocketTransport over a non-blocking AF_UNIX socketpair: the client end is what the shim would
/// hold, the peer end plays the proxy.
@Suite struct SocketTransportTests {
    final class Pair {
        let client: Int32
        let peer: Int32
        init() throws {
            var fds: [Int32] = [-1, -1]
            let result = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds)
            client = fds[0]
            peer = fds[1]
            try #require(result == 0)
            let flags = sx_get_status_flags(client)
            try #require(flags >= 0)
            try #require(sx_set_status_flags(client, flags | O_NONBLOCK) == 0)
        }
        private var peerOpen = true
        deinit {
            _ = sx_real_close(client)
            if peerOpen { _ = sx_real_close(peer) }
        }
        func closePeer() {
            if peerOpen { _ = sx_real_close(peer) }
            peerOpen = false
        }
        func peerWrite(_ bytes: [UInt8]) {
            let n = bytes.withUnsafeBytes { write(peer, $0.baseAddress, $0.count) }
            precondition(n == bytes.count)
        }
        func peerRead(_ count: Int) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: count)
            let n = out.withUnsafeMutableBytes { read(peer, $0.baseAddress, count) }
            return n > 0 ? Array(out[0..<n]) : []
        }
        func closePeerWriting() { _ = shutdown(peer, Int32(SHUT_WR)) }
        /// What is still waiting for the client, without blocking.
        func clientPending() -> [UInt8] {
            var out = [UInt8](repeating: 0, count: 256)
            let n = out.withUnsafeMutableBytes { sx_real_recv(client, $0.baseAddress, 256, Int32(MSG_DONTWAIT)) }
            return n > 0 ? Array(out[0..<n]) : []
        }
    }

    static func transport(_ pair: Pair, milliseconds: Int = 5_000) -> SocketTransport {
        SocketTransport(fd: pair.client, deadline: .after(milliseconds: milliseconds))
    }

    @Test func sendDeliversEverything() throws {
        let pair = try Pair()
        var transport = Self.transport(pair)
        try transport.send([0x05, 0x01, 0x00])
        #expect(pair.peerRead(16) == [0x05, 0x01, 0x00])
    }

    @Test func receiveStopsAtTheTotal() throws {
        let pair = try Pair()
        pair.peerWrite([0x05, 0x00] + ascii("data for the program"))
        var transport = Self.transport(pair)
        var buffer: [UInt8] = []
        try transport.receive(into: &buffer, total: 2)
        #expect(buffer == [0x05, 0x00])
        #expect(pair.clientPending() == ascii("data for the program"))
    }

    @Test func receiveAppendsToWhatIsThere() throws {
        let pair = try Pair()
        pair.peerWrite([0x00, 0x01, 0x02, 0x03, 0x04])
        var transport = Self.transport(pair)
        var buffer: [UInt8] = [0xAA]
        try transport.receive(into: &buffer, total: 3)
        #expect(buffer == [0xAA, 0x00, 0x01])
        try transport.receive(into: &buffer, total: 3)  // already there: reads nothing
        #expect(buffer == [0xAA, 0x00, 0x01])
        #expect(pair.clientPending() == [0x02, 0x03, 0x04])
    }

    @Test func receiveMoreThanOneChunk() throws {
        let pair = try Pair()
        let bytes = (0..<300).map { UInt8(truncatingIfNeeded: $0) }
        pair.peerWrite(bytes + [0xFF])
        var transport = Self.transport(pair)
        var buffer: [UInt8] = []
        try transport.receive(into: &buffer, total: 300)
        #expect(buffer == bytes)
        #expect(pair.clientPending() == [0xFF])
    }

    @Test func receiveWaitsForLateBytes() throws {
        let pair = try Pair()
        let peer = pair.peer
        let writer = TestThread { () -> Int in
            sleepMilliseconds(30)
            return [UInt8]([0x05, 0x00]).withUnsafeBytes { write(peer, $0.baseAddress, 2) }
        }
        var transport = Self.transport(pair)
        var buffer: [UInt8] = []
        try transport.receive(into: &buffer, total: 2)
        #expect(buffer == [0x05, 0x00])
        #expect(writer.join() == 2)
    }

    @Test func peerClosingMidReplyIsClosedByProxy() throws {
        let pair = try Pair()
        pair.peerWrite([0x05, 0x05])
        pair.closePeerWriting()
        var transport = Self.transport(pair)
        var buffer: [UInt8] = []
        #expect(throws: SocksError.closedByProxy(received: 2, expected: 5)) {
            try transport.receive(into: &buffer, total: 5)
        }
        #expect(buffer == [0x05, 0x05], "what arrived stays in the buffer for refusal(inPartial:)")
    }

    @Test func silentPeerTimesOut() throws {
        let pair = try Pair()
        var transport = Self.transport(pair, milliseconds: 50)
        var buffer: [UInt8] = []
        let start = sx_monotonic_ns()
        #expect(throws: SocksError.timedOut(phase: "waiting for the proxy's reply")) {
            try transport.receive(into: &buffer, total: 2)
        }
        #expect(sx_monotonic_ns() - start >= 40_000_000)
    }

    @Test func sendToAClosedPeerIsAnIOErrorNotSIGPIPE() throws {
        let pair = try Pair()
        pair.closePeer()
        var transport = Self.transport(pair)
        #expect(throws: SocksError.io(errno: EPIPE)) { try transport.send([0x05, 0x01, 0x00]) }
    }

    @Test func sendIntoAFullSocketTimesOut() throws {
        let pair = try Pair()
        var transport = Self.transport(pair, milliseconds: 50)
        #expect(throws: SocksError.timedOut(phase: "sending to the proxy")) {
            try transport.send([UInt8](repeating: 0x41, count: 8 << 20))
        }
    }

    @Test func largeSendWaitsForTheReader() throws {
        let pair = try Pair()
        let peer = pair.peer
        let size = 4 << 20
        let reader = TestThread { () -> Int in
            var total = 0
            var chunk = [UInt8](repeating: 0, count: 65536)
            while total < size {
                let n = chunk.withUnsafeMutableBytes { read(peer, $0.baseAddress, 65536) }
                if n <= 0 { break }
                total += n
            }
            return total
        }
        var transport = Self.transport(pair)
        try transport.send([UInt8](repeating: 0x42, count: size))
        #expect(reader.join() == size)
    }
}
