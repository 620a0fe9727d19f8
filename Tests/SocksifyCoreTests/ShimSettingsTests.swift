import Testing
@testable import SocksifyCore

@Suite struct ShimSettingsTests {
    static func settings(_ environment: [String: String]) -> ShimSettings {
        ShimSettings.fromEnvironment { environment[$0] }
    }

    @Test func variableNames() {
        #expect(ShimSettings.proxyVariable == "SOCKSIFY_PROXY")
        #expect(ShimSettings.verboseVariable == "SOCKSIFY_VERBOSE")
        #expect(ShimSettings.quietVariable == "SOCKSIFY_QUIET")
        #expect(ShimSettings.proxyLoopbackVariable == "SOCKSIFY_PROXY_LOOPBACK")
        #expect(ShimSettings.connectTimeoutVariable == "SOCKSIFY_CONNECT_TIMEOUT_MS")
        #expect(ShimSettings.handshakeTimeoutVariable == "SOCKSIFY_HANDSHAKE_TIMEOUT_MS")
        #expect(ShimSettings.strictVariable == "SOCKSIFY_STRICT")
        #expect(ShimSettings.pool4Variable == "SOCKSIFY_DNS_POOL4")
        #expect(ShimSettings.pool6Variable == "SOCKSIFY_DNS_POOL6")
        #expect(ShimSettings.nameMapVariable == "SOCKSIFY_DNS_MAP")
        #expect(ShimSettings.configVariable == "SOCKSIFY_CONFIG")
    }

    @Test func emptyEnvironment() {
        let s = Self.settings([:])
        #expect(s.proxy == .failure(ProxyURLError("SOCKSIFY_PROXY is not set")))
        #expect(!s.verbose)
        #expect(!s.quiet)
        #expect(!s.proxyLoopback)
        #expect(s.timeouts == .defaults)
        #expect(s.timeouts == Timeouts(connectMilliseconds: 10_000, handshakeMilliseconds: 30_000))
        #expect(!s.strict)
        #expect(s.pool == .standard)
        #expect(s.nameMap == .own)
        #expect(s.problems.isEmpty)
        #expect(s.configPath == nil)
        #expect(!s.connectTimeoutGiven)
        #expect(!s.handshakeTimeoutGiven)
    }

    // MARK: rules file

    @Test func configPathWithoutProxy() {
        let s = Self.settings(["SOCKSIFY_CONFIG": "/etc/socksify.rules"])
        #expect(s.configPath == "/etc/socksify.rules")
        #expect(s.proxy == .failure(ProxyURLError("SOCKSIFY_PROXY is not set")))
    }

    @Test func proxyOverridesTheRulesFile() {
        let s = Self.settings(["SOCKSIFY_CONFIG": "/etc/socksify.rules", "SOCKSIFY_PROXY": "socks5://h"])
        #expect(s.configPath == nil)
        #expect(s.proxy == .success(ProxySpec(proto: .socks5, host: "h", port: 1080)))
    }

    @Test func emptyProxyDoesNotOverrideTheRulesFile() {
        #expect(Self.settings(["SOCKSIFY_CONFIG": "/r", "SOCKSIFY_PROXY": ""]).configPath == "/r")
        #expect(Self.settings(["SOCKSIFY_CONFIG": ""]).configPath == nil)
    }

    @Test func badProxyStillOverridesTheRulesFile() {
        let s = Self.settings(["SOCKSIFY_CONFIG": "/r", "SOCKSIFY_PROXY": "ftp://h"])
        #expect(s.configPath == nil)
        #expect(s.proxy == .failure(ProxyURLError("unsupported scheme 'ftp' in 'ftp://h': use socks5, socks5h, socks4, socks4a or http")))
    }

    @Test func emptyProxyCountsAsNotSet() {
        #expect(Self.settings(["SOCKSIFY_PROXY": ""]).proxy == .failure(ProxyURLError("SOCKSIFY_PROXY is not set")))
    }

