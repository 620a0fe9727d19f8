/// A destination as a SOCKS request carries it: an IP address or a name the proxy resolves.
public enum SocksAddress: Sendable {
    case ip(IPAddress)
    case domain(String)

    public var text: String {
        switch self {
        case .ip(let a): return a.text
        case .domain(let name): return name
        }
    }
}

/// Host and port of a destination.
public struct SocksDestination: Sendable {
    public var address: SocksAddress
    public var port: UInt16
    public init(_ address: SocksAddress, port: UInt16) { self.address = address; self.port = port }
    /// The destination of a connect; ::ffff:a.b.c.d from an AF_INET6 socket goes out as IPv4,
    /// which every proxy (and SOCKS4) understands.
    public init(_ endpoint: Endpoint) {
        if case .v6(let v6) = endpoint.address, let v4 = v6.mappedIPv4 {
            self.init(.ip(.v4(v4)), port: endpoint.port)
        } else {
            self.init(.ip(endpoint.address), port: endpoint.port)
        }
    }

    /// host:port, with IPv6 in brackets.
    public var text: String {
        if case .ip(.v6) = address { return "[" + address.text + "]:" + String(port) }
        return address.text + ":" + String(port)
    }
}

#if !hasFeature(Embedded)
// Tests compare these; the shim never does, and String == would pull Unicode tables into it.
extension SocksAddress: Hashable {}
extension SocksDestination: Hashable {}
#endif
