/// A SOCKS5 authentication method number (RFC 1928 section 3).
public struct Socks5AuthMethod: Hashable, Sendable {
    public var rawValue: UInt8
    public init(_ rawValue: UInt8) { self.rawValue = rawValue }

    public static let noAuthentication = Socks5AuthMethod(0x00)
    public static let gssapi = Socks5AuthMethod(0x01)
    public static let usernamePassword = Socks5AuthMethod(0x02)
    public static let noAcceptableMethods = Socks5AuthMethod(0xFF)
}
