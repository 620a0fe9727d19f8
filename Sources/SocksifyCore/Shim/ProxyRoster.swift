import SocksifyLibc

/// The proxies a process may use: their addresses (found on first use: a numeric host at once,
/// a name through the real resolver), and which ones failover should skip for now.
public final class ProxyRoster: @unchecked Sendable {
    public let proxies: [NamedProxy]
    /// Each proxy as a chain of one, built once: the common route, spared an array per connect.
    public let singleChains: [[ProxySpec]]
    /// Whether any proxy lacks the password its rules file names: connect asks per proxy only then.
    public let anyMissingSecret: Bool
    private var endpoints: [Result<Endpoint, ProxyURLError>?]
    private var deadUntil: [UInt64]

    public init(_ proxies: [NamedProxy]) {
        self.proxies = proxies
        singleChains = proxies.map { [$0.spec] }
        anyMissingSecret = proxies.contains { $0.missingSecret != nil }
        endpoints = proxies.map { proxy in
            IPAddress.parse(proxy.spec.host).map { .success(Endpoint($0, port: proxy.spec.port)) }
        }
        deadUntil = [UInt64](repeating: 0, count: proxies.count)
    }

    public func endpoint(_ index: Int) -> Result<Endpoint, ProxyURLError> {
        sx_lock()
        let known = endpoints[index]
        sx_unlock()
        if let known { return known }
        let found = ProxyAddress.resolve(proxies[index].spec)  // outside the lock: it may take a while
        sx_lock()
        endpoints[index] = found
        sx_unlock()
        return found
    }

    /// A connection to one of the proxies themselves always goes direct.
    public func isProxy(_ endpoint: Endpoint) -> Bool {
        sx_lock()
        defer { sx_unlock() }
        for case .success(let known)? in endpoints where Endpoint.sameHost(endpoint, known) { return true }
        return false
    }

    public func isDead(_ index: Int, now: UInt64) -> Bool {
        sx_lock()
        defer { sx_unlock() }
        return deadUntil[index] > now
    }

    public func markDead(_ index: Int, until: UInt64) {
        sx_lock()
        deadUntil[index] = until
        sx_unlock()
    }

    /// "corp (socks5 10.0.0.1:1080)", or "socks5 10.0.0.1:1080" for the unnamed --proxy.
    public func label(_ index: Int) -> String {
        let proxy = proxies[index]
        if proxy.name.isEmpty { return proxy.spec.displayName }
        return HostName.string(proxy.name) + " (" + proxy.spec.displayName + ")"
    }
}
