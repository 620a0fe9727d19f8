import Testing
import SocksifyLibc
@testable import SocksifyCore

/// What comes before the rules for a TCP connect (the proxy itself, loopback, a local DNS
/// server), with one `--proxy`: `.proxy` means the rules sent it to that proxy.
@Suite struct TrafficVerdictTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        var destination: Endpoint
        var proxy: Endpoint?
        var proxyLoopback: Bool
        var strict = false
        var dnsGoesThroughProxy = false
        var expected: TrafficVerdict
        var testDescription: String { name }
    }

    static func ep(_ host: String, _ port: UInt16) -> Endpoint { Endpoint(ip(host), port: port) }
    static let localProxy = ep("127.0.0.1", 1080)
    static let remoteProxy = ep("10.0.0.5", 1080)
    static let v6Proxy = ep("2001:db8::5", 1080)
    static let itself = TrafficVerdict.direct(" (the proxy itself)")
    static let loopback = TrafficVerdict.direct(" (loopback)")
    static let proxied = TrafficVerdict.proxy(.via(0), rule: " (default)")
    static let noLocalDNS = TrafficVerdict.refuse(
        errno: EPERM, "DNS must not leave the machine directly (names are resolved by the proxy)")

    static let rows: [Row] = [
        // ordinary destinations go through the proxy
        Row(name: "public IPv4", destination: ep("93.184.216.34", 443), proxy: localProxy, proxyLoopback: false, expected: proxied),
        Row(name: "public IPv6", destination: ep("2606:2800:220:1::1", 443), proxy: localProxy, proxyLoopback: false, expected: proxied),
        Row(name: "private IPv4", destination: ep("192.168.1.1", 22), proxy: remoteProxy, proxyLoopback: false, expected: proxied),
        Row(name: "mapped public IPv4", destination: ep("::ffff:93.184.216.34", 80), proxy: localProxy, proxyLoopback: false, expected: proxied),
        Row(name: "no proxy address known", destination: ep("93.184.216.34", 443), proxy: nil, proxyLoopback: false, expected: proxied),
        // loopback goes direct unless asked otherwise
        Row(name: "127.0.0.1", destination: ep("127.0.0.1", 8080), proxy: remoteProxy, proxyLoopback: false, expected: loopback),
        Row(name: "127.255.255.254", destination: ep("127.255.255.254", 1), proxy: remoteProxy, proxyLoopback: false, expected: loopback),
        Row(name: "::1", destination: ep("::1", 8080), proxy: remoteProxy, proxyLoopback: false, expected: loopback),
        Row(name: "::ffff:127.0.0.1", destination: ep("::ffff:127.0.0.1", 8080), proxy: remoteProxy, proxyLoopback: false, expected: loopback),
        Row(name: "loopback, no proxy address", destination: ep("127.0.0.1", 80), proxy: nil, proxyLoopback: false, expected: loopback),
        Row(name: "127.0.0.1 with proxyLoopback", destination: ep("127.0.0.1", 8080), proxy: remoteProxy, proxyLoopback: true, expected: proxied),
        Row(name: "::1 with proxyLoopback", destination: ep("::1", 8080), proxy: remoteProxy, proxyLoopback: true, expected: proxied),
        Row(name: "mapped loopback with proxyLoopback", destination: ep("::ffff:127.0.0.1", 8080), proxy: remoteProxy, proxyLoopback: true, expected: proxied),
        Row(name: "local proxy's host, other port, proxyLoopback", destination: ep("127.0.0.1", 1081), proxy: localProxy, proxyLoopback: true, expected: proxied),
        // not loopback
        Row(name: "128.0.0.1", destination: ep("128.0.0.1", 80), proxy: remoteProxy, proxyLoopback: false, expected: proxied),
        Row(name: "126.255.255.255", destination: ep("126.255.255.255", 80), proxy: remoteProxy, proxyLoopback: false, expected: proxied),
        Row(name: "::2", destination: ep("::2", 80), proxy: remoteProxy, proxyLoopback: false, expected: proxied),
        Row(name: "IPv4-compatible ::127.0.0.1", destination: ep("::127.0.0.1", 80), proxy: remoteProxy, proxyLoopback: false, expected: proxied),
        // the proxy itself always goes direct
        Row(name: "the local proxy", destination: localProxy, proxy: localProxy, proxyLoopback: false, expected: itself),
        Row(name: "the local proxy with proxyLoopback", destination: localProxy, proxy: localProxy, proxyLoopback: true, expected: itself),
        Row(name: "the remote proxy", destination: remoteProxy, proxy: remoteProxy, proxyLoopback: false, expected: itself),
        Row(name: "the remote proxy via an AF_INET6 socket", destination: ep("::ffff:10.0.0.5", 1080), proxy: remoteProxy, proxyLoopback: false, expected: itself),
        Row(name: "the proxy known as mapped, reached as IPv4", destination: remoteProxy, proxy: ep("::ffff:10.0.0.5", 1080), proxyLoopback: false, expected: itself),
        Row(name: "the IPv6 proxy", destination: v6Proxy, proxy: v6Proxy, proxyLoopback: false, expected: itself),
        Row(name: "the IPv6 loopback proxy", destination: ep("::1", 1080), proxy: ep("::1", 1080), proxyLoopback: true, expected: itself),
        // same host or same port alone is not the proxy
        Row(name: "proxy host, other port", destination: ep("10.0.0.5", 1081), proxy: remoteProxy, proxyLoopback: false, expected: proxied),
        Row(name: "other host, proxy port", destination: ep("10.0.0.6", 1080), proxy: remoteProxy, proxyLoopback: false, expected: proxied),
        Row(name: "IPv6 proxy host, other port", destination: ep("2001:db8::5", 443), proxy: v6Proxy, proxyLoopback: false, expected: proxied),
        Row(name: "local proxy host, other port", destination: ep("127.0.0.1", 1081), proxy: localProxy, proxyLoopback: false, expected: loopback),
        // "this host" (connect(2) takes 0.0.0.0 and :: to mean it) is loopback
        Row(name: "0.0.0.0", destination: ep("0.0.0.0", 8080), proxy: remoteProxy, proxyLoopback: false, expected: loopback),
        Row(name: "::", destination: ep("::", 8080), proxy: remoteProxy, proxyLoopback: false, expected: loopback),
        Row(name: "::ffff:0.0.0.0", destination: ep("::ffff:0.0.0.0", 8080), proxy: remoteProxy, proxyLoopback: false, expected: loopback),
        Row(name: "0.0.0.0 with proxyLoopback", destination: ep("0.0.0.0", 8080), proxy: remoteProxy, proxyLoopback: true, expected: proxied),
        // a local DNS server would forward queries out: refused when names go to the proxy or in strict mode
        Row(name: "127.0.0.53:53, names through the proxy", destination: ep("127.0.0.53", 53), proxy: remoteProxy, proxyLoopback: false,
            dnsGoesThroughProxy: true, expected: noLocalDNS),
        Row(name: "127.0.0.1:53, strict", destination: ep("127.0.0.1", 53), proxy: remoteProxy, proxyLoopback: false,
            strict: true, expected: noLocalDNS),
        Row(name: "[::1]:53, names through the proxy", destination: ep("::1", 53), proxy: remoteProxy, proxyLoopback: false,
            dnsGoesThroughProxy: true, expected: noLocalDNS),
        Row(name: "[::ffff:127.0.0.53]:53, strict", destination: ep("::ffff:127.0.0.53", 53), proxy: remoteProxy, proxyLoopback: false,
            strict: true, expected: noLocalDNS),
        Row(name: "127.0.0.53:53, strict and proxyLoopback", destination: ep("127.0.0.53", 53), proxy: remoteProxy, proxyLoopback: true,
            strict: true, expected: noLocalDNS),
        Row(name: "127.0.0.53:53, names resolved locally", destination: ep("127.0.0.53", 53), proxy: remoteProxy, proxyLoopback: false,
            expected: loopback),
        Row(name: "127.0.0.53:5353, strict", destination: ep("127.0.0.53", 5353), proxy: remoteProxy, proxyLoopback: false,
            strict: true, expected: loopback),
        Row(name: "public DNS over TCP, strict", destination: ep("8.8.8.8", 53), proxy: remoteProxy, proxyLoopback: false,
            strict: true, dnsGoesThroughProxy: true, expected: proxied),
        Row(name: "a proxy on port 53 is still the proxy", destination: ep("127.0.0.1", 53), proxy: ep("127.0.0.1", 53), proxyLoopback: false,
            strict: true, dnsGoesThroughProxy: true, expected: itself),
        Row(name: "strict alone does not proxy loopback", destination: ep("127.0.0.1", 8080), proxy: remoteProxy, proxyLoopback: false,
            strict: true, expected: loopback),
    ]

    static func policy(strict: Bool = false, proxyLoopback: Bool = false, namesRemote: Bool = false,
                       rules: RuleSet = RuleSet.single(ProxySpec(proto: .socks5, host: "10.0.0.5", port: 1080))) -> TrafficPolicy {
        TrafficPolicy(router: Router(rules), strict: strict, proxyLoopback: proxyLoopback, namesRemote: namesRemote)
    }

    static func tcp(_ destination: Endpoint, proxy: Endpoint? = nil) -> TrafficAttempt {
        // How the shim's roster tells the proxy: sameHost against every proxy endpoint.
        TrafficAttempt(transport: .tcp, address: destination.address, port: destination.port,
                       isProxy: proxy.map { Endpoint.sameHost(destination, $0) } ?? false)
    }

    @Test(arguments: rows)
    func beforeTheRules(_ row: Row) {
        let verdict = TrafficVerdict.decide(Self.tcp(row.destination, proxy: row.proxy),
                                            Self.policy(strict: row.strict, proxyLoopback: row.proxyLoopback,
                                                        namesRemote: row.dnsGoesThroughProxy))
        #expect(verdict == row.expected)
    }

    @Test func theProxyGoesDirectWhatever() {
        for destination in [Self.ep("127.0.0.1", 53), Self.ep("8.8.8.8", 1080), Self.ep("::", 1)] {
            let verdict = TrafficVerdict.decide(Self.tcp(destination, proxy: destination), Self.policy(strict: true, namesRemote: true))
            #expect(verdict == Self.itself)
        }
    }

    /// 0.0.0.0 and :: mean this host (the decision sends them direct as "loopback"), so a DNS
    /// server listening on all addresses is reached by connecting to 0.0.0.0:53 just as by
    /// 127.0.0.1:53. Regression: the DNS refusal once checked only `isLoopback`, letting
    /// 0.0.0.0:53 and [::]:53 through in strict mode.
    @Test(arguments: ["0.0.0.0", "::", "::ffff:0.0.0.0"])
    func dnsToThisHostIsRefusedLikeLoopback(host: String) {
        let verdict = TrafficVerdict.decide(Self.tcp(Self.ep(host, 53)), Self.policy(strict: true, namesRemote: true))
        #expect(verdict == Self.noLocalDNS)
    }

    @Test func scopeIDDoesNotHideTheProxy() {
        let proxy = Endpoint(ip("fe80::1"), port: 1080, scopeID: 2)
        let destination = Endpoint(ip("fe80::1"), port: 1080, scopeID: 0)
        #expect(Endpoint.sameHost(destination, proxy))
    }

    @Test func sameHostHelper() {
        #expect(Endpoint.sameHost(Self.ep("10.0.0.5", 1), Self.ep("::ffff:10.0.0.5", 1)))
        #expect(Endpoint.sameHost(Self.ep("::ffff:10.0.0.5", 1), Self.ep("::ffff:10.0.0.5", 1)))
        #expect(!Endpoint.sameHost(Self.ep("10.0.0.5", 1), Self.ep("10.0.0.5", 2)))
        #expect(!Endpoint.sameHost(Self.ep("::10.0.0.5", 1), Self.ep("10.0.0.5", 1)))
    }

    @Test func normalizedHelper() {
        #expect(ip("::ffff:1.2.3.4").unmapped == ip("1.2.3.4"))
        #expect(ip("1.2.3.4").unmapped == ip("1.2.3.4"))
        #expect(ip("::1").unmapped == ip("::1"))
    }

    @Test func decisionsCompareByReason() {
        #expect(TrafficVerdict.direct("a") != .direct("b"))
        #expect(TrafficVerdict.refuse(errno: ECONNREFUSED, "x") == .refuse(errno: ECONNREFUSED, "x"))
        #expect(TrafficVerdict.refuse(errno: ECONNREFUSED, "x") != .refuse(errno: EACCES, "x"))
    }
}
