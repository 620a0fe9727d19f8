import Testing
@testable import SocksifyCore

/// Helpers for the rules tests (RulesParserTests, MatchersTests, RouterTests): parse a text,
/// and show actions, destinations and ports as short strings so tables can compare them.
enum RulesTestKit {
    static func parse(_ text: String, env: [String: String] = [:], files: [String: [UInt8]] = [:]) -> Result<RuleSet, RulesProblems> {
        RulesParser.parse(ascii(text), environment: { env[$0] }, readFile: { files[$0] })
    }

    /// The rule set of a text that must parse.
    static func rules(_ text: String, env: [String: String] = [:], files: [String: [UInt8]] = [:],
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> RuleSet {
        switch parse(text, env: env, files: files) {
        case .success(let set): return set
        case .failure(let problems):
            let lines = problems.diagnostics.map { $0.format(file: "rules") }.joined(separator: "\n")
            Issue.record("expected the rules to parse:\n\(lines)", sourceLocation: sourceLocation)
            throw ParseFailed()
        }
    }

    struct ParseFailed: Error {}

    /// The problems of a text that must not parse.
    static func problems(_ text: String, env: [String: String] = [:], files: [String: [UInt8]] = [:],
                         sourceLocation: SourceLocation = #_sourceLocation) -> [RulesDiagnostic] {
        switch parse(text, env: env, files: files) {
        case .success:
            Issue.record("expected problems, the rules parsed", sourceLocation: sourceLocation)
            return []
        case .failure(let problems):
            #expect(!problems.diagnostics.isEmpty, "a failure carries at least one problem", sourceLocation: sourceLocation)
            return problems.diagnostics
        }
    }

    static func name(_ set: RuleSet, _ index: Int) -> String { HostName.string(set.proxies[index].name) }

    static func action(_ action: RuleAction, _ set: RuleSet) -> String {
        switch action {
        case .direct: return "direct"
        case .block: return "block"
        case .via(let p): return "via " + name(set, p)
        case .chain(let list): return "chain " + list.map { name(set, $0) }.joined(separator: " ")
        case .failover(let list): return "failover " + list.map { name(set, $0) }.joined(separator: " ")
        }
    }

    static func destination(_ pattern: DestinationPattern) -> String {
        switch pattern {
        case .any: return "*"
        case .network(let address, let prefix): return address.text + "/" + String(prefix)
        case .exactName(let name): return "=" + HostName.string(name)
        case .suffix(let tail): return "*" + HostName.string(tail)
        }
    }

    static func ports(_ set: PortSet?) -> String {
        guard let set else { return "any" }
        return set.ranges.map { $0.lowerBound == $0.upperBound ? String($0.lowerBound) : "\($0.lowerBound)-\($0.upperBound)" }
            .joined(separator: ",")
    }

    static func programs(_ rule: Rule) -> [String] { rule.programs.map { HostName.string($0.glob) } }
}

@Suite struct RulesParserTests {
    typealias Kit = RulesTestKit

    // MARK: statements that parse

    @Test func emptyFileCommentsAndBlankLines() throws {
        for text in ["", "\n\n", "# only a comment\n", "   \t  \n# x\n\t# y\n\r\n"] {
            let set = try Kit.rules(text)
            #expect(set.proxies.isEmpty && set.rules.isEmpty)
            #expect(Kit.action(set.defaultAction, set) == "direct", "without a default line everything goes direct")
            #expect(set.defaultLine == nil)
            #expect(set.options.strict == nil && set.options.proxyLoopback == nil)
            #expect(set.options.connectTimeoutMilliseconds == nil && set.options.handshakeTimeoutMilliseconds == nil)
            #expect(set.options.failoverRetryMilliseconds == 30_000)
        }
    }

