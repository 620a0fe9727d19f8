/// The proxy's answer to the greeting: VER=5, METHOD (RFC 1928 section 3).
public struct Socks5MethodSelection: Equatable, Sendable {
    public var method: Socks5AuthMethod
    public init(method: Socks5AuthMethod) { self.method = method }

    public static func decode(_ bytes: ArraySlice<UInt8>) throws(SocksError) -> DecodeResult<Socks5MethodSelection> {
        guard bytes.count >= 2 else { return .needMore(total: 2) }
        let start = bytes.startIndex
        guard bytes[start] == 0x05 else {
            throw .malformedReply("method selection has version " + String(bytes[start]) + ", expected 5")
        }
        return .message(Socks5MethodSelection(method: Socks5AuthMethod(bytes[start + 1])), consumed: 2)
    }
}
