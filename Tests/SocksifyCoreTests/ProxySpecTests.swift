import Testing
@testable import SocksifyCore

@Suite struct ProxySpecTests {
    @Test func schemes() {
        #expect(ProxyProtocol.socks5.scheme == "socks5")
        #expect(ProxyProtocol.socks5h.scheme == "socks5h")
        #expect(ProxyProtocol.socks4.scheme == "socks4")
        #expect(ProxyProtocol.socks4a.scheme == "socks4a")
    }

    @Test func dialects() {
        #expect(ProxyProtocol.socks5.isSocks5)
        #expect(ProxyProtocol.socks5h.isSocks5)
        #expect(!ProxyProtocol.socks4.isSocks5)
        #expect(!ProxyProtocol.socks4a.isSocks5)
    }

    @Test func whoResolvesNames() {
        #expect(!ProxyProtocol.socks5.resolvesRemotely)
        #expect(ProxyProtocol.socks5h.resolvesRemotely)
        #expect(!ProxyProtocol.socks4.resolvesRemotely)
        #expect(ProxyProtocol.socks4a.resolvesRemotely)
    }

    @Test func defaultsToNoCredentials() {
        #expect(ProxySpec(proto: .socks5, host: "h", port: 1).credentials == nil)
    }

    @Test func displayName() {
        #expect(ProxySpec(proto: .socks5, host: "127.0.0.1", port: 1080).displayName == "socks5 127.0.0.1:1080")
        #expect(ProxySpec(proto: .socks4a, host: "proxy.lan", port: 9).displayName == "socks4a proxy.lan:9")
        #expect(ProxySpec(proto: .socks5h, host: "::1", port: 1080).displayName == "socks5h [::1]:1080")
    }

    @Test func displayNameNeverShowsCredentials() throws {
        let spec = try ProxyURL.parse("socks5h://alice:hunter2@[2001:db8::1]:1080")
        #expect(spec.displayName == "socks5h [2001:db8::1]:1080")
        #expect(!spec.displayName.contains("hunter2"))
        #expect(!spec.displayName.contains("alice"))
    }

    @Test func schemeRoundTripsThroughTheParser() throws {
        for proto in [ProxyProtocol.socks5, .socks5h, .socks4, .socks4a] {
            #expect(try ProxyURL.parse(proto.scheme + "://h").proto == proto)
        }
    }
}
