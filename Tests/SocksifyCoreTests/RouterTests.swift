import Testing
@testable import SocksifyCore

@Suite struct RouterTests {
    typealias Kit = RulesTestKit

    static let text = """
        proxy p1 socks5://127.0.0.1:1081
        proxy p2 socks5h://127.0.0.1:1082
        proxy p3 socks4a://127.0.0.1:1083
        rule to 10.0.0.0/8,fd00::/8 direct
        rule app curl to *.corp.example via p1
        rule to *.corp.example port 22 block
        rule to 192.168.1.0/24 port 80,8000-8100 via p2
        rule app python3* failover p1 p2
        rule to *.corp.example chain p1 p3
        default via p3
        """

    static func program(_ executable: String, _ argv0: String? = nil) -> RunningProgram {
        RunningProgram(executable: ascii(executable), argv0: ascii(argv0 ?? executable))
    }

    static func target(_ host: String, _ port: UInt16?) -> RouteTarget {
        if let address = IPAddress.parse(host) { return RouteTarget(address: address, port: port) }
        return RouteTarget(name: ascii(host), port: port)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var executable: String
        var argv0: String
        var host: String
        var port: UInt16?
        var action: String
        var line: Int?
        init(_ executable: String, _ argv0: String, _ host: String, _ port: UInt16?, _ action: String, line: Int?) {
            self.executable = executable; self.argv0 = argv0; self.host = host; self.port = port
            self.action = action; self.line = line
        }
        var testDescription: String { "\(argv0) → \(host):\(port.map(String.init) ?? "*")" }
    }

    /// The default's decision carries the `default` line (10), so the log and explain can name it.
    static let cases: [Case] = [
        Case("/usr/bin/curl", "curl", "10.1.2.3", 443, "direct", line: 4),
        Case("/usr/bin/curl", "curl", "fd00::1", 443, "direct", line: 4),
        // first match wins: curl's rule comes before the port-22 block
        Case("/usr/bin/curl", "curl", "git.corp.example", 22, "via p1", line: 5),
        Case("/usr/local/bin/curl", "/usr/local/bin/curl", "git.corp.example", 443, "via p1", line: 5),
        Case("/usr/bin/wget", "wget", "git.corp.example", 22, "block", line: 6),
        Case("/usr/bin/wget", "wget", "git.corp.example", 443, "chain p1 p3", line: 9),
        Case("/usr/bin/wget", "wget", "192.168.1.5", 80, "via p2", line: 7),
        Case("/usr/bin/wget", "wget", "192.168.1.5", 8000, "via p2", line: 7),
        Case("/usr/bin/wget", "wget", "192.168.1.5", 8100, "via p2", line: 7),
        Case("/usr/bin/wget", "wget", "192.168.1.5", 8101, "via p3", line: 10),
        Case("/usr/bin/wget", "wget", "192.168.2.5", 80, "via p3", line: 10),
        Case("/usr/bin/wget", "wget", "198.51.100.1", 443, "via p3", line: 10),
        Case("/usr/bin/python3.11", "python3", "192.168.1.5", 443, "failover p1 p2", line: 8),
        Case("/usr/bin/python3.11", "python3", "192.168.1.5", 80, "via p2", line: 7),
        Case("/usr/bin/python3.11", "python3", "10.0.0.1", 80, "direct", line: 4),
        Case("/usr/bin/python3.11", "python3", "git.corp.example", 22, "block", line: 6),
        Case("/usr/bin/python", "python", "198.51.100.1", 443, "via p3", line: 10),
        // *.corp.example is not corp.example
        Case("/usr/bin/curl", "curl", "corp.example", 443, "via p3", line: 10),
        // a v4-mapped address on an AF_INET6 socket matches the IPv4 network
        Case("/usr/bin/wget", "wget", "::ffff:10.9.9.9", 443, "direct", line: 4),
        // unknown port: port conditions do not exclude
        Case("/usr/bin/wget", "wget", "192.168.1.5", nil, "via p2", line: 7),
    ]

