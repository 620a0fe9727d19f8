/// Which SOCKS dialect a proxy speaks, and who resolves names (the `h`/`a` forms: the proxy).
public enum ProxyProtocol: Sendable, Equatable {
    case socks5, socks5h, socks4, socks4a

    public var scheme: String {
        switch self {
        case .socks5: return "socks5"
        case .socks5h: return "socks5h"
        case .socks4: return "socks4"
        case .socks4a: return "socks4a"
        }
    }

    public var isSocks5: Bool { self == .socks5 || self == .socks5h }
    /// Names are sent to the proxy to resolve (socks5h, socks4a), as curl does.
    public var resolvesRemotely: Bool { self == .socks5h || self == .socks4a }
}

public struct ProxyCredentials: Equatable, Sendable {
    public var username: [UInt8]
    public var password: [UInt8]
    public init(username: [UInt8], password: [UInt8]) { self.username = username; self.password = password }
}

/// One proxy, as given by a URL such as `socks5h://user:pass@[::1]:1080`.
public struct ProxySpec: Sendable {
    public var proto: ProxyProtocol
    public var host: String
    public var port: UInt16
    public var credentials: ProxyCredentials?

    public init(proto: ProxyProtocol, host: String, port: UInt16, credentials: ProxyCredentials? = nil) {
        self.proto = proto
        self.host = host
        self.port = port
        self.credentials = credentials
    }

    /// "socks5 127.0.0.1:1080": how the log names this proxy (never with the password).
    public var displayName: String {
        let hostText = host.utf8.contains(UInt8(ascii: ":")) ? "[" + host + "]" : host
        return proto.scheme + " " + hostText + ":" + String(port)
    }
}

#if !hasFeature(Embedded)
// Tests compare these; the shim never does, and String == would pull Unicode tables into it.
extension ProxySpec: Equatable {}
#endif
