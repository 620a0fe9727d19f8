/// Username/password sub-negotiation request (RFC 1929): VER=1, ULEN, UNAME, PLEN, PASSWD.
public struct Socks5PasswordRequest: Equatable, Sendable {
    public var username: [UInt8]
    public var password: [UInt8]
    public init(username: [UInt8], password: [UInt8]) { self.username = username; self.password = password }

    public func encode() throws(SocksError) -> [UInt8] {
        guard (1...255).contains(username.count) else { throw .invalidRequest("username must be 1 to 255 bytes") }
        guard password.count <= 255 else { throw .invalidRequest("password must be at most 255 bytes") }
        return [0x01, UInt8(username.count)] + username + [UInt8(password.count)] + password
    }
}
