/// The byte stream a handshake runs over: a socket in the shim, an in-memory script in tests.
public protocol HandshakeTransport {
    /// Sends all of `bytes`.
    mutating func send(_ bytes: [UInt8]) throws(SocksError)
    /// Appends to `buffer` until it holds `total` bytes, reading no further.
    mutating func receive(into buffer: inout [UInt8], total: Int) throws(SocksError)
    /// As `receive(into:total:)`, but a read may take up to `upTo` bytes when they are already
    /// there (it never waits for more than `total`): one read instead of two for a reply whose
    /// length is known only from its first bytes.
    mutating func receive(into buffer: inout [UInt8], total: Int, upTo: Int) throws(SocksError)
    /// Called after a pipelined write: the proxy's answers come back to back, and a socket
    /// should acknowledge each at once (TCP_QUICKACK) rather than delay its ACK, which a proxy
    /// without TCP_NODELAY waits for before sending the next. Nothing to do off a socket.
    mutating func acknowledgeRepliesAtOnce()
    /// What the proxy has sent and nobody has read yet, left in place (MSG_PEEK), after waiting
    /// for at least a byte; empty once it has closed. nil: this transport cannot look ahead
    /// (then a reply of unknown length is read in the smallest steps that cannot overshoot).
    mutating func peek(upTo: Int) throws(SocksError) -> [UInt8]?
}

extension HandshakeTransport {
    public mutating func acknowledgeRepliesAtOnce() {}

    public mutating func peek(upTo: Int) throws(SocksError) -> [UInt8]? { nil }

    /// Reads an HTTP response head exactly to its end: with a look ahead where the transport
    /// has one (one read for the whole head), else in the decoder's smallest steps.
    mutating func readHTTPHead(buffer: inout [UInt8]) throws(SocksError) -> HTTPConnectResponse {
        while true {
            switch try HTTPConnectResponse.decode(buffer[...]) {
            case .message(let response, _):
                return response
            case .needMore(let total):
                if let ahead = try peek(upTo: HTTPConnectResponse.maximumHead - buffer.count), !ahead.isEmpty {
                    let seen = buffer + ahead
                    let end = HTTPConnectResponse.headEnd(seen[...]) ?? seen.count
                    try receive(into: &buffer, total: max(total, min(end, seen.count)))
                } else {
                    try receive(into: &buffer, total: total)
                }
            }
        }
    }

    public mutating func receive(into buffer: inout [UInt8], total: Int, upTo: Int) throws(SocksError) {
        try receive(into: &buffer, total: total)
    }

    /// Reads one whole message, asking the decoder how many bytes it needs. `likely`: how long
    /// the message usually is, read in one go when it is there; a message that turns out shorter,
    /// with bytes after it in the same read, cannot be handed on and fails the exchange.
    mutating func read<Message>(
        _ decode: (ArraySlice<UInt8>) throws(SocksError) -> DecodeResult<Message>,
        buffer: inout [UInt8], likely: Int = 0
    ) throws(SocksError) -> Message {
        while true {
            switch try decode(buffer[...]) {
            case .message(let message, let consumed):
                guard consumed == buffer.count else {
                    throw .malformedReply("a " + String(consumed) + "-byte reply with the destination's first bytes right behind it")
                }
                return message
            case .needMore(let total):
                if likely > total {
                    try receive(into: &buffer, total: total, upTo: likely)
                } else {
                    try receive(into: &buffer, total: total)
                }
            }
        }
    }
}
