/// The client's first message: VER=5, NMETHODS, METHODS (RFC 1928 section 3).
public struct Socks5Greeting: Equatable, Sendable {
    public var methods: [Socks5AuthMethod]
    public init(methods: [Socks5AuthMethod]) { self.methods = methods }

    public func encode() throws(SocksError) -> [UInt8] {
        guard !methods.isEmpty, methods.count <= 255 else {
            throw .invalidRequest("a greeting offers 1 to 255 methods")
        }
        var out: [UInt8] = []
        out.reserveCapacity(2 + methods.count)
        out.append(0x05)
        out.append(UInt8(methods.count))
        for method in methods { out.append(method.rawValue) }
        return out
    }
}
