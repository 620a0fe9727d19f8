// Proxy URLs (SOCKSIFY_PROXY, --proxy, the rules file) and the other settings read from the
// environment: ProxyURL.parse, ShimSettings.fromEnvironment, AddressPool's CIDR parsers and
// HostName.normalized, all on the same text.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProxyURL(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = bytes(data, size)
    let text = String(decoding: input, as: UTF8.self)
    let secret = holdsPassword(Array(text.utf8))

    do throws(ProxyURLError) {
        let spec = try ProxyURL.parse(text)
        require(!spec.host.isEmpty && spec.port >= 1, "accepted host '\(spec.host)' port \(spec.port)", input)
        if let c = spec.credentials {
            require((1...255).contains(c.username.count) && c.password.count <= 255, "credential lengths", input)
            require(spec.proto.isSocks5 || c.password.isEmpty, "a SOCKS4 proxy with a password", input)
        }
        if secret { require(occurrences(of: fuzzPassword, in: Array(spec.displayName.utf8)) == 0, "displayName shows the password", input) }
    } catch {
        require(!error.message.isEmpty, "an empty error message", input)
        if secret { require(occurrences(of: fuzzPassword, in: Array(error.message.utf8)) == 0, "error shows the password: \(error.message)", input) }
    }

    let environment = [
        ShimSettings.proxyVariable: text, ShimSettings.pool4Variable: text, ShimSettings.pool6Variable: text,
        ShimSettings.connectTimeoutVariable: text, ShimSettings.verboseVariable: text,
    ]
    let settings = ShimSettings.fromEnvironment { environment[$0] }
    require(settings.timeouts.connectMilliseconds > 0 && settings.timeouts.connectMilliseconds <= 86_400_000, "connect timeout", input)
    if case .failure(let error) = settings.proxy, secret {
        require(occurrences(of: fuzzPassword, in: Array(error.message.utf8)) == 0, "settings show the password", input)
    }

    if let (base, prefix) = AddressPool.parseIPv4(text) {
        require((8...24).contains(prefix) && base & ~(~UInt32(0) << UInt32(32 - prefix)) == 0, "IPv4 pool \(base)/\(prefix)", input)
    }
    if let (high, lowBase, prefix) = AddressPool.parseIPv6(text) {
        require((64...120).contains(prefix), "IPv6 pool /\(prefix)", input)
        var pool = AddressPool.standard
        pool.ipv6High = high
        pool.ipv6LowBase = lowBase
        pool.ipv6PrefixLength = prefix
        // Known bug: a range inside ::ffff:0:0/96 reads back as IPv4-mapped addresses.
        if fuzzStrict || !(high == 0 && lowBase >> 32 == 0xFFFF) {
            for p in [0, pool.size - 1] {
                require(pool.position(of: .v6(pool.ipv6(at: p))) == p, "IPv6 pool position \(p)", input)
            }
        }
    }

    if let name = HostName.normalized(input) {
        require(HostName.normalized(name) == name && (1...253).contains(name.count), "normalized \(fuzzHex(name))", input)
        var lowered = lowercased(input)
        if lowered.last == UInt8(ascii: ".") { lowered.removeLast() }
        require(lowered == name, "normalized is not the lowercased input", input)
    }
    return 0
}
