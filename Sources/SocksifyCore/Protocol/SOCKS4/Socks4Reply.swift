/// A SOCKS4 reply: VN=0, CD, DSTPORT, DSTIP (8 bytes).
public struct Socks4Reply: Equatable, Sendable {
    public var code: Socks4ReplyCode
    public var port: UInt16
    public var address: IPv4Address
    public init(code: Socks4ReplyCode, port: UInt16, address: IPv4Address) {
        self.code = code
        self.port = port
        self.address = address
    }

    public static func decode(_ bytes: ArraySlice<UInt8>) throws(SocksError) -> DecodeResult<Socks4Reply> {
        guard bytes.count >= 8 else { return .needMore(total: 8) }
        let s = bytes.startIndex
        // The protocol says VN is 0; some servers answer 4. Both are accepted.
        guard bytes[s] == 0 || bytes[s] == 4 else {
            throw .malformedReply("SOCKS4 reply has version " + String(bytes[s]) + ", expected 0")
        }
        let code = Socks4ReplyCode(bytes[s + 1])
        guard (90...93).contains(code.rawValue) else {
            throw .malformedReply("unknown SOCKS4 reply code " + String(code.rawValue))
        }
        let port = UInt16(bytes[s + 2]) << 8 | UInt16(bytes[s + 3])
        let address = IPv4Address(bytes[s + 4], bytes[s + 5], bytes[s + 6], bytes[s + 7])
        return .message(Socks4Reply(code: code, port: port, address: address), consumed: 8)
    }
}