    @Test(arguments: cases)
    func routes(_ c: Case) throws {
        let set = try Kit.rules(Self.text)
        let router = Router(set.forProgram(Self.program(c.executable, c.argv0)))
        let decision = router.route(Self.target(c.host, c.port))
        #expect(Kit.action(decision.action, set) == c.action)
        #expect(decision.line == c.line)
    }

    @Test func forProgramKeepsOnlyRulesThatCanApply() throws {
        let set = try Kit.rules(Self.text)
        #expect(set.forProgram(Self.program("/usr/bin/curl", "curl")).rules.map(\.line) == [4, 5, 6, 7, 9])
        #expect(set.forProgram(Self.program("/usr/bin/python3.11", "python3")).rules.map(\.line) == [4, 6, 7, 8, 9])
        #expect(set.forProgram(Self.program("/usr/bin/wget", "wget")).rules.map(\.line) == [4, 6, 7, 9])
        let filtered = set.forProgram(Self.program("/usr/bin/wget"))
        #expect(filtered.proxies.count == 3, "proxy indexes stay valid")
        #expect(Kit.action(filtered.defaultAction, filtered) == "via p3")
        #expect(filtered.defaultLine == 10)
        #expect(set.rules.count == 6, "the original is unchanged")
    }

    @Test func forProgramWithSeveralPatternsAndPaths() throws {
        let set = try Kit.rules("""
            rule app git,ssh block
            rule app /opt/tor-browser/* direct
            rule app [gs]* direct
            """)
        #expect(set.forProgram(Self.program("/usr/bin/ssh", "ssh")).rules.map(\.line) == [1, 3])
        #expect(set.forProgram(Self.program("/usr/bin/scp", "scp")).rules.map(\.line) == [3])
        #expect(set.forProgram(Self.program("/opt/tor-browser/firefox", "./firefox")).rules.map(\.line) == [2])
        #expect(set.forProgram(Self.program("/usr/bin/curl", "curl")).rules.isEmpty)
    }

    @Test func withoutRulesTheDefaultApplies() throws {
        let none = try Kit.rules("")
        let decision = Router(none).route(Self.target("192.0.2.1", 80))
        #expect(Kit.action(decision.action, none) == "direct")
        #expect(decision.line == nil, "no default line: no line to name")

        let blocked = try Kit.rules("\n\ndefault block")
        let byDefault = Router(blocked).route(Self.target("example.com", 80))
        #expect(Kit.action(byDefault.action, blocked) == "block")
        #expect(byDefault.line == 3)
    }

    @Test func singleProxyStandsForEverythingThroughIt() {
        let spec = ProxySpec(proto: .socks5h, host: "127.0.0.1", port: 1080)
        let set = RuleSet.single(spec)
        #expect(set.proxies.count == 1)
        #expect(set.proxies[0].name.isEmpty)
        #expect(set.proxies[0].spec == spec)
        #expect(set.rules.isEmpty)
        let router = Router(set)
        guard case .via(0) = router.route(Self.target("192.0.2.1", 443)).action else {
            Issue.record("not via the proxy"); return
        }
        #expect(router.resolvesRemotely(ascii("example.com")))
        #expect(router.anyRemoteResolution)
        #expect(!router.matchesNames)
    }

    // MARK: names

    struct NameCase: Sendable, CustomTestStringConvertible {
        var why: String
        var rules: String
        var name: String
        var remote: Bool
        init(_ why: String, _ rules: String, _ name: String, _ remote: Bool) {
            self.why = why; self.rules = rules; self.name = name; self.remote = remote
        }
        var testDescription: String { why }
    }

    static let proxies = """
        proxy s5 socks5://127.0.0.1:1
        proxy s5h socks5h://127.0.0.1:2
        proxy s4 socks4://127.0.0.1:3
        proxy s4a socks4a://127.0.0.1:4

        """

