/// The proxy's verdict on a username/password (RFC 1929): VER=1, STATUS (0 means success).
public struct Socks5PasswordReply: Equatable, Sendable {
    public var status: UInt8
    public var succeeded: Bool { status == 0 }
    public init(status: UInt8) { self.status = status }

    public static func decode(_ bytes: ArraySlice<UInt8>) throws(SocksError) -> DecodeResult<Socks5PasswordReply> {
        guard bytes.count >= 2 else { return .needMore(total: 2) }
        let start = bytes.startIndex
        // RFC 1929 says version 1; some servers echo the SOCKS version 5 here. Both are accepted.
        guard bytes[start] == 0x01 || bytes[start] == 0x05 else {
            throw .malformedReply("authentication reply has version " + String(bytes[start]) + ", expected 1")
        }
        return .message(Socks5PasswordReply(status: bytes[start + 1]), consumed: 2)
    }
}