    @Test func asksOnlyForItsOwnVariables() {
        var asked: [String] = []
        _ = ShimSettings.fromEnvironment { asked.append($0); return nil }
        #expect(Set(asked) == [
            "SOCKSIFY_PROXY", "SOCKSIFY_VERBOSE", "SOCKSIFY_QUIET", "SOCKSIFY_PROXY_LOOPBACK",
            "SOCKSIFY_CONNECT_TIMEOUT_MS", "SOCKSIFY_HANDSHAKE_TIMEOUT_MS", "SOCKSIFY_STRICT",
            "SOCKSIFY_DNS_POOL4", "SOCKSIFY_DNS_POOL6", "SOCKSIFY_DNS_MAP", "SOCKSIFY_CONFIG", "SOCKSIFY_LOG",
        ])
    }

    @Test func goodProxy() {
        let s = Self.settings(["SOCKSIFY_PROXY": "socks5h://u:p@[::1]:9050"])
        let expected = ProxySpec(proto: .socks5h, host: "::1", port: 9050,
                                 credentials: ProxyCredentials(username: ascii("u"), password: ascii("p")))
        #expect(s.proxy == .success(expected))
    }

    @Test(arguments: ["127.0.0.1:1080", "ftp://proxy", "socks5://h:0", "socks4://u:p@h", "socks5://::1"])
    func badProxyKeepsTheParserMessage(url: String) {
        let s = Self.settings(["SOCKSIFY_PROXY": url])
        let expected: ProxyURLError
        do throws(ProxyURLError) {
            _ = try ProxyURL.parse(url)
            Issue.record("'\(url)' parsed")
            return
        } catch {
            expected = error
        }
        #expect(s.proxy == .failure(expected))
        // A bad proxy does not stop the other settings from being read.
        #expect(s.timeouts == .defaults)
    }

    // MARK: on/off switches

    enum Switch: String, CaseIterable, Sendable {
        case verbose = "SOCKSIFY_VERBOSE", quiet = "SOCKSIFY_QUIET", proxyLoopback = "SOCKSIFY_PROXY_LOOPBACK"
        case strict = "SOCKSIFY_STRICT"
        func read(_ s: ShimSettings) -> Bool {
            switch self {
            case .verbose: return s.verbose
            case .quiet: return s.quiet
            case .proxyLoopback: return s.proxyLoopback
            case .strict: return s.strict
            }
        }
    }

    static let onValues = ["1", "yes", "true", "on", "2", "YES", "True", "anything"]
    static let offValues = ["", "0", "no", "false"]

    @Test(arguments: Switch.allCases, onValues)
    func switchOn(_ which: Switch, value: String) {
        let s = Self.settings([which.rawValue: value])
        #expect(which.read(s))
        for other in Switch.allCases where other != which { #expect(!other.read(s), "\(other) stays off") }
    }

    @Test(arguments: Switch.allCases, offValues)
    func switchOff(_ which: Switch, value: String) {
        #expect(!which.read(Self.settings([which.rawValue: value])))
    }

    @Test func allSwitchesTogether() {
        let s = Self.settings(["SOCKSIFY_VERBOSE": "1", "SOCKSIFY_QUIET": "1", "SOCKSIFY_PROXY_LOOPBACK": "1", "SOCKSIFY_STRICT": "1"])
        #expect(s.verbose && s.quiet && s.proxyLoopback && s.strict)
    }

    @Test func isOnHelper() {
        #expect(!ShimSettings.isOn(nil))
        #expect(!ShimSettings.isOn(""))
        #expect(!ShimSettings.isOn("0"))
        #expect(!ShimSettings.isOn("no"))
        #expect(!ShimSettings.isOn("false"))
        #expect(ShimSettings.isOn("1"))
    }

    /// Regression: only "0", "no" and "false", case-sensitively, used to read as off, so
    /// SOCKSIFY_VERBOSE=off turned verbose logging on.
    @Test(arguments: ["off", "OFF", "No", "NO", "False", "FALSE"])
    func offLikeValuesAreOff(value: String) {
        #expect(!ShimSettings.isOn(value))
    }

    // MARK: timeouts

    static let goodTimeouts: [(String, Int)] = [
        ("1", 1), ("250", 250), ("2500", 2500), ("000000100", 100), ("86400000", 86_400_000),
    ]
    static let badTimeouts = [
        "", "0", "000", "-1", "abc", "1.5", " 100", "100 ", "1e3", "0x10", "+5", "10ms",
        "86400001", "99999999", "999999999", "1234567890", "99999999999999999999",
    ]

    @Test(arguments: goodTimeouts)
    func connectTimeout(text: String, milliseconds: Int) {
        let s = Self.settings(["SOCKSIFY_CONNECT_TIMEOUT_MS": text])
        #expect(s.timeouts.connectMilliseconds == milliseconds)
        #expect(s.timeouts.handshakeMilliseconds == Timeouts.defaults.handshakeMilliseconds)
        #expect(s.connectTimeoutGiven)
        #expect(!s.handshakeTimeoutGiven)
    }

    @Test(arguments: goodTimeouts)
    func handshakeTimeout(text: String, milliseconds: Int) {
        let s = Self.settings(["SOCKSIFY_HANDSHAKE_TIMEOUT_MS": text])
        #expect(s.timeouts.handshakeMilliseconds == milliseconds)
        #expect(s.timeouts.connectMilliseconds == Timeouts.defaults.connectMilliseconds)
        #expect(s.handshakeTimeoutGiven)
        #expect(!s.connectTimeoutGiven)
    }

    @Test(arguments: badTimeouts)
    func badTimeoutKeepsTheDefault(text: String) {
        let s = Self.settings(["SOCKSIFY_CONNECT_TIMEOUT_MS": text, "SOCKSIFY_HANDSHAKE_TIMEOUT_MS": text])
        #expect(s.timeouts == .defaults)
        #expect(!s.connectTimeoutGiven && !s.handshakeTimeoutGiven, "a value not understood counts as not given")
        #expect(ShimSettings.milliseconds(text) == nil)
    }

    @Test func bothTimeouts() {
        let s = Self.settings(["SOCKSIFY_CONNECT_TIMEOUT_MS": "500", "SOCKSIFY_HANDSHAKE_TIMEOUT_MS": "1500"])
        #expect(s.timeouts == Timeouts(connectMilliseconds: 500, handshakeMilliseconds: 1500))
    }

    @Test func millisecondsHelper() {
        #expect(ShimSettings.milliseconds(nil) == nil)
        #expect(ShimSettings.milliseconds("42") == 42)
        #expect(ShimSettings.milliseconds("86400000") == 86_400_000)
        #expect(ShimSettings.milliseconds("86400001") == nil)
    }

    // MARK: DNS pools and the name map

    @Test func ipv4Pool() {
        let s = Self.settings(["SOCKSIFY_DNS_POOL4": "10.64.0.0/10"])
        #expect(s.pool.ipv4Base == 0x0A40_0000)
        #expect(s.pool.ipv4PrefixLength == 10)
        #expect(s.pool.ipv6High == AddressPool.standard.ipv6High)
        #expect(s.problems.isEmpty)
    }

    @Test func ipv4PoolBaseIsMasked() {
        let s = Self.settings(["SOCKSIFY_DNS_POOL4": "10.1.2.3/16"])
        #expect(s.pool.ipv4Base == 0x0A01_0000)
        #expect(s.pool.ipv4PrefixLength == 16)
    }

    @Test func ipv6Pool() {
        let s = Self.settings(["SOCKSIFY_DNS_POOL6": "fd00:1:2:3::/96"])
        #expect(s.pool.ipv6High == 0xFD00_0001_0002_0003)
        #expect(s.pool.ipv6LowBase == 0)
        #expect(s.pool.ipv6PrefixLength == 96)
        #expect(s.pool.ipv4Base == AddressPool.standard.ipv4Base)
        #expect(s.problems.isEmpty)
    }

    @Test(arguments: ["10.0.0.0/7", "10.0.0.0/25", "10.0.0.0", "10.0.0.0/", "fd00::/64", "x/8", "10.0.0.0/8x", "10.0.0.0/0008"])
    func badIPv4PoolIsAProblemAndKeepsTheDefault(text: String) {
        let s = Self.settings(["SOCKSIFY_DNS_POOL4": text])
        #expect(s.pool == .standard)
        #expect(s.problems == ["SOCKSIFY_DNS_POOL4='" + text + "' is not an IPv4 range from /8 to /24"])
    }

    @Test(arguments: ["fd00::/63", "fd00::/121", "fd00::", "10.0.0.0/16", "::/", "zz::/64"])
    func badIPv6PoolIsAProblemAndKeepsTheDefault(text: String) {
        let s = Self.settings(["SOCKSIFY_DNS_POOL6": text])
        #expect(s.pool == .standard)
        #expect(s.problems == ["SOCKSIFY_DNS_POOL6='" + text + "' is not an IPv6 range from /64 to /120"])
    }

    @Test func emptyPoolsAreIgnored() {
        let s = Self.settings(["SOCKSIFY_DNS_POOL4": "", "SOCKSIFY_DNS_POOL6": ""])
        #expect(s.pool == .standard)
        #expect(s.problems.isEmpty)
    }

    @Test func bothPoolsBad() {
        let s = Self.settings(["SOCKSIFY_DNS_POOL4": "a", "SOCKSIFY_DNS_POOL6": "b"])
        #expect(s.problems.count == 2)
    }

    @Test func sharedNameMap() {
        #expect(Self.settings(["SOCKSIFY_DNS_MAP": "sysv:42:00000000deadbeef"]).nameMap
                == .shared(NameMapReference(segment: 42, token: 0xDEAD_BEEF)))
        #expect(Self.settings(["SOCKSIFY_DNS_MAP": ""]).nameMap == .own, "empty counts as not set")
    }

    /// A value the shim cannot use leaves it without any map (never one of its own), and is not
    /// one of the problems that fall back to a default.
    @Test(arguments: ["/dev/shm/socksify-names-123-ab", "sysv:42", "sysv:-1:00000000deadbeef", "sysv:42:0000000000000000"])
    func unusableNameMap(value: String) {
        let s = Self.settings(["SOCKSIFY_DNS_MAP": value])
        #expect(s.nameMap == .unusable("SOCKSIFY_DNS_MAP='\(value)' is not sysv:ID:TOKEN: set by another version of socksify?"))
        #expect(s.problems.isEmpty)
    }

    @Test func everythingAtOnce() {
        let s = Self.settings([
            "SOCKSIFY_PROXY": "socks4a://bob@proxy:1081",
            "SOCKSIFY_VERBOSE": "1",
            "SOCKSIFY_QUIET": "0",
            "SOCKSIFY_PROXY_LOOPBACK": "yes",
            "SOCKSIFY_CONNECT_TIMEOUT_MS": "750",
            "SOCKSIFY_HANDSHAKE_TIMEOUT_MS": "9000",
            "UNRELATED": "x",
        ])
        var expected = ShimSettings(proxy: .success(ProxySpec(proto: .socks4a, host: "proxy", port: 1081,
                                                                credentials: ProxyCredentials(username: ascii("bob"), password: []))))
        expected.verbose = true
        expected.proxyLoopback = true
        expected.timeouts = Timeouts(connectMilliseconds: 750, handshakeMilliseconds: 9000)
        expected.connectTimeoutGiven = true
        expected.handshakeTimeoutGiven = true
        #expect(s == expected)
    }
}
