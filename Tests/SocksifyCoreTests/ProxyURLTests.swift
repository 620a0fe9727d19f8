import Testing
@testable import SocksifyCore

@Suite struct ProxyURLTests {
    struct Good: Sendable, CustomTestStringConvertible {
        var url: String
        var expected: ProxySpec
        init(_ url: String, _ proto: ProxyProtocol, _ host: String, _ port: UInt16, user: [UInt8]? = nil, password: [UInt8] = [],
             pipeline: Bool = false) {
            self.url = url
            expected = ProxySpec(proto: proto, host: host, port: port,
                                 credentials: user.map { ProxyCredentials(username: $0, password: password) }, pipeline: pipeline)
        }
        var testDescription: String { url }
    }

    static let goodForms: [Good] = [
        // every scheme
        Good("socks5://127.0.0.1:1080", .socks5, "127.0.0.1", 1080),
        Good("socks5h://proxy.example.com:9050", .socks5h, "proxy.example.com", 9050),
        Good("socks4://10.0.0.1:1081", .socks4, "10.0.0.1", 1081),
        Good("socks4a://proxy:1082", .socks4a, "proxy", 1082),
        Good("http://proxy.corp:3128", .http, "proxy.corp", 3128),
        Good("HTTP://[::1]:8080/", .http, "::1", 8080),
        Good("http://u:p%40ss:w@proxy", .http, "proxy", 1080, user: ascii("u"), password: ascii("p@ss:w")),
        // default port
        Good("socks5://127.0.0.1", .socks5, "127.0.0.1", 1080),
        Good("socks5h://localhost", .socks5h, "localhost", 1080),
        Good("socks4://proxy", .socks4, "proxy", 1080),
        Good("socks4a://[::1]", .socks4a, "::1", 1080),
        // ports at the edges, leading zeros
        Good("socks5://h:1", .socks5, "h", 1),
        Good("socks5://h:65535", .socks5, "h", 65535),
        Good("socks5://h:01080", .socks5, "h", 1080),
        // credentials
        Good("socks5://user:pass@host:1", .socks5, "host", 1, user: ascii("user"), password: ascii("pass")),
        Good("socks5h://user@host", .socks5h, "host", 1080, user: ascii("user")),
        Good("socks5://user:@host", .socks5, "host", 1080, user: ascii("user")),
        Good("socks5://a:b:c@host", .socks5, "host", 1080, user: ascii("a"), password: ascii("b:c")),
        Good("socks5://u:p@ss@host", .socks5, "host", 1080, user: ascii("u"), password: ascii("p@ss")),
        Good("socks4://alice@host:1080", .socks4, "host", 1080, user: ascii("alice")),
        Good("socks4a://alice@host", .socks4a, "host", 1080, user: ascii("alice")),
        // %-encoded credentials
        Good("socks5://us%40er:p%3Aa%2Fss%25@host", .socks5, "host", 1080, user: ascii("us@er"), password: ascii("p:a/ss%")),
        Good("socks5://%41%62c:%3f%3F%23@host", .socks5, "host", 1080, user: ascii("Abc"), password: ascii("??#")),
        Good("socks5://%E2%9C%93:%ff%00@host", .socks5, "host", 1080, user: [0xE2, 0x9C, 0x93], password: [0xFF, 0x00]),
        Good("socks4://%61lice@host", .socks4, "host", 1080, user: ascii("alice")),
        // IPv6 in brackets
        Good("socks5://[::1]:1080", .socks5, "::1", 1080),
        Good("socks5://[2001:db8::1]", .socks5, "2001:db8::1", 1080),
        Good("socks5h://user:pw@[fe80::1]:9999", .socks5h, "fe80::1", 9999, user: ascii("user"), password: ascii("pw")),
        Good("socks5://[::ffff:1.2.3.4]:1", .socks5, "::ffff:1.2.3.4", 1),
        // uppercase scheme (the host keeps its case)
        Good("SOCKS5://Proxy.Example:1080", .socks5, "Proxy.Example", 1080),
        Good("Socks5H://h", .socks5h, "h", 1080),
        Good("SOCKS4://h", .socks4, "h", 1080),
        Good("SOCKS4A://h", .socks4a, "h", 1080),
        // trailing slash
        Good("socks5://host:1080/", .socks5, "host", 1080),
        Good("socks5://host/", .socks5, "host", 1080),
        Good("socks5://[::1]:1080/", .socks5, "::1", 1080),
        Good("socks5://[::1]/", .socks5, "::1", 1080),
        // host characters
        Good("socks5://my-proxy_1.internal:8", .socks5, "my-proxy_1.internal", 8),
        // the one query parameter
        Good("socks5://127.0.0.1:1080?pipeline=1", .socks5, "127.0.0.1", 1080, pipeline: true),
        Good("socks5://127.0.0.1:1080/?pipeline=1", .socks5, "127.0.0.1", 1080, pipeline: true),
        Good("socks5h://u:p@h?pipeline=1", .socks5h, "h", 1080, user: ascii("u"), password: ascii("p"), pipeline: true),
        Good("socks5://[::1]:9?pipeline=1", .socks5, "::1", 9, pipeline: true),
        Good("socks5://h?pipeline=0", .socks5, "h", 1080),
        Good("socks5://u:p%3Fx@h?pipeline=1", .socks5, "h", 1080, user: ascii("u"), password: ascii("p?x"), pipeline: true),
        // accepted on SOCKS4, where it changes nothing (one message)
        Good("socks4a://h?pipeline=1", .socks4a, "h", 1080, pipeline: true),
    ]

