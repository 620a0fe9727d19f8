/// The byte stream a handshake runs over: a socket in the shim, an in-memory script in tests.
public protocol HandshakeTransport {
    /// Sends all of `bytes`.
    mutating func send(_ bytes: [UInt8]) throws(SocksError)
    /// Appends to `buffer` until it holds `total` bytes, reading no further.
    mutating func receive(into buffer: inout [UInt8], total: Int) throws(SocksError)
}

extension HandshakeTransport {
    /// Reads one whole message, asking the decoder how many bytes it needs.
    mutating func read<Message>(
        _ decode: (ArraySlice<UInt8>) throws(SocksError) -> DecodeResult<Message>,
        buffer: inout [UInt8]
    ) throws(SocksError) -> Message {
        while true {
            switch try decode(buffer[...]) {
            case .message(let message, _): return message
            case .needMore(let total): try receive(into: &buffer, total: total)
            }
        }
    }
}