    @Test func proxyForms() throws {
        let set = try Kit.rules("""
            proxy a socks5://127.0.0.1:1081
            proxy b-2 socks5h://proxy.example:9050   # trailing comment
            \tproxy   C_3\tsocks4://10.0.0.1
            proxy d socks4a://alice@[::1]:1082
            proxy e socks5://bob:pw@h:1
            proxy f socks5://carol@h:2 password-env F_PASS
            proxy g socks5://dave@h:3 password-file ~/.socksify-pass
            proxy h socks5://erin:@h:4 password-env EMPTY
            """, env: ["F_PASS": "from env", "EMPTY": ""], files: ["~/.socksify-pass": ascii("from file\r\n\n")])
        #expect(set.proxies.map { HostName.string($0.name) } == ["a", "b-2", "C_3", "d", "e", "f", "g", "h"])
        #expect(set.proxies.map(\.line) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(set.proxies[0].spec == ProxySpec(proto: .socks5, host: "127.0.0.1", port: 1081))
        #expect(set.proxies[1].spec == ProxySpec(proto: .socks5h, host: "proxy.example", port: 9050))
        #expect(set.proxies[2].spec == ProxySpec(proto: .socks4, host: "10.0.0.1", port: 1080))
        #expect(set.proxies[3].spec == ProxySpec(proto: .socks4a, host: "::1", port: 1082,
                                                 credentials: ProxyCredentials(username: ascii("alice"), password: [])))
        #expect(set.proxies[4].spec.credentials == ProxyCredentials(username: ascii("bob"), password: ascii("pw")))
        #expect(set.proxies[5].spec.credentials == ProxyCredentials(username: ascii("carol"), password: ascii("from env")))
        #expect(set.proxies[6].spec.credentials == ProxyCredentials(username: ascii("dave"), password: ascii("from file")),
                "the file's trailing CR/LF are dropped")
        #expect(set.proxies[7].spec.credentials == ProxyCredentials(username: ascii("erin"), password: []),
                "an empty variable is an empty password, and ':' with nothing after it counts as no password")
        #expect(set.rules.isEmpty)
    }

    @Test func pipelineForms() throws {
        let set = try Kit.rules("""
            proxy a socks5://127.0.0.1:1081 pipeline
            proxy b socks5://u@h:2 password-env PW pipeline
            proxy c socks5://u@h:3 pipeline password-file /pw   # either order
            proxy d socks5h://h:4?pipeline=1
            proxy e socks5://h:5?pipeline=0
            proxy f socks5://h:6
            proxy g socks4a://h:7 pipeline
            """, env: ["PW": "env"], files: ["/pw": ascii("file\n")])
        #expect(set.proxies.map(\.spec.pipeline) == [true, true, true, true, false, false, true])
        #expect(set.proxies[1].spec.credentials?.password == ascii("env"))
        #expect(set.proxies[2].spec.credentials?.password == ascii("file"))
        #expect(set.proxies[6].spec.pipelines == false, "accepted on SOCKS4, where it changes nothing")
        #expect(set.proxies.map(\.spec.displayName) == [
            "socks5 127.0.0.1:1081, pipelined", "socks5 h:2, pipelined", "socks5 h:3, pipelined", "socks5h h:4, pipelined",
            "socks5 h:5", "socks5 h:6", "socks4a h:7"])
    }

    @Test func passwordOfExactly255BytesIsAccepted() throws {
        let long = String(repeating: "p", count: 255)
        let set = try Kit.rules("proxy a socks5://u@h:1 password-env PW\nproxy b socks5://u@h:1 password-file /pw",
                                env: ["PW": long], files: ["/pw": ascii(long + "\n")])
        #expect(set.proxies[0].spec.credentials?.password.count == 255)
        #expect(set.proxies[1].spec.credentials?.password.count == 255)
    }

    @Test func anHTTPProxyTakesItsPasswordFromTheEnvironmentOrAFile() throws {
        let set = try Kit.rules("proxy a http://alice@proxy:3128 password-env PW\nproxy b http://bob@proxy:3128 password-file /pw\ndefault via a",
                                env: ["PW": "s3cret"], files: ["/pw": ascii("hunter2\n")])
        #expect(set.proxies[0].spec.proto == .http && set.proxies[0].spec.credentials?.password == ascii("s3cret"))
        #expect(set.proxies[1].spec.credentials?.password == ascii("hunter2"))
    }

    @Test func passwordFileKeepsInnerWhitespace() throws {
        let set = try Kit.rules("proxy a socks5://u@h:1 password-file /pw", files: ["/pw": ascii(" a b \n")])
        #expect(set.proxies[0].spec.credentials?.password == ascii(" a b "), "only trailing newlines are removed")
    }

    @Test func ruleConditionsAndActions() throws {
        let set = try Kit.rules("""
            proxy p1 socks5://127.0.0.1:1
            proxy p2 socks5h://127.0.0.1:2
            proxy p3 socks4a://127.0.0.1:3

            rule direct
            rule app curl block
            rule app curl,wget,/usr/bin/*,python3* via p1
            rule to example.com chain p1 p2
            rule to *.Example.ORG,10.0.0.0/8,192.0.2.7,2001:db8::/32,::1,*,Host.Name. failover p1 p2 p3
            rule port 443 via p2
            rule port 22,80,8000-8100,65535 direct
            rule app ssh to *.corp.example port 22 via p3
            rule port 22 to 10.1.0.0/16 app git block
            rule to fd00::/8 chain p3 p2 p1
            default via p2
            """)
        #expect(set.rules.map(\.line) == Array(5...14))
        #expect(set.rules.map { Kit.action($0.action, set) } == [
            "direct", "block", "via p1", "chain p1 p2", "failover p1 p2 p3", "via p2", "direct", "via p3", "block", "chain p3 p2 p1",
        ])
        #expect(set.rules.map { Kit.programs($0) } == [
            [], ["curl"], ["curl", "wget", "/usr/bin/*", "python3*"], [], [], [], [], ["ssh"], ["git"], [],
        ])
        #expect(set.rules.map { $0.destinations.map(Kit.destination) } == [
            [], [], [], ["=example.com"],
            ["*.example.org", "10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32", "::1/128", "*", "=host.name"],
            [], [], ["*.corp.example"], ["10.1.0.0/16"], ["fd00::/8"],
        ])
        #expect(set.rules.map { Kit.ports($0.ports) } == [
            "any", "any", "any", "any", "any", "443", "22,80,8000-8100,65535", "22", "22", "any",
        ])
        #expect(Kit.action(set.defaultAction, set) == "via p2")
        #expect(set.defaultLine == 15)
    }

    @Test(arguments: [
        ("default direct", "direct"),
        ("default block", "block"),
        ("default via a", "via a"),
        ("default chain a b", "chain a b"),
        ("default chain b a b", "chain b a b"),
        ("default failover b a", "failover b a"),
    ])
    func defaultActions(line: String, expected: String) throws {
        let set = try Kit.rules("proxy a socks5://h:1\nproxy b socks5://h:2\n\n" + line)
        #expect(Kit.action(set.defaultAction, set) == expected)
        #expect(set.defaultLine == 4)
    }

    @Test func proxiesMayBeUsedBeforeTheyAreDefined() throws {
        let set = try Kit.rules("""
            rule app curl via late
            rule to 10.0.0.0/8 chain early late
            default failover late early
            proxy early socks5://127.0.0.1:1
            proxy late socks5://127.0.0.1:2
            """)
        #expect(set.rules.map { Kit.action($0.action, set) } == ["via late", "chain early late"])
        #expect(Kit.action(set.defaultAction, set) == "failover late early")
        guard case .via(let index) = set.rules[0].action else { Issue.record("not via"); return }
        #expect(index == 1, "actions name proxies by their index in RuleSet.proxies")
    }

    @Test func setOptions() throws {
        let set = try Kit.rules("""
            set strict
            set proxy-loopback
            set connect-timeout 5
            set handshake-timeout 0.5
            set failover-retry 2.25
            """)
        #expect(set.options.strict == true)
        #expect(set.options.proxyLoopback == true)
        #expect(set.options.connectTimeoutMilliseconds == 5000)
        #expect(set.options.handshakeTimeoutMilliseconds == 500)
        #expect(set.options.failoverRetryMilliseconds == 2250)
    }

    @Test(arguments: [
        ("1", 1000), ("0.001", 1), ("0.1", 100), ("0.25", 250), ("1.5", 1500), ("86400", 86_400_000),
        ("007", 7000), ("1.0001", 1000),  // only milliseconds count
    ])
    func secondsValues(text: String, ms: Int) throws {
        let set = try Kit.rules("set connect-timeout " + text)
        #expect(set.options.connectTimeoutMilliseconds == ms)
    }

    @Test func lineEndingsTabsAndComments() throws {
        let set = try Kit.rules("proxy p socks5://h:1\r\n\trule\tapp curl\tvia p # why\r\n#rule app x block\r\n   default   block #\r\n")
        #expect(set.rules.count == 1)
        #expect(Kit.programs(set.rules[0]) == ["curl"])
        #expect(Kit.action(set.rules[0].action, set) == "via p")
        #expect(set.rules[0].line == 2)
        #expect(Kit.action(set.defaultAction, set) == "block")
        #expect(set.defaultLine == 4)
    }

    @Test func exampleFileParses() throws {
        let path = String(#filePath.split(separator: "/Tests/").first!) + "/examples/socksify.conf"
        let text = try #require(Shim.readFile(path), "cannot read \(path)")
        switch RulesParser.parse(text, environment: { $0 == "CORP_PROXY_PASSWORD" ? "hunter2" : nil }) {
        case .failure(let problems):
            Issue.record("examples/socksify.conf: \(problems.diagnostics.map { $0.format(file: "socksify.conf") })")
        case .success(let set):
            #expect(set.proxies.map { HostName.string($0.name) } == ["corp", "tor", "backup"])
            #expect(set.proxies[0].spec.credentials?.password == ascii("hunter2"))
            #expect(set.rules.count == 5)
            #expect(Kit.action(set.defaultAction, set) == "block")
            #expect(set.options.connectTimeoutMilliseconds == 5000)
            #expect(set.options.failoverRetryMilliseconds == 60_000)
        }
        // Without the variable: it still parses (checks clean), with that one warning, and the
        // proxy says why it cannot be used.
        guard case .success(let set) = RulesParser.parse(text) else {
            Issue.record("the example must parse without CORP_PROXY_PASSWORD"); return
        }
        #expect(set.warnings.map(\.message) == ["environment variable CORP_PROXY_PASSWORD is not set"])
        #expect(set.proxies[0].missingSecret == "environment variable CORP_PROXY_PASSWORD is not set")
    }

    @Test func aMissingPasswordIsAWarningNotAnError() throws {
        let set = try Kit.rules("proxy a socks5://u@h:1 password-env PW\nproxy b http://u@h:2 password-file /no/such\ndefault failover a b")
        #expect(set.warnings.map(\.message) == ["environment variable PW is not set", "cannot read the password file '/no/such'"])
        #expect(set.warnings.map(\.column) == [37, 36])
        #expect(set.warnings[0].hint == "export PW=… before running socksify")
        #expect(set.proxies.map(\.missingSecret) == ["environment variable PW is not set", "cannot read the password file '/no/such'"])
        #expect(set.warnings[0].format(file: "f", warning: true) == "f:1:37: warning: environment variable PW is not set\n    hint: export PW=… before running socksify")
    }

    // MARK: every error, with line, column, message and hint

    struct Bad: Sendable, CustomTestStringConvertible {
        var text: String
        var line: Int
        var column: Int
        var message: String
        var hint: String
        var env: [String: String]
        var files: [String: [UInt8]]
        init(_ text: String, _ line: Int, _ column: Int, _ message: String, hint: String = "",
             env: [String: String] = [:], files: [String: [UInt8]] = [:]) {
            self.text = text; self.line = line; self.column = column; self.message = message; self.hint = hint
            self.env = env; self.files = files
        }
        var testDescription: String { text.replacingNewlines }
    }

    static let statementHint = "a line starts with proxy, rule, default or set"
    static let actionHint = "direct, block, via NAME, chain NAME NAME… or failover NAME NAME…"
    static let optionHint = "strict, proxy-loopback, connect-timeout, handshake-timeout or failover-retry"
    static let portHint = "a port is 1 to 65535; a range is 8000-8100"
    static let listHint = "separate items with single commas and no spaces: a,b,c"
    static let secondsHint = "e.g. 5 or 0.5, at most 86400"
    static let afterURLHint = "after the URL only 'password-env VARIABLE' or 'password-file PATH', and 'pipeline', may follow"
    static let long256 = String(repeating: "x", count: 256)

    static let badFiles: [Bad] = [
        // unknown statement
        Bad("\n  route app curl direct", 2, 3, "unknown statement 'route'", hint: statementHint),
        Bad("Rule direct", 1, 1, "unknown statement 'Rule'", hint: statementHint),
        Bad("\tbogus # comment", 1, 2, "unknown statement 'bogus'", hint: statementHint),
        // proxy without a URL
        Bad("proxy corp", 1, 1, "a proxy needs a name and a URL", hint: "proxy corp socks5://proxy.example:1080"),
        Bad("  proxy", 1, 3, "a proxy needs a name and a URL", hint: "proxy corp socks5://proxy.example:1080"),
        // bad proxy name
        Bad("proxy c.orp socks5://h:1", 1, 7, "invalid proxy name 'c.orp'", hint: "use letters, digits, '-' and '_'"),
        Bad("proxy " + String(repeating: "a", count: 65) + " socks5://h:1", 1, 7,
            "invalid proxy name '" + String(repeating: "a", count: 65) + "'", hint: "use letters, digits, '-' and '_'"),
        // duplicate proxy
        Bad("proxy a socks5://h:1\nproxy a socks5://h:2", 2, 7, "proxy 'a' is defined twice"),
        // bad URL: ProxyURL's own message, at the URL's column, the password never shown
        Bad("proxy a ftp://127.0.0.1:1", 1, 9,
            "unsupported scheme 'ftp' in 'ftp://127.0.0.1:1': use socks5, socks5h, socks4, socks4a or http"),
        Bad("proxy a 127.0.0.1:1080", 1, 9, "'127.0.0.1:1080' is not a proxy URL: expected e.g. socks5://127.0.0.1:1080"),
        Bad("proxy a socks5://u:secret@h:0", 1, 9, "invalid port '0' in 'socks5://u:****@h:0': expected 1 to 65535"),
        // extra tokens after the URL
        Bad("proxy a socks5://h:1 extra", 1, 22, "unexpected 'extra'", hint: afterURLHint),
        Bad("proxy a socks5://u@h:1 password-env PW extra", 1, 40, "unexpected 'extra'", hint: afterURLHint, env: ["PW": "x"]),
        Bad("proxy a socks5://u@h:1 password-cmd X", 1, 24, "unexpected 'password-cmd'", hint: afterURLHint),
        Bad("proxy a socks5://h:1 password-cmd X", 1, 22, "unexpected 'password-cmd'", hint: afterURLHint),
        Bad("proxy a socks5://u@h:1 password-env", 1, 24, "'password-env' needs a value", hint: "password-env VARIABLE"),
        Bad("proxy a socks5://u@h:1 pipeline password-file", 1, 33, "'password-file' needs a value", hint: "password-file PATH"),
        Bad("proxy a socks5://u@h:1 password-env PW password-file /pw", 1, 40, "a second password source",
            hint: "give either password-env VARIABLE or password-file PATH", env: ["PW": "x"], files: ["/pw": ascii("x")]),
        // pipeline: a word without a value, once, and not with the URL's own ?pipeline=
        Bad("proxy a socks5://h:1 pipeline pipeline", 1, 31, "'pipeline' appears twice"),
        Bad("proxy a socks5://h:1 pipeline=1", 1, 22, "unexpected 'pipeline=1'", hint: afterURLHint),
        Bad("proxy a socks5://h:1 pipeline yes", 1, 31, "unexpected 'yes'", hint: afterURLHint),
        Bad("proxy a socks5://h:1 Pipeline", 1, 22, "unexpected 'Pipeline'", hint: afterURLHint),
        Bad("proxy a socks5://h:1?pipeline=0 pipeline", 1, 33, "the URL already says ?pipeline=: say it once",
            hint: "drop the URL's ?pipeline=… or the word pipeline"),
        Bad("proxy a socks5://h:1?pipeline=1 pipeline", 1, 33, "the URL already says ?pipeline=: say it once",
            hint: "drop the URL's ?pipeline=… or the word pipeline"),
        Bad("\n\nproxy a socks5://h:1?pipeline=on", 3, 9,
            "pipeline takes 1 or 0 in 'socks5://h:1?pipeline=on', e.g. socks5://127.0.0.1:1080?pipeline=1"),
        // SOCKS4 has no password (as ProxyURL refuses socks4://user:PASS@)
        Bad("proxy a socks4://u@h:1 password-env PW", 1, 24, "SOCKS4 has no password, so password-env has nothing to set",
            hint: "use a socks5://, socks5h:// or http:// proxy, or drop password-env", env: ["PW": "x"]),
        Bad("proxy a socks4a://u@h:1 password-file /pw", 1, 25, "SOCKS4 has no password, so password-file has nothing to set",
            hint: "use a socks5://, socks5h:// or http:// proxy, or drop password-file", files: ["/pw": ascii("x")]),
        // password-env / password-file need a user and no password in the URL
        Bad("proxy a socks5://h:1 password-env PW", 1, 22, "password-env needs a URL with a user and no password",
            hint: "socks5://alice@proxy.example:1080 password-env …", env: ["PW": "x"]),
        Bad("proxy a socks5://u:p@h:1 password-env PW", 1, 26, "password-env needs a URL with a user and no password",
            hint: "socks5://alice@proxy.example:1080 password-env …", env: ["PW": "x"]),
        Bad("proxy a socks5://h:1 password-file /pw", 1, 22, "password-file needs a URL with a user and no password",
            hint: "socks5://alice@proxy.example:1080 password-file …", files: ["/pw": ascii("x")]),
        Bad("proxy a socks5://u:p@h:1 password-file /pw", 1, 26, "password-file needs a URL with a user and no password",
            hint: "socks5://alice@proxy.example:1080 password-file …", files: ["/pw": ascii("x")]),
        // too long (an unset variable or unreadable file is a warning: aMissingPasswordIsAWarningNotAnError)
        Bad("proxy a socks5://u@h:1 password-env PW", 1, 37, "the password is longer than 255 bytes (RFC 1929)",
            env: ["PW": long256]),
        Bad("proxy a socks5://u@h:1 password-file /pw", 1, 38, "the password is longer than 255 bytes (RFC 1929)",
            files: ["/pw": ascii(long256 + "\n")]),
        // a condition keyword twice, or without a value
        Bad("rule app a to b app c direct", 1, 17, "'app' appears twice in one rule", hint: "put all values in one comma-separated list"),
        Bad("rule port 1 port 2 direct", 1, 13, "'port' appears twice in one rule", hint: "put all values in one comma-separated list"),
        Bad("rule to", 1, 6, "'to' needs a value"),
        Bad("rule app curl port", 1, 15, "'port' needs a value"),
        // no action
        Bad("rule", 1, 5, "the rule has no action", hint: "end it with " + actionHint),
        Bad("rule app curl", 1, 14, "the rule has no action", hint: "end it with " + actionHint),
        Bad("rule app direct", 1, 16, "the rule has no action", hint: "end it with " + actionHint),
        // empty list items
        Bad("rule app a,,b direct", 1, 12, "empty item in the list 'a,,b'", hint: listHint),
        Bad("rule to ,x direct", 1, 9, "empty item in the list ',x'", hint: listHint),
        Bad("rule port 80, direct", 1, 14, "empty item in the list '80,'", hint: listHint),
        // networks
        Bad("rule to 10.0.0/8 direct", 1, 9, "'10.0.0' is not an IP address", hint: "a network is written 10.0.0.0/8 or fd00::/8"),
        Bad("rule to a.com,/8 direct", 1, 15, "'' is not an IP address", hint: "a network is written 10.0.0.0/8 or fd00::/8"),
        Bad("rule to 10.0.0.0/33 direct", 1, 18, "invalid prefix length '33'", hint: "0 to 32"),
        Bad("rule to 10.0.0.0/ direct", 1, 18, "invalid prefix length ''", hint: "0 to 32"),
        Bad("rule to 10.0.0.0/x8 direct", 1, 18, "invalid prefix length 'x8'", hint: "0 to 32"),
        Bad("rule to fd00::/129 direct", 1, 16, "invalid prefix length '129'", hint: "0 to 128"),
        // host names
        Bad("rule to ex!ample.com direct", 1, 9, "'ex!ample.com' is not a host name, address or network",
            hint: "examples: example.com, *.example.com, 192.0.2.7, 10.0.0.0/8, 2001:db8::/32, *"),
        Bad("rule to a.com,b..com direct", 1, 15, "'b..com' is not a host name, address or network",
            hint: "examples: example.com, *.example.com, 192.0.2.7, 10.0.0.0/8, 2001:db8::/32, *"),
        Bad("rule to *. direct", 1, 9, "'*.' is not a host name, address or network",
            hint: "examples: example.com, *.example.com, 192.0.2.7, 10.0.0.0/8, 2001:db8::/32, *"),
        Bad("rule to *.ex!ample direct", 1, 11, "'ex!ample' is not a host name"),
        // ports
        Bad("rule port 0 direct", 1, 11, "invalid port '0'", hint: portHint),
        Bad("rule port 65536 direct", 1, 11, "invalid port '65536'", hint: portHint),
        Bad("rule port http direct", 1, 11, "invalid port 'http'", hint: portHint),
        Bad("rule port 1-2-3 direct", 1, 11, "invalid port '1-2-3'", hint: portHint),
        Bad("rule port -5 direct", 1, 11, "invalid port '-5'", hint: portHint),
        Bad("rule port 5- direct", 1, 11, "invalid port '5-'", hint: portHint),
        Bad("rule port 22,0-80 direct", 1, 14, "invalid port '0-80'", hint: portHint),
        Bad("rule port 90-80 direct", 1, 11, "the range '90-80' ends before it starts"),
        Bad("rule port 22,443,9000-8000 direct", 1, 18, "the range '9000-8000' ends before it starts"),
        // unknown action
        Bad("rule app curl proxy corp", 1, 15, "unknown action 'proxy'", hint: actionHint),
        Bad("default drop", 1, 9, "unknown action 'drop'", hint: actionHint),
        // via with 0 or 2 names; chain and failover with fewer than 2
        Bad("rule via", 1, 6, "via takes exactly one proxy name", hint: "via NAME"),
        Bad("proxy a socks5://h:1\nproxy b socks5://h:2\nrule via a b", 3, 6, "via takes exactly one proxy name",
            hint: "for several proxies use chain (through each in turn) or failover (the first that works)"),
        Bad("default via", 1, 9, "via takes exactly one proxy name", hint: "via NAME"),
        Bad("proxy a socks5://h:1\nrule chain a", 2, 6, "chain takes two or more proxy names", hint: "with one proxy, write via NAME"),
        Bad("proxy a socks5://h:1\nrule failover a", 2, 6, "failover takes two or more proxy names", hint: "with one proxy, write via NAME"),
        Bad("default chain", 1, 9, "chain takes two or more proxy names", hint: "with one proxy, write via NAME"),
        // nothing after direct or block
        Bad("rule direct now", 1, 13, "nothing may follow 'direct'"),
        Bad("default block all", 1, 15, "nothing may follow 'block'"),
        // undefined proxies: the hint lists the defined ones
        Bad("proxy a socks5://h:1\nproxy b socks5://h:2\nrule app x via c", 3, 16, "no proxy named 'c'", hint: "defined proxies: a, b"),
        Bad("default via tor", 1, 13, "no proxy named 'tor'", hint: "define it with: proxy tor socks5://HOST:PORT"),
        Bad("proxy a socks5://h:1\nrule failover a A", 2, 17, "no proxy named 'A'", hint: "defined proxies: a"),
        // default
        Bad("default direct\n\ndefault block", 3, 1, "a second default (the first is on line 1)"),
        Bad("default", 1, 1, "default needs an action", hint: "default direct, default block or default via NAME"),
        // set
        Bad("set", 1, 1, "set needs an option", hint: optionHint),
        Bad("set verbose", 1, 5, "unknown option 'verbose'", hint: optionHint),
        Bad("set strict yes", 1, 12, "'strict' takes no value"),
        Bad("set proxy-loopback on", 1, 20, "'proxy-loopback' takes no value"),
        Bad("set connect-timeout", 1, 5, "'connect-timeout' takes one value in seconds", hint: "set connect-timeout 10"),
        Bad("set failover-retry 1 2", 1, 5, "'failover-retry' takes one value in seconds", hint: "set failover-retry 10"),
        Bad("set handshake-timeout abc", 1, 23, "'abc' is not a number of seconds", hint: secondsHint),
    ]

    @Test(arguments: badFiles)
    func reportsEachProblem(_ bad: Bad) {
        let found = Kit.problems(bad.text, env: bad.env, files: bad.files)
        #expect(found.count == 1, "exactly one problem: \(found.map { $0.format(file: "f") })")
        guard let problem = found.first else { return }
        #expect(problem.line == bad.line)
        #expect(problem.column == bad.column)
        #expect(problem.message == bad.message)
        #expect(problem.hint == bad.hint)
    }

    @Test(arguments: ["0", "0.0001", "86401", "86400.001", "1.", ".5", "1.2.3", "-1", "1e3", "1234567", "5s", "1,5",
                         "1.123abc", "2.0005x", "1.5.", "1.-5"])  // every digit after the point is checked
    func badSeconds(_ text: String) {
        let found = Kit.problems("set failover-retry " + text)
        #expect(found.map(\.message) == ["'" + text + "' is not a number of seconds"])
        #expect(found.first?.column == 20)
        #expect(found.first?.hint == Self.secondsHint)
    }

    @Test func aProblemAndItsHintFormatForTheTerminal() {
        let found = Kit.problems("rule via nowhere")
        #expect(found.first?.format(file: "/etc/socksify.conf") ==
            "/etc/socksify.conf:1:10: error: no proxy named 'nowhere'\n    hint: define it with: proxy nowhere socks5://HOST:PORT")
        let noHint = Kit.problems("default direct\ndefault block")
        #expect(noHint.first?.format(file: "f") == "f:2:1: error: a second default (the first is on line 1)")
    }

    // MARK: several problems

    @Test func everyProblemIsReportedSortedByLineAndColumn() {
        let found = Kit.problems("""
            rule via nowhere
            frobnicate
            rule port 0 direct
            set strict yes
            rule chain x y
            default direct
            default block
            proxy ok socks5://h:1
            """)
        #expect(found.map { [$0.line, $0.column] } == [[1, 10], [2, 1], [3, 11], [4, 12], [5, 12], [5, 14], [7, 1]])
        #expect(found.map(\.message) == [
            "no proxy named 'nowhere'", "unknown statement 'frobnicate'", "invalid port '0'", "'strict' takes no value",
            "no proxy named 'x'", "no proxy named 'y'", "a second default (the first is on line 6)",
        ])
        #expect(found[0].hint == "defined proxies: ok", "the hint lists proxies defined anywhere in the file")
    }

    @Test func aBrokenProxyIsReportedOnceNotAtEveryUse() {
        let found = Kit.problems("""
            proxy a socks5://u@h:1 password-env PW extra
            rule app curl via a
            rule to 10.0.0.0/8 chain a b
            default failover b a
            proxy b socks5://h:1
            proxy c ftp://h:1
            rule via c
            """)
        #expect(found.map(\.line) == [1, 6])
        #expect(found.map(\.message) == [
            "unexpected 'extra'",
            "unsupported scheme 'ftp' in 'ftp://h:1': use socks5, socks5h, socks4, socks4a or http",
        ])
    }

    @Test func aBrokenProxyDefinedAgainIsStillATwiceDefinedProxy() {
        let found = Kit.problems("proxy a ftp://h\nproxy a socks5://h:1\nrule via a")
        #expect(found.map(\.line) == [1, 2])
        #expect(found.last?.message == "proxy 'a' is defined twice")
    }

    @Test func aBadLineDoesNotHideTheNextOnes() {
        let found = Kit.problems("rule port 0 to x.y direct\nrule to x..y port 1 direct\nrule app a,b,,c block\nrule block")
        #expect(found.map(\.line) == [1, 2, 3])
    }
}

extension String {
    fileprivate var replacingNewlines: String {
        var out = ""
        for c in self { out += c == "\n" ? "⏎" : (c == "\t" ? "⇥" : String(c)) }
        return out
    }
}