    @Test(arguments: goodForms)
    func goodForm(_ row: Good) throws {
        #expect(try ProxyURL.parse(row.url) == row.expected)
    }

    @Test func defaultPortIs1080() {
        #expect(ProxyURL.defaultPort == 1080)
    }

    @Test func longestCredentialsAreAccepted() throws {
        let user = String(repeating: "u", count: 255)
        let pass = String(repeating: "p", count: 255)
        let spec = try ProxyURL.parse("socks5://" + user + ":" + pass + "@h")
        #expect(spec.credentials == ProxyCredentials(username: ascii(user), password: ascii(pass)))
    }

    @Test func credentialLengthIsCountedAfterDecoding() throws {
        // 255 escapes are 765 characters but 255 bytes.
        let user = String(repeating: "%41", count: 255)
        let spec = try ProxyURL.parse("socks5://" + user + "@h")
        #expect(spec.credentials?.username == [UInt8](repeating: 0x41, count: 255))
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        var url: String
        var message: String
        init(_ url: String, _ message: String) { self.url = url; self.message = message }
        var testDescription: String { url.count > 60 ? String(url.prefix(60)) + "…" : url }
    }

    static func notAURL(_ url: String) -> Bad {
        Bad(url, "'" + url + "' is not a proxy URL: expected e.g. socks5://127.0.0.1:1080")
    }
    /// Messages show the URL with its password as ****.
    static func shown(_ url: String) -> String { ProxyURL.redacted(Array(url.utf8)) }
    static func scheme(_ url: String, _ scheme: String) -> Bad {
        Bad(url, "unsupported scheme '" + scheme + "' in '" + shown(url) + "': use socks5, socks5h, socks4, socks4a or http")
    }
    static func noHost(_ url: String) -> Bad { Bad(url, "no proxy host in '" + shown(url) + "'") }
    static func port(_ url: String, _ port: String) -> Bad {
        Bad(url, "invalid port '" + port + "' in '" + shown(url) + "': expected 1 to 65535")
    }
    static let unbracketed = "put an IPv6 proxy address in brackets: socks5://[::1]:1080"
    static func noBracket(_ url: String) -> Bad { Bad(url, "missing ']' after the IPv6 address in '" + shown(url) + "'") }
    static func path(_ url: String) -> Bad { Bad(url, "a proxy URL has no path, and no query but ?pipeline=1: '" + shown(url) + "'") }
    static func parameter(_ url: String, _ name: String) -> Bad {
        Bad(url, "unknown parameter '" + name + "' in '" + shown(url) + "': the only one is pipeline=1 (or pipeline=0)")
    }
    static func pipelineValue(_ url: String) -> Bad {
        Bad(url, "pipeline takes 1 or 0 in '" + shown(url) + "', e.g. socks5://127.0.0.1:1080?pipeline=1")
    }
    static func socks4Password(_ url: String) -> Bad {
        Bad(url, "SOCKS4 has a user id but no password: drop ':PASSWORD' from '" + shown(url) + "'")
    }
    static func emptyUser(_ url: String) -> Bad { Bad(url, "empty user name in '" + shown(url) + "'") }
    static func badEscape(_ url: String) -> Bad { Bad(url, "bad %-escape in the credentials of '" + shown(url) + "'") }
    static let tooLong = "user name and password are limited to 255 bytes each (RFC 1929)"

