import SocksifyLibc

/// Finds the proxy's address once: a numeric host as is, a name through the real getaddrinfo
/// (never the shim's own resolver).
public enum ProxyAddress {
    public static func resolve(_ proxy: ProxySpec) -> Result<Endpoint, ProxyURLError> {
        if let address = IPAddress.parse(proxy.host) {
            return .success(Endpoint(address, port: proxy.port))
        }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let status = sx_real_getaddrinfo(proxy.host, nil, &hints, &list)
        defer { if let list { sx_real_freeaddrinfo(list) } }
        guard status == 0 else {
            return .failure(ProxyURLError("cannot resolve the proxy host '" + proxy.host + "'"))
        }
        var entry = list
        while let current = entry {
            if let address = current.pointee.ai_addr,
               let endpoint = Endpoint(sockaddr: UnsafeRawPointer(address), length: Int(current.pointee.ai_addrlen)) {
                return .success(Endpoint(endpoint.address, port: proxy.port, scopeID: endpoint.scopeID))
            }
            entry = current.pointee.ai_next
        }
        return .failure(ProxyURLError("no address for the proxy host '" + proxy.host + "'"))
    }
}
