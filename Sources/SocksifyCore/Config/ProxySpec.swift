/// Which protocol a proxy speaks (a SOCKS dialect or HTTP CONNECT), and who resolves names (the
/// `h`/`a` forms and HTTP: the proxy).
public enum ProxyProtocol: Sendable, Equatable {
    case socks5, socks5h, socks4, socks4a, http

    public var scheme: String {
        switch self {
        case .socks5: return "socks5"
        case .socks5h: return "socks5h"
        case .socks4: return "socks4"
        case .socks4a: return "socks4a"
        case .http: return "http"
        }
    }

    public var isSocks5: Bool { self == .socks5 || self == .socks5h }
    /// Names are sent to the proxy to resolve (socks5h, socks4a), as curl does; an HTTP proxy
    /// always takes the name (CONNECT host:port).
    public var resolvesRemotely: Bool { self == .socks5h || self == .socks4a || self == .http }
    /// Whether the proxy can carry UDP (SOCKS5's UDP ASSOCIATE; HTTP CONNECT and SOCKS4 cannot).
    public var carriesUDP: Bool { isSocks5 }
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
    /// Send the SOCKS5 greeting, authentication and request in one write instead of waiting for
    /// each answer (`pipeline` in a rules file, `?pipeline=1`). Off by default: some proxies
    /// (microsocks) stall on it. SOCKS4 has one message anyway: there it changes nothing.
    public var pipeline: Bool

    public init(proto: ProxyProtocol, host: String, port: UInt16, credentials: ProxyCredentials? = nil, pipeline: Bool = false) {
        self.proto = proto
        self.host = host
        self.port = port
        self.credentials = credentials
        self.pipeline = pipeline
    }

    /// "socks5 127.0.0.1:1080": how the log names this proxy (never with the password);
    /// ", pipelined" after it when the handshake is, so a stall in the log says why it may be.
    public var displayName: String {
        let hostText = host.utf8.contains(UInt8(ascii: ":")) ? "[" + host + "]" : host
        return proto.scheme + " " + hostText + ":" + String(port) + (pipelines ? ", pipelined" : "")
    }

    /// Whether the handshake is pipelined: asked for, and SOCKS5 (SOCKS4 is one message).
    public var pipelines: Bool { pipeline && proto.isSocks5 }
}

#if !hasFeature(Embedded)
// Tests compare these; the shim never does, and String == would pull Unicode tables into it.
extension ProxySpec: Equatable {}
#endif
