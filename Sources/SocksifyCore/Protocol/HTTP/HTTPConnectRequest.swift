/// `CONNECT host:port HTTP/1.1` (RFC 9110 §9.3.6), with `Host` and, given credentials,
/// `Proxy-Authorization: Basic` (RFC 7617). The host name goes to the proxy as it is: an HTTP
/// proxy always resolves names itself.
public struct HTTPConnectRequest: Sendable {
    public var destination: SocksDestination
    /// User name and password for Basic, when the proxy wants a login.
    public var login: (username: [UInt8], password: [UInt8])?

    public init(destination: SocksDestination, login: (username: [UInt8], password: [UInt8])? = nil) {
        self.destination = destination
        self.login = login
    }

    public func encode() throws(SocksError) -> [UInt8] {
        let authority = Array(destination.text.utf8)  // IPv6 in brackets
        if case .domain(let name) = destination.address {
            // A name that could end the request line or add a header would be request smuggling.
            guard !name.isEmpty, name.utf8.count <= 255,
                  name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "@") }) else {
                throw .invalidRequest("the host name cannot go in an HTTP CONNECT request")
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(128)
        out += Array("CONNECT ".utf8) + authority + Array(" HTTP/1.1\r\nHost: ".utf8) + authority + [13, 10]
        if let login {
            // RFC 7617: user-id must not contain ':'; the password may.
            guard !login.username.contains(UInt8(ascii: ":")) else {
                throw .invalidRequest("an HTTP proxy user name cannot contain ':'")
            }
            out += Array("Proxy-Authorization: Basic ".utf8)
            out += Base64.encode(login.username + [UInt8(ascii: ":")] + login.password) + [13, 10]
        }
        out += [13, 10]
        return out
    }
}

/// RFC 4648 base64, for Basic credentials.
enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i])
            let b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0
            let b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let group = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(group >> 18 & 63)])
            out.append(alphabet[Int(group >> 12 & 63)])
            out.append(i + 1 < bytes.count ? alphabet[Int(group >> 6 & 63)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[Int(group & 63)] : UInt8(ascii: "="))
            i += 3
        }
        return out
    }
}
