import Testing
import SocksifyLibc
@testable import SocksifyCore

/// The verdict once the rules have spoken, for every transport: what each action means for
/// TCP, UDP and protocols no proxy carries, with and without strict mode.
@Suite struct TrafficVerdictRulesTests {
    static let text = """
        proxy p1 socks5://10.0.0.5:1080
        proxy p2 socks5h://10.0.0.6:1080
        rule to 10.0.0.0/8 direct
        rule to *.lan direct
        rule to 192.0.2.0/24 block
        rule to 198.51.100.0/24 chain p1 p2
        rule to 203.0.113.0/24 failover p1 p2
        default via p2
        """

    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        var transport: TransportKind
        var host: String
        var port: UInt16 = 80
        var strict = false
        var namesRemote = false
        var expected: TrafficVerdict
        var testDescription: String { name }
    }

    static let udplite = TransportKind.otherDatagram("UDP-Lite")
    static let icmp = TransportKind.otherDatagram("ICMP")
    static let sctp = TransportKind.otherStream("SCTP")

    static let rows: [Row] = [
        // TCP
        Row(name: "tcp direct rule", transport: .tcp, host: "10.1.1.1", expected: .direct(" (rule at line 3)")),
        Row(name: "tcp direct rule, strict", transport: .tcp, host: "10.1.1.1", strict: true,
            expected: .refuse(errno: EPERM, "strict mode allows no direct connection (rule at line 3)")),
        Row(name: "tcp name behind a synthetic address, direct rule", transport: .tcp, host: "nas.lan", expected: .direct(" (rule at line 4)")),
        Row(name: "tcp name, direct rule, strict", transport: .tcp, host: "nas.lan", strict: true,
            expected: .refuse(errno: EHOSTUNREACH, "strict mode resolves no name locally (rule at line 4)")),
        Row(name: "tcp block", transport: .tcp, host: "192.0.2.1", expected: .refuse(errno: ECONNREFUSED, "blocked (rule at line 5)")),
        Row(name: "tcp chain", transport: .tcp, host: "198.51.100.1", expected: .proxy(.chain([0, 1]), rule: " (rule at line 6)")),
        Row(name: "tcp failover", transport: .tcp, host: "203.0.113.1", expected: .proxy(.failover([0, 1]), rule: " (rule at line 7)")),
        Row(name: "tcp default", transport: .tcp, host: "8.8.8.8", strict: true, expected: .proxy(.via(1), rule: " (default at line 8)")),
        Row(name: "tcp name by default", transport: .tcp, host: "example.com", expected: .proxy(.via(1), rule: " (default at line 8)")),
        Row(name: "tcp DNS by a direct rule, names remote", transport: .tcp, host: "10.1.1.1", port: 53, namesRemote: true,
            expected: .refuse(errno: EPERM, "DNS must not leave the machine directly (rule at line 3)")),
        Row(name: "tcp DNS by a direct rule, names local", transport: .tcp, host: "10.1.1.1", port: 53, expected: .direct(" (rule at line 3)")),
        Row(name: "tcp DNS server out there goes through the proxy", transport: .tcp, host: "8.8.8.8", port: 53, namesRemote: true,
            expected: .proxy(.via(1), rule: " (default at line 8)")),
        // UDP
        Row(name: "udp direct rule", transport: .udp, host: "10.1.1.1", port: 5000, expected: .direct(" (rule at line 3)")),
        Row(name: "udp direct rule, strict", transport: .udp, host: "10.1.1.1", port: 5000, strict: true,
            expected: .refuse(errno: EPERM, "strict mode allows no direct UDP (rule at line 3)")),
        Row(name: "udp DNS by a direct rule, names remote", transport: .udp, host: "10.1.1.1", port: 53, namesRemote: true,
            expected: .refuse(errno: EPERM, "DNS must not leave the machine directly (rule at line 3)")),
        Row(name: "udp name, direct rule", transport: .udp, host: "nas.lan",
            expected: .refuse(errno: EHOSTUNREACH, "a rule says direct for a name only a proxy resolves (rule at line 4)")),
        Row(name: "udp block", transport: .udp, host: "192.0.2.1", expected: .refuse(errno: EPERM, "blocked (rule at line 5)")),
        Row(name: "udp chain", transport: .udp, host: "198.51.100.1",
            expected: .refuse(errno: EOPNOTSUPP, "UDP cannot go through a chain of proxies (rule at line 6)")),
        Row(name: "udp failover", transport: .udp, host: "203.0.113.1", expected: .proxy(.failover([0, 1]), rule: " (rule at line 7)")),
        Row(name: "udp default", transport: .udp, host: "8.8.8.8", port: 443, expected: .proxy(.via(1), rule: " (default at line 8)")),
        Row(name: "udp loopback", transport: .udp, host: "127.0.0.1", port: 5000, strict: true, expected: .direct(" (loopback)")),
        Row(name: "udp local DNS, names remote", transport: .udp, host: "127.0.0.53", port: 53, namesRemote: true,
            expected: .refuse(errno: EPERM, "DNS must not leave the machine directly (names are resolved by the proxy)")),
        // protocols no proxy carries: never out where the rules would proxy
        Row(name: "UDP-Lite where the rules proxy", transport: udplite, host: "8.8.8.8", port: 5000,
            expected: .refuse(errno: EPERM, "UDP-Lite cannot go through a SOCKS proxy (only TCP and UDP can) (default at line 8)")),
        Row(name: "ICMP where the rules proxy", transport: icmp, host: "8.8.8.8", port: 0,
            expected: .refuse(errno: EPERM, "ICMP cannot go through a SOCKS proxy (only TCP and UDP can) (default at line 8)")),
        Row(name: "SCTP where the rules proxy", transport: sctp, host: "8.8.8.8",
            expected: .refuse(errno: EPERM, "SCTP cannot go through a SOCKS proxy (only TCP and UDP can) (default at line 8)")),
        Row(name: "ICMP by a direct rule", transport: icmp, host: "10.1.1.1", port: 0, expected: .direct(" (rule at line 3)")),
        Row(name: "ICMP by a direct rule, strict", transport: icmp, host: "10.1.1.1", port: 0, strict: true,
            expected: .refuse(errno: EPERM, "strict mode allows no direct ICMP (rule at line 3)")),
        Row(name: "SCTP by a direct rule, strict", transport: sctp, host: "10.1.1.1", strict: true,
            expected: .refuse(errno: EPERM, "strict mode allows no direct SCTP (rule at line 3)")),
        Row(name: "UDP-Lite to loopback", transport: udplite, host: "127.0.0.1", port: 5000, strict: true, expected: .direct(" (loopback)")),
        Row(name: "UDP-Lite chain", transport: udplite, host: "198.51.100.1",
            expected: .refuse(errno: EPERM, "UDP-Lite cannot go through a SOCKS proxy (only TCP and UDP can) (rule at line 6)")),
        Row(name: "ICMP blocked", transport: icmp, host: "192.0.2.1", port: 0, expected: .refuse(errno: EPERM, "blocked (rule at line 5)")),
    ]

    static func attempt(_ row: Row) -> TrafficAttempt {
        if let address = IPAddress.parse(row.host) {
            return TrafficAttempt(transport: row.transport, address: address, port: row.port)
        }
        return TrafficAttempt(transport: row.transport, address: nil, port: row.port, proxyName: ascii(row.host))
    }

    @Test(arguments: rows)
    func verdict(_ row: Row) throws {
        let rules = try RulesTestKit.rules(Self.text)
        let policy = TrafficPolicy(router: Router(rules), strict: row.strict, proxyLoopback: false, namesRemote: row.namesRemote)
        #expect(TrafficVerdict.decide(Self.attempt(row), policy) == row.expected)
    }

    @Test(arguments: [TransportKind.tcp, .udp, udplite, sctp])
    func forgottenSyntheticAddressIsUnreachable(transport: TransportKind) throws {
        var attempt = TrafficAttempt(transport: transport, address: ip("198.18.0.7"), port: 80)
        attempt.forgottenSynthetic = true
        let policy = TrafficPolicy(router: Router(try RulesTestKit.rules(Self.text)), strict: false, proxyLoopback: false, namesRemote: true)
        #expect(TrafficVerdict.decide(attempt, policy)
                == .refuse(errno: EHOSTUNREACH, "a synthetic address no name stands for (forgotten, or from another run)"))
    }

    @Test func anUnusableConfigurationRefusesEverythingThatLeaves() {
        var rules = RuleSet()
        rules.defaultAction = .block
        let policy = TrafficPolicy(router: Router(rules), strict: true, proxyLoopback: false, namesRemote: false, unusable: true)
        let tcp = TrafficAttempt(transport: .tcp, address: ip("8.8.8.8"), port: 443)
        #expect(TrafficVerdict.decide(tcp, policy) == .refuse(errno: ECONNREFUSED, "the configuration is unusable"))
        let udp = TrafficAttempt(transport: .udp, address: ip("8.8.8.8"), port: 443)
        #expect(TrafficVerdict.decide(udp, policy) == .refuse(errno: EPERM, "the configuration is unusable"))
        let local = TrafficAttempt(transport: .tcp, address: ip("127.0.0.1"), port: 8080)
        #expect(TrafficVerdict.decide(local, policy) == .direct(" (loopback)"))
    }

    @Test func loopbackIsProxiedWhenAsked() throws {
        let policy = TrafficPolicy(router: Router(try RulesTestKit.rules(Self.text)), strict: false, proxyLoopback: true, namesRemote: false)
        let attempt = TrafficAttempt(transport: .udp, address: ip("127.0.0.1"), port: 5000)
        #expect(TrafficVerdict.decide(attempt, policy) == .proxy(.via(1), rule: " (default at line 8)"))
    }

    @Test func rulesMatchTheNameLibcGave() throws {
        let policy = TrafficPolicy(router: Router(try RulesTestKit.rules(Self.text)), strict: false, proxyLoopback: false, namesRemote: false)
        let attempt = TrafficAttempt(transport: .tcp, address: ip("93.184.216.34"), port: 80, localName: ascii("printer.lan"))
        #expect(TrafficVerdict.decide(attempt, policy) == .direct(" (rule at line 4)"))
    }
}
