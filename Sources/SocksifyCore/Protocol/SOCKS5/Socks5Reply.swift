/// The proxy's reply to a request: VER=5, REP, RSV, ATYP, BND.ADDR, BND.PORT (RFC 1928 section 6).
public struct Socks5Reply: Sendable {
    public var code: Socks5ReplyCode
    public var bound: SocksDestination
    public init(code: Socks5ReplyCode, bound: SocksDestination) { self.code = code; self.bound = bound }

    /// Asks for 5 bytes first: the shortest reply (ATYP 3 with a 0-length name) is 7, so no
    /// request ever reads past the reply into data the destination sends next.
    public static func decode(_ bytes: ArraySlice<UInt8>) throws(SocksError) -> DecodeResult<Socks5Reply> {
        guard bytes.count >= 5 else { return .needMore(total: 5) }
        let s = bytes.startIndex
        guard bytes[s] == 0x05 else {
            throw .malformedReply("reply has version " + String(bytes[s]) + ", expected 5")
        }
        switch try Socks5AddressCodec.decode(bytes[(s + 3)...]) {
        case .needMore(let total): return .needMore(total: 3 + total)
        case .message(let bound, let consumed):
            return .message(Socks5Reply(code: Socks5ReplyCode(bytes[s + 1]), bound: bound), consumed: 3 + consumed)
        }
    }

    /// A refusal can be told from the first two bytes; used when the proxy closes mid-reply.
    public static func refusal(inPartial bytes: ArraySlice<UInt8>) -> Socks5ReplyCode? {
        guard bytes.count >= 2, bytes[bytes.startIndex] == 0x05 else { return nil }
        let code = Socks5ReplyCode(bytes[bytes.startIndex + 1])
        return code == .succeeded ? nil : code
    }
}

#if !hasFeature(Embedded)
// Tests compare these; the shim never does, and String == would pull Unicode tables into it.
extension Socks5Reply: Equatable {}
#endif
