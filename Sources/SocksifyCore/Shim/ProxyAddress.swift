import SocksifyLibc

/// Local name lookups the shim makes for itself, always through the real getaddrinfo (never
/// the shim's own resolver): a proxy's host, once; a name a `direct` rule resolves here.
public enum LocalLookup {
    /// The first address libc gives for `host` (numeric hosts without asking), with `port`.
    public static func first(_ host: String, port: UInt16, family: Int32 = AF_UNSPEC) -> Endpoint? {
        if let address = IPAddress.parse(host) { return Endpoint(address, port: port) }
        var hints = addrinfo()
        hints.ai_family = family
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>? = nil
        guard sx_real_getaddrinfo(host, nil, &hints, &list) == 0 else { return nil }
        defer { if let list { sx_real_freeaddrinfo(list) } }
        var entry = list
        while let current = entry {
            if let address = current.pointee.ai_addr,
               let endpoint = Endpoint(sockaddr: UnsafeRawPointer(address), length: Int(current.pointee.ai_addrlen)) {
                return Endpoint(endpoint.address, port: port, scopeID: endpoint.scopeID)
            }
            entry = current.pointee.ai_next
        }
        return nil
    }
}

/// Finds a proxy's address: a numeric host as is, a name through the real getaddrinfo.
public enum ProxyAddress {
    public static func resolve(_ proxy: ProxySpec) -> Result<Endpoint, ProxyURLError> {
        guard let endpoint = LocalLookup.first(proxy.host, port: proxy.port) else {
            return .failure(ProxyURLError("cannot resolve the proxy host '" + proxy.host + "'"))
        }
        return .success(endpoint)
    }
}