    static let nameCases: [NameCase] = [
        NameCase("default through socks5h", "default via s5h", "a.example", true),
        NameCase("default through socks5", "default via s5", "a.example", false),
        NameCase("default through socks4a", "default via s4a", "a.example", true),
        NameCase("default through socks4", "default via s4", "a.example", false),
        NameCase("default direct", "", "a.example", false),
        NameCase("default block", "default block", "a.example", false),
        NameCase("a matching rule decides", "rule to a.example via s5h\ndefault direct", "a.example", true),
        NameCase("a rule for another name is skipped", "rule to b.example via s5h\ndefault direct", "a.example", false),
        NameCase("suffix rule", "rule to *.example via s5h", "a.example", true),
        NameCase("direct before the proxy rule", "rule to a.example direct\nrule to a.example via s5h", "a.example", false),
        NameCase("block before the proxy rule", "rule to a.example block\ndefault via s5h", "a.example", false),
        // the port is not known when the name is looked up
        NameCase("a port-conditional proxy rule first", "rule to a.example port 443 via s5h\nrule to a.example direct", "a.example", true),
        NameCase("a port-conditional direct rule does not stop", "rule to a.example port 22 direct\ndefault via s5h", "a.example", true),
        NameCase("a port-conditional direct rule, then direct", "rule to a.example port 22 direct\ndefault direct", "a.example", false),
        NameCase("a port-only proxy rule", "rule port 443 via s5h", "a.example", true),
        NameCase("a rule without conditions", "rule via s5h\ndefault direct", "a.example", true),
        NameCase("network rules never match a name", "rule to 0.0.0.0/0,::/0 via s5h\ndefault direct", "a.example", false),
        NameCase("network rules do not stop either", "rule to 0.0.0.0/0 direct\ndefault via s5h", "a.example", true),
        NameCase("'to *' matches names", "rule to * direct\ndefault via s5h", "a.example", false),
        NameCase("chain: the last proxy resolves", "rule chain s5 s5h", "a.example", true),
        NameCase("chain: the last proxy does not resolve", "rule chain s5h s5", "a.example", false),
        NameCase("failover: any that resolves", "rule failover s5 s5h", "a.example", true),
        NameCase("failover: none resolves", "rule failover s5 s4", "a.example", false),
    ]

    @Test(arguments: nameCases)
    func resolvesRemotely(_ c: NameCase) throws {
        let set = try Kit.rules(Self.proxies + c.rules)
        #expect(Router(set).resolvesRemotely(ascii(c.name)) == c.remote)
    }

    @Test func resolvesRemotelyAfterProgramFiltering() throws {
        let set = try Kit.rules(Self.proxies + "rule app tor* via s5h\ndefault direct")
        #expect(Router(set.forProgram(Self.program("/usr/bin/torsocks-thing"))).resolvesRemotely(ascii("x.onion")))
        #expect(!Router(set.forProgram(Self.program("/usr/bin/curl"))).resolvesRemotely(ascii("x.onion")))
    }

    @Test(arguments: [
        ("rule to example.com direct", true),
        ("rule to *.example.com direct", true),
        ("rule to 10.0.0.0/8,example.com direct", true),
        ("rule to 10.0.0.0/8 direct", false),
        ("rule to * direct", false),
        ("rule port 443 direct", false),
        ("rule app curl direct", false),
        ("default block", false),
    ])
    func matchesNames(rules: String, expected: Bool) throws {
        let set = try Kit.rules(rules)
        #expect(Router(set).matchesNames == expected)
    }

    @Test(arguments: [
        ("", false),
        ("default via s5", false),
        ("default via s5h", true),
        ("default via s4a", true),
        ("rule app curl via s5h", true),  // any rule, whatever its conditions
        ("rule to 10.0.0.0/8 chain s5h s5\ndefault via s4", false),
        ("rule to 10.0.0.0/8 chain s5 s4a", true),
        ("rule failover s4 s5h", true),
        ("rule direct\ndefault block", false),
    ])
    func anyRemoteResolution(rules: String, expected: Bool) throws {
        let set = try Kit.rules(Self.proxies + rules)
        #expect(Router(set).anyRemoteResolution == expected, "defined but unused socks5h proxies do not count")
    }
}