    static let badForms: [Bad] = [
        // no scheme
        notAURL("127.0.0.1:1080"),
        notAURL(""),
        notAURL("proxy"),
        notAURL("socks5:/proxy:1080"),
        notAURL("socks5:proxy"),
        // unknown scheme
        scheme("ftp://proxy:8080", "ftp"),
        Bad("HTTPS://proxy", "https:// proxies (TLS to the proxy) are not supported in 'HTTPS://proxy': use http:// for an HTTP CONNECT proxy"),
        scheme("socks://proxy", "socks"),
        scheme("socks6://proxy", "socks6"),
        scheme("socks5x://proxy", "socks5x"),
        scheme("://proxy", ""),
        scheme(" socks5://proxy", " socks5"),
        // empty host
        noHost("socks5://"),
        noHost("socks5:///"),
        noHost("socks5://:1080"),
        noHost("socks5://user@"),
        noHost("socks5://user:pass@:1080"),
        // bad port
        port("socks5://h:0", "0"),
        port("socks5://h:65536", "65536"),
        port("socks5://h:abc", "abc"),
        port("socks5://h:", ""),
        port("socks5://h:-1", "-1"),
        port("socks5://h:+80", "+80"),
        port("socks5://h:100000", "100000"),
        port("socks5://h:000080", "000080"),
        port("socks5://h:99999", "99999"),
        port("socks5://[::1]:0", "0"),
        port("socks5://[::1]:", ""),
        port("socks5://[::1]:65536", "65536"),
        // unbracketed IPv6
        Bad("socks5://::1", unbracketed),
        Bad("socks5://::1:1080", unbracketed),
        Bad("socks5://2001:db8::1", unbracketed),
        Bad("socks5://fe80::1:1080", unbracketed),
        Bad("socks5://user:pw@2001:db8::1", unbracketed),
        // missing ']'
        noBracket("socks5://[::1"),
        noBracket("socks5://[::1:1080"),
        noBracket("socks5://["),
        // other bracket trouble
        Bad("socks5://[::1]1080", "unexpected text after ']' in 'socks5://[::1]1080'"),
        Bad("socks5://[::1]]", "unexpected text after ']' in 'socks5://[::1]]'"),
        Bad("socks5://[1.2.3.4]:1080", "'1.2.3.4' in brackets is not an IPv6 address"),
        Bad("socks5://[proxy]:1080", "'proxy' in brackets is not an IPv6 address"),
        Bad("socks5://[]:1080", "'' in brackets is not an IPv6 address"),
        // path or query
        path("socks5://h:1080/path"),
        path("socks5://h/x/"),
        path("socks5://h:1080//"),
        path("socks5://h#frag"),
        path("socks5://user:pa/ss@h"),
        path("socks5://h/x?pipeline=1"),
        path("socks5://h?x@y"),  // '?' before the last '@': not a query, and not a host either
        path("socks5://u:a?b@h"),  // a '?' in a password is %3F, as before; never read as a query
        // bad query
        parameter("socks5://h?x=1", "x"),
        parameter("socks5://h?Pipeline=1", "Pipeline"),
        parameter("socks5://u:pw@h?pipeline=1&x", "x"),
        Bad("socks5://h:1080/?", "empty query parameter in 'socks5://h:1080/?': the only one is pipeline=1 (or pipeline=0)"),
        Bad("socks5://h?pipeline=1&", "empty query parameter in 'socks5://h?pipeline=1&': the only one is pipeline=1 (or pipeline=0)"),
        pipelineValue("socks5://h?pipeline"),
        pipelineValue("socks5://h?pipeline="),
        pipelineValue("socks5://h?pipeline=yes"),
        pipelineValue("socks5://h?pipeline=2"),
        pipelineValue("socks5://u:hunter2@h?pipeline=11"),
        Bad("socks5://h?pipeline=1&pipeline=0", "pipeline is given twice in 'socks5://h?pipeline=1&pipeline=0'"),
        // SOCKS4 with a password
        socks4Password("socks4://user:pass@h"),
        socks4Password("socks4a://user:pass@h"),
        socks4Password("socks4://user:@h"),
        socks4Password("SOCKS4A://user:p@h:1080"),
        // empty user
        emptyUser("socks5://:pass@h"),
        emptyUser("socks5://@h"),
        emptyUser("socks5://:@h"),
        emptyUser("socks4://@h"),
        // bad %-escape
        badEscape("socks5://us%zzer:p@h"),
        badEscape("socks5://user:p%4@h"),
        badEscape("socks5://user%@h"),
        badEscape("socks5://u:%G0@h"),
        badEscape("socks5://u:%0g@h"),
        badEscape("socks5://u:ab%@h"),
        // credentials over 255 bytes
        Bad("socks5://" + String(repeating: "u", count: 256) + "@h", tooLong),
        Bad("socks5://" + String(repeating: "u", count: 256) + ":pw@h", tooLong),
        Bad("socks5://user:" + String(repeating: "p", count: 256) + "@h", tooLong),
        Bad("socks5://" + String(repeating: "%41", count: 256) + "@h", tooLong),
        Bad("socks4://" + String(repeating: "u", count: 256) + "@h", tooLong),
        // characters a host cannot have
        Bad("socks5://pro xy:1080", "invalid character in proxy host 'pro xy'"),
        Bad("socks5://pro\u{0}xy", "invalid character in proxy host 'pro\u{0}xy'"),
    ]

