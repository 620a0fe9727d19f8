import SocksifyLibc

/// What a name lookup in the program turns into.
public enum NameResolution {
    /// Hand the call to libc unchanged (numeric input, or names resolved locally).
    case libc
    /// Answer with these addresses (from /etc/hosts, or synthetic ones for the proxy).
    case addresses([IPAddress], canonical: [UInt8])
    /// No such name (EAI_NONAME, HOST_NOT_FOUND), without asking anyone.
    case notFound
    /// Refused by policy, with the reason for the log.
    case refused(String)
}

/// The single place that decides how a name is resolved, and the map that remembers which
/// synthetic address stands for which name.
public struct NameResolver: Sendable {
    /// The rules decide, name by name, whether a proxy resolves it.
    public var router: Router
    /// Whether any name can go to a proxy: then no DNS query may leave directly.
    public let remote: Bool
    public var strict: Bool
    public var pool: AddressPool
    public var table: NameTable?
    /// Why there is no table though names go to a proxy (the run's shared map cannot be used in
    /// this process); the shim logs it on each synthetic address met.
    public var unavailableMap: String? = nil
    public var hosts: HostsFile

    public init(router: Router, strict: Bool, pool: AddressPool, table: NameTable?, hosts: HostsFile) {
        self.router = router
        self.remote = router.anyRemoteResolution
        self.strict = strict
        self.pool = pool
        self.table = table
        self.hosts = hosts
    }

    /// Every name resolved remotely (`remote`), or none.
    public init(remote: Bool, strict: Bool, pool: AddressPool, table: NameTable?, hosts: HostsFile) {
        let rules = remote ? RuleSet.single(ProxySpec(proto: .socks5h, host: "127.0.0.1", port: 1080)) : RuleSet()
        self.init(router: Router(rules), strict: strict, pool: pool, table: table, hosts: hosts)
    }

    /// Forward lookup of `name` for `family` (AF_INET, AF_INET6 or AF_UNSPEC).
    public func resolve(_ name: [UInt8], family: Int32) -> NameResolution {
        if NameResolver.isNumeric(name) { return .libc }
        guard remote else {
            return strict ? .refused("local DNS lookup refused in strict mode (use socks5h:// or socks4a:// to resolve through the proxy)") : .libc
        }
        guard let normalized = HostName.normalized(name) else { return .notFound }
        if let (addresses, canonical) = hosts.addresses(of: normalized) {
            let wanted = addresses.filter { NameResolver.matches($0, family: family) }
            return wanted.isEmpty ? .notFound : .addresses(wanted, canonical: canonical)
        }
        guard router.resolvesRemotely(normalized) else {
            return strict ? .refused("local DNS lookup refused in strict mode (the rules send this name to no proxy that resolves names)") : .libc
        }
        guard let table else {
            guard let unavailableMap else { return .refused("no name table: cannot hand out synthetic addresses") }
            return .refused("the run's name map cannot be used in this process (" + unavailableMap + ")")
        }
        let position = table.position(for: normalized, poolSize: pool.size)
        let address: IPAddress = family == AF_INET6 ? .v6(pool.ipv6(at: position)) : .v4(pool.ipv4(at: position))
        return .addresses([address], canonical: normalized)
    }

    /// The name a synthetic address stands for (nil: not a synthetic address in use).
    public func name(forSynthetic address: IPAddress) -> [UInt8]? {
        guard remote, let position = pool.position(of: address) else { return nil }
        guard let table else { return nil }
        return table.name(at: position, poolSize: pool.size)
    }

    /// Reverse lookup: a synthetic address's name, /etc/hosts, or (when names go to the proxy)
    /// nothing at all rather than a PTR query leaving the machine.
    public func reverse(_ address: IPAddress) -> NameResolution {
        if let name = name(forSynthetic: address) { return .addresses([address], canonical: name) }
        guard remote || strict else { return .libc }
        if let name = hosts.name(of: address) { return .addresses([address], canonical: name) }
        return .notFound
    }

    static func matches(_ address: IPAddress, family: Int32) -> Bool {
        switch address {
        case .v4: return family != AF_INET6
        case .v6: return family != AF_INET
        }
    }

    /// What glibc treats as a numeric host (inet_pton, or inet_aton's forms like "127.1" with
    /// nothing after them, or an IPv6 address with an existing scope), which never involves DNS.
    /// Anything looser would hand a name to libc's resolver.
    public static func isNumeric(_ name: [UInt8]) -> Bool {
        guard !name.isEmpty, name.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return false }
        if let percent = name.firstIndex(of: UInt8(ascii: "%")) {
            let scope = Array(name[(percent + 1)...])
            guard case .v6(let address)? = IPAddress.parse(HostName.string(Array(name[..<percent]))), !scope.isEmpty else { return false }
            if scope.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
                return scope.count <= 10 && (Int(HostName.string(scope)) ?? Int.max) <= Int(UInt32.max)
            }
            // glibc takes an interface name as a scope only on link-local addresses: fe80::/10
            // and link-local multicast (ffx2::).
            let linkLocal = address.high >> 54 == 0x3FA || (address.high >> 56 == 0xFF && (address.high >> 48) & 0xF == 0x2)
            return linkLocal && HostName.string(scope).withCString { sx_interface_index($0) } != 0
        }
        let text = HostName.string(name)
        if IPAddress.parse(text) != nil { return true }
        var ignored: UInt32 = 0
        return text.withCString { sx_inet_aton($0, &ignored) } == 1
    }
}
