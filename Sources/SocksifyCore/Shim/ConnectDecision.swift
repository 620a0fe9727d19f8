import SocksifyLibc

/// What happens to one `connect`: the single place where that is decided.
public enum ConnectDecision: Sendable {
    /// Straight to libc, with the reason for the log.
    case direct(String)
    /// Through the configured proxy.
    case proxy
    /// Refused with this errno, with the reason for the log.
    case refuse(errno: Int32, String)

    /// Decides what comes before the rules for a TCP connect to `destination`: a proxy's own
    /// address and loopback go direct, a local DNS server is refused. `.proxy` means "ask the
    /// rules".
    public static func decide(
        destination: Endpoint, settings: ShimSettings, isProxy: Bool, dnsGoesThroughProxy: Bool = false
    ) -> ConnectDecision {
        if isProxy {
            return .direct("the proxy itself")
        }
        // A local DNS server (systemd-resolved on 127.0.0.53, dnsmasq) would forward the query out.
        if destination.port == 53 && (dnsGoesThroughProxy || settings.strict)
            && (destination.address.isLoopback || destination.address.isUnspecified) {
            return .refuse(errno: EPERM, "DNS must not leave the machine directly (names are resolved by the proxy)")
        }
        if (destination.address.isLoopback || destination.address.isUnspecified) && !settings.proxyLoopback {
            return .direct("loopback")
        }
        return .proxy
    }

    /// The proxy, also when an AF_INET6 socket names it as ::ffff:a.b.c.d.
    static func sameHost(_ a: Endpoint, _ b: Endpoint) -> Bool {
        a.port == b.port && normalized(a.address) == normalized(b.address)
    }

    static func normalized(_ address: IPAddress) -> IPAddress {
        if case .v6(let v6) = address, let v4 = v6.mappedIPv4 { return .v4(v4) }
        return address
    }
}

#if !hasFeature(Embedded)
// Tests compare these; the shim never does, and String == would pull Unicode tables into it.
extension ConnectDecision: Equatable {}
#endif
