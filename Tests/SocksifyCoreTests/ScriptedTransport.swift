@testable import SocksifyCore

/// An in-memory proxy for ClientHandshake: serves `script` (what the proxy says), at most
/// `chunkSize` bytes per underlying read, and records everything the client sends and asks for.
/// When the script runs out it behaves like a socket whose peer closed: `closedByProxy`, with what
/// arrived so far left in the buffer.
struct ScriptedTransport: HandshakeTransport {
    var script: [UInt8]
    var chunkSize: Int
    /// How much of the script has been handed out.
    private(set) var position = 0
    /// Every `send`, in order.
    private(set) var sent: [[UInt8]] = []
    /// Every `receive` call: the buffer size it started from and the total it asked for.
    private(set) var receives: [(from: Int, total: Int)] = []
    /// Sizes of the underlying reads.
    private(set) var chunks: [Int] = []
    /// Set when a `receive` asked for more bytes than the script still held.
    private(set) var askedPastTheScript = false
    /// Set when a `receive` asked for nothing (a total the buffer already met).
    private(set) var askedForNothing = false

    /// How many sends had been made at each `acknowledgeRepliesAtOnce` (a pipelined write).
    private(set) var quickAcks: [Int] = []

    var failSend: SocksError? = nil
    var failReceive: SocksError? = nil

    init(_ script: [UInt8], chunkSize: Int = .max) {
        self.script = script
        self.chunkSize = chunkSize
    }

    var remaining: ArraySlice<UInt8> { script[position...] }

    mutating func send(_ bytes: [UInt8]) throws(SocksError) {
        if let failSend { throw failSend }
        sent.append(bytes)
    }

    mutating func acknowledgeRepliesAtOnce() { quickAcks.append(sent.count) }

    /// Whether `peek` sees what is left of the script (a socket's MSG_PEEK); off, the handshake
    /// reads without looking ahead.
    var canPeek = false
    private(set) var peeks = 0

    mutating func peek(upTo: Int) throws(SocksError) -> [UInt8]? {
        guard canPeek else { return nil }
        peeks += 1
        return Array(script[position...].prefix(min(upTo, chunkSize)))
    }

    /// As a socket: each read takes what is there up to `upTo`, but only waits for `total`.
    mutating func receive(into buffer: inout [UInt8], total: Int, upTo: Int) throws(SocksError) {
        readAheads.append(upTo)
        try receive(into: &buffer, total: total, limit: max(total, upTo))
    }

    /// The `upTo` of every read that may read ahead.
    private(set) var readAheads: [Int] = []

    mutating func receive(into buffer: inout [UInt8], total: Int) throws(SocksError) {
        try receive(into: &buffer, total: total, limit: total)
    }

    private mutating func receive(into buffer: inout [UInt8], total: Int, limit: Int) throws(SocksError) {
        receives.append((buffer.count, total))
        if let failReceive { throw failReceive }
        if total <= buffer.count { askedForNothing = true }
        if total - buffer.count > script.count - position { askedPastTheScript = true }
        while buffer.count < total {
            guard position < script.count else { throw .closedByProxy(received: buffer.count, expected: total) }
            let n = min(chunkSize, limit - buffer.count, script.count - position)
            buffer += script[position..<(position + n)]
            position += n
            chunks.append(n)
        }
    }
}
