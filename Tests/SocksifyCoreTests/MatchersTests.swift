import Testing
@testable import SocksifyCore

@Suite struct MatchersTests {
    static func program(_ executable: String, _ argv0: String) -> RunningProgram {
        RunningProgram(executable: ascii(executable), argv0: ascii(argv0))
    }

    static func names(_ p: RunningProgram) -> [String] { p.names.map { HostName.string($0) } }
    static func paths(_ p: RunningProgram) -> [String] { p.paths.map { HostName.string($0) } }

    // MARK: RunningProgram

    @Test func runningProgramFromExecutableAndArgv0() {
        let plain = Self.program("/usr/bin/curl", "curl")
        #expect(Self.names(plain) == ["curl"])
        #expect(Self.paths(plain) == ["/usr/bin/curl"])

        let samePath = Self.program("/usr/bin/curl", "/usr/bin/curl")
        #expect(Self.names(samePath) == ["curl"], "no duplicate")
        #expect(Self.paths(samePath) == ["/usr/bin/curl"], "no duplicate")

        // python3 is a symlink to python3.11: /proc/self/exe names the target.
        let python = Self.program("/usr/bin/python3.11", "python3")
        #expect(Self.names(python) == ["python3.11", "python3"])
        #expect(Self.paths(python) == ["/usr/bin/python3.11"], "a relative argv0 is not a path")

        let linked = Self.program("/usr/bin/busybox", "/usr/local/bin/wget")
        #expect(Self.names(linked) == ["busybox", "wget"])
        #expect(Self.paths(linked) == ["/usr/bin/busybox", "/usr/local/bin/wget"])

        let dotSlash = Self.program("/home/u/bin/tool", "./tool")
        #expect(Self.names(dotSlash) == ["tool"])
        #expect(Self.paths(dotSlash) == ["/home/u/bin/tool"])

        let noArgv0 = Self.program("/usr/bin/curl", "")
        #expect(Self.names(noArgv0) == ["curl"])
        #expect(Self.paths(noArgv0) == ["/usr/bin/curl"])
    }

    // MARK: ProgramPattern

    struct ProgramCase: Sendable, CustomTestStringConvertible {
        var pattern: String
        var executable: String
        var argv0: String
        var matches: Bool
        init(_ pattern: String, _ executable: String, _ argv0: String, _ matches: Bool) {
            self.pattern = pattern; self.executable = executable; self.argv0 = argv0; self.matches = matches
        }
        var testDescription: String { "\(pattern) vs \(executable) (argv0 \(argv0)): \(matches)" }
    }

    static let programCases: [ProgramCase] = [
        // no slash: the base name
        ProgramCase("curl", "/usr/bin/curl", "curl", true),
        ProgramCase("curl", "/usr/bin/curl", "/usr/bin/curl", true),
        ProgramCase("cur*", "/usr/bin/curl", "curl", true),
        ProgramCase("curl", "/usr/bin/wget", "wget", false),
        ProgramCase("usr", "/usr/bin/curl", "curl", false),  // never a directory name
        ProgramCase("bin", "/usr/bin/curl", "curl", false),
        ProgramCase("*bin*", "/usr/bin/curl", "curl", false),  // the base name only, not the path
        ProgramCase("python3*", "/usr/bin/python3.11", "python3", true),
        ProgramCase("python3.11", "/usr/bin/python3.11", "python3", true),  // the executable's own name
        ProgramCase("python3", "/usr/bin/python3.11", "python3", true),  // argv0's name
        ProgramCase("python3", "/usr/bin/python3.11", "/usr/bin/python3.11", false),
        ProgramCase("wget", "/usr/bin/busybox", "wget", true),  // a multi-call binary's applet name
        ProgramCase("busybox", "/usr/bin/busybox", "wget", true),
        // a slash: the full path
        ProgramCase("/usr/bin/curl", "/usr/bin/curl", "curl", true),
        ProgramCase("/usr/bin/*", "/usr/bin/curl", "curl", true),
        ProgramCase("/usr/*/curl", "/usr/bin/curl", "curl", true),
        ProgramCase("bin/curl", "/usr/bin/curl", "curl", false),  // a path pattern is matched whole
        ProgramCase("*/bin/curl", "/usr/bin/curl", "curl", true),
        ProgramCase("/usr/bin/curl", "/usr/local/bin/curl", "curl", false),
        ProgramCase("/usr/local/bin/wget", "/usr/bin/busybox", "/usr/local/bin/wget", true),  // argv0's path
        ProgramCase("/opt/tor-browser/*", "/opt/tor-browser/Browser/firefox", "./firefox", true),
        ProgramCase("/opt/tor-browser/*", "/usr/lib/firefox/firefox", "firefox", false),
        ProgramCase("./tool", "/home/u/bin/tool", "./tool", false),  // a relative argv0 is not a path
    ]