    @Test(arguments: badForms)
    func badForm(_ row: Bad) {
        #expect(throws: ProxyURLError(row.message)) { try ProxyURL.parse(row.url) }
    }

    @Test func errorCarriesItsMessage() {
        #expect(ProxyURLError("x").message == "x")
    }

    /// Both the shim (Shim.init: "cannot follow its configuration: ...") and the launcher print
    /// these messages on stderr. Regression: every message used to quote the URL with its password.
    @Test(arguments: [
        "socks5://user:hunter2@h:0",
        "socks5://user:hunter2@h/path",
        "ftp://user:hunter2@h",
        "socks4://user:hunter2@h",
        "socks5://user:hunter2@[::1",
        "socks5://user:hunter2@",
        "socks5://user:hunter2%zz@h",
        "socks5://user:hunter2@h?pipeline=yes",
        "socks5://user:hunt?er2@h?x",
        "socks5://user:hunter2?@h:0",
    ])
    func errorMessagesDoNotRevealThePassword(url: String) throws {
        let error = #expect(throws: ProxyURLError.self) { try ProxyURL.parse(url) }
        let message = try #require(error).message
        #expect(!message.contains("hunter2"))
    }

    @Test func passwordIsShownAsStars() {
        #expect(throws: ProxyURLError("SOCKS4 has a user id but no password: drop ':PASSWORD' from 'socks4://user:****@h'")) {
            try ProxyURL.parse("socks4://user:hunter2@h")
        }
        #expect(throws: ProxyURLError("invalid port '0' in 'socks5://u:****@[::1]:0': expected 1 to 65535")) {
            try ProxyURL.parse("socks5://u:p%40ss@[::1]:0")
        }
    }

    @Test(arguments: [
        ("socks5://user:pw@h:1080", "socks5://user:****@h:1080"),
        ("socks5://user:@h", "socks5://user:****@h"),
        ("socks5://u:p@ss@h", "socks5://u:****@h"),
        ("SOCKS5H://a:b:c@[::1]:1", "SOCKS5H://a:****@[::1]:1"),
        ("socks5://user@h:1080", "socks5://user@h:1080"),
        ("socks5://h:1080", "socks5://h:1080"),
        ("socks5://h", "socks5://h"),
        ("", ""),
    ] as [(String, String)])
    func redacted(url: String, shown: String) {
        #expect(ProxyURL.redacted(ascii(url)) == shown)
    }

    /// `redacted` (Config/ProxyURL.swift:92-95) only hides a password after a "://": a URL typed
    /// without its scheme, or with "socks5:/", is quoted whole in "is not a proxy URL", password
    /// and all, and that message is printed by the launcher and logged by the shim.
    @Test(arguments: ["user:hunter2@127.0.0.1:1080", "socks5:/user:hunter2@h:1080", "socks5:user:hunter2@h"])
    func schemelessURLDoesNotRevealThePassword(url: String) throws {
        let error = #expect(throws: ProxyURLError.self) { try ProxyURL.parse(url) }
        let message = try #require(error).message
        #expect(!message.contains("hunter2"))
    }

    // MARK: helpers

    @Test func parsePortHelper() {
        #expect(ProxyURL.parsePort(ascii("1")) == 1)
        #expect(ProxyURL.parsePort(ascii("65535")) == 65535)
        #expect(ProxyURL.parsePort(ascii("0")) == nil)
        #expect(ProxyURL.parsePort(ascii("65536")) == nil)
        #expect(ProxyURL.parsePort([]) == nil)
        #expect(ProxyURL.parsePort(ascii("123456")) == nil)
        #expect(ProxyURL.parsePort(ascii("1a")) == nil)
    }

    @Test func percentDecodedHelper() throws {
        #expect(try ProxyURL.percentDecoded(ascii("a%20b%2fc%2F"), in: "") == ascii("a b/c/"))
        #expect(try ProxyURL.percentDecoded([], in: "") == [])
        #expect(throws: ProxyURLError("bad %-escape in the credentials of 'X'")) {
            try ProxyURL.percentDecoded(ascii("%2"), in: "X")
        }
    }
}