    @Test(arguments: programCases)
    func programPattern(_ c: ProgramCase) {
        let pattern = ProgramPattern(ascii(c.pattern))
        #expect(pattern.isPath == c.pattern.contains("/"))
        #expect(pattern.matches(Self.program(c.executable, c.argv0)) == c.matches)
    }

    // MARK: DestinationPattern

    static func at(_ address: String, port: UInt16? = nil) -> RouteTarget { RouteTarget(address: ip(address), port: port) }
    static func named(_ name: String, port: UInt16? = nil) -> RouteTarget { RouteTarget(name: ascii(name), port: port) }
    static func net(_ address: String, _ prefix: Int) -> DestinationPattern { .network(ip(address), prefix: prefix) }
    static func mapped(_ v4text: String) -> RouteTarget { RouteTarget(address: .v6(IPv6Address(mapping: v4(v4text)))) }

    @Test func anyMatchesEverything() {
        #expect(DestinationPattern.any.matches(RouteTarget()))
        #expect(DestinationPattern.any.matches(Self.at("192.0.2.1")))
        #expect(DestinationPattern.any.matches(Self.at("2001:db8::1")))
        #expect(DestinationPattern.any.matches(Self.named("example.com")))
    }

    @Test func ipv4Networks() {
        let ten = Self.net("10.0.0.0", 8)
        #expect(ten.matches(Self.at("10.0.0.0")))
        #expect(ten.matches(Self.at("10.255.255.255")))
        #expect(!ten.matches(Self.at("11.0.0.0")))
        #expect(!ten.matches(Self.at("9.255.255.255")))

        let twelve = Self.net("172.16.0.0", 12)
        #expect(twelve.matches(Self.at("172.31.255.255")))
        #expect(!twelve.matches(Self.at("172.32.0.0")))

        let all = Self.net("0.0.0.0", 0)
        #expect(all.matches(Self.at("0.0.0.0")))
        #expect(all.matches(Self.at("255.255.255.255")))
        #expect(all.matches(Self.at("127.0.0.1")))
        #expect(!all.matches(Self.at("2001:db8::1")), "an IPv4 network never matches a plain IPv6 address")

        let one = Self.net("192.0.2.7", 32)
        #expect(one.matches(Self.at("192.0.2.7")))
        #expect(!one.matches(Self.at("192.0.2.6")))
        #expect(!one.matches(Self.at("192.0.2.8")))

        let odd = Self.net("192.0.2.128", 25)
        #expect(odd.matches(Self.at("192.0.2.200")))
        #expect(!odd.matches(Self.at("192.0.2.127")))

        let hostBitsSet = Self.net("10.1.2.3", 8)  // the network's own host bits do not matter
        #expect(hostBitsSet.matches(Self.at("10.200.0.1")))
    }

    @Test func ipv4NetworksMatchV4MappedAddresses() {
        // An AF_INET6 socket connecting to ::ffff:10.1.2.3 goes to 10.1.2.3.
        #expect(Self.net("10.0.0.0", 8).matches(Self.mapped("10.1.2.3")))
        #expect(!Self.net("10.0.0.0", 8).matches(Self.mapped("11.1.2.3")))
        #expect(Self.net("192.0.2.7", 32).matches(Self.mapped("192.0.2.7")))
        #expect(Self.net("0.0.0.0", 0).matches(Self.mapped("198.51.100.1")))
        #expect(Self.net("127.0.0.0", 8).matches(Self.at("::ffff:127.0.0.1")))
        // ::1 and other IPv6 addresses are not mapped IPv4
        #expect(!Self.net("0.0.0.0", 0).matches(Self.at("::1")))
        #expect(!Self.net("0.0.0.0", 0).matches(Self.at("::")))
    }

    @Test func ipv6Networks() {
        let doc = Self.net("2001:db8::", 32)
        #expect(doc.matches(Self.at("2001:db8::1")))
        #expect(doc.matches(Self.at("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")))
        #expect(!doc.matches(Self.at("2001:db9::")))
        #expect(!doc.matches(Self.at("192.0.2.1")), "an IPv6 network never matches an IPv4 address")

        let all = Self.net("::", 0)
        #expect(all.matches(Self.at("::")))
        #expect(all.matches(Self.at("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")))
        #expect(all.matches(Self.at("::1")))

        let one = Self.net("2001:db8::7", 128)
        #expect(one.matches(Self.at("2001:db8::7")))
        #expect(!one.matches(Self.at("2001:db8::6")))
        #expect(!one.matches(Self.at("2001:db8::8")))
        #expect(!one.matches(Self.at("2001:db9::7")))

        let loopback = Self.net("::1", 128)
        #expect(loopback.matches(Self.at("::1")))
        #expect(!loopback.matches(Self.at("::")))

        // prefixes around the 64-bit halves
        let p64 = Self.net("2001:db8:1:2::", 64)
        #expect(p64.matches(Self.at("2001:db8:1:2:ffff::1")))
        #expect(!p64.matches(Self.at("2001:db8:1:3::")))
        let p63 = Self.net("2001:db8:1:2::", 63)
        #expect(p63.matches(Self.at("2001:db8:1:3::1")))
        #expect(!p63.matches(Self.at("2001:db8:1:4::")))
        let p65 = Self.net("2001:db8:1:2::", 65)
        #expect(p65.matches(Self.at("2001:db8:1:2:7fff::")))
        #expect(!p65.matches(Self.at("2001:db8:1:2:8000::")))
        let p127 = Self.net("fe80::2", 127)
        #expect(p127.matches(Self.at("fe80::3")))
        #expect(!p127.matches(Self.at("fe80::4")))
        let p1 = Self.net("8000::", 1)
        #expect(p1.matches(Self.at("ffff::")))
        #expect(!p1.matches(Self.at("7fff::")))

        let ula = Self.net("fd00::", 8)
        #expect(ula.matches(Self.at("fd12:3456::1")))
        #expect(!ula.matches(Self.at("fe80::1")))
    }

    @Test func networksNeedAnAddress() {
        #expect(!Self.net("0.0.0.0", 0).matches(Self.named("example.com")))
        #expect(!Self.net("::", 0).matches(Self.named("example.com")))
        #expect(!Self.net("0.0.0.0", 0).matches(RouteTarget(port: 80)))
    }

    @Test func exactNames() {
        let pattern = DestinationPattern.exactName(ascii("example.com"))
        #expect(pattern.matches(Self.named("example.com")))
        #expect(!pattern.matches(Self.named("www.example.com")))
        #expect(!pattern.matches(Self.named("example.co")))
        #expect(!pattern.matches(Self.named("xexample.com")))
        #expect(!pattern.matches(Self.at("93.184.216.34")), "a name pattern needs a name")
        #expect(pattern.matches(RouteTarget(address: ip("93.184.216.34"), name: ascii("example.com"))))
    }

    @Test func suffixFromTheParser() throws {
        let set = try RulesTestKit.rules("rule to *.Example.com direct")
        let pattern = try #require(set.rules.first?.destinations.first)
        #expect(RulesTestKit.destination(pattern) == "*.example.com")
        #expect(pattern.matches(Self.named("sub.example.com")))
        #expect(pattern.matches(Self.named("a.b.example.com")))
        #expect(!pattern.matches(Self.named("example.com")), "*.example.com does not include example.com itself")
        #expect(!pattern.matches(Self.named("badexample.com")))
        #expect(!pattern.matches(Self.named("example.com.evil")))
        #expect(!pattern.matches(Self.at("192.0.2.1")))
        #expect(!pattern.matches(RouteTarget()))
    }

    @Test func exactNameFromTheParserIsNormalized() throws {
        let set = try RulesTestKit.rules("rule to WWW.Example.COM. direct")
        let pattern = try #require(set.rules.first?.destinations.first)
        #expect(pattern.matches(Self.named("www.example.com")))
    }

    // MARK: PortSet and Rule.matches

    @Test func portSets() {
        let set = PortSet([22...22, 80...80, 8000...8100])
        #expect(set.contains(22))
        #expect(set.contains(80))
        #expect(set.contains(8000))
        #expect(set.contains(8050))
        #expect(set.contains(8100))
        #expect(!set.contains(21))
        #expect(!set.contains(23))
        #expect(!set.contains(7999))
        #expect(!set.contains(8101))
        #expect(!set.contains(443))
        #expect(PortSet([1...65535]).contains(1))
        #expect(PortSet([1...65535]).contains(65535))
        #expect(!PortSet([]).contains(80))
    }

    @Test func ruleMatchesDestinationsAndPorts() throws {
        let set = try RulesTestKit.rules("""
            rule to 10.0.0.0/8,*.corp.example port 22,443 block
            rule block
            rule port 80 block
            """)
        let both = set.rules[0]
        #expect(both.matches(Self.at("10.1.1.1", port: 22)))
        #expect(both.matches(Self.named("git.corp.example", port: 443)))
        #expect(!both.matches(Self.at("10.1.1.1", port: 80)))
        #expect(!both.matches(Self.at("11.1.1.1", port: 22)))
        #expect(both.matches(Self.at("10.1.1.1")), "no port known: the port does not exclude")
        let any = set.rules[1]
        #expect(any.matches(RouteTarget()))
        #expect(any.matches(Self.at("2001:db8::1", port: 1)))
        let portOnly = set.rules[2]
        #expect(portOnly.matches(Self.named("example.com", port: 80)))
        #expect(!portOnly.matches(Self.named("example.com", port: 81)))
    }
}
