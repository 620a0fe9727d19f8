import Testing
@testable import SocksifyCore

@Suite struct ProxyAddressTests {
    @Test func numericHosts() {
        #expect(ProxyAddress.resolve(ProxySpec(proto: .socks5, host: "127.0.0.1", port: 1080))
                == .success(Endpoint(ip("127.0.0.1"), port: 1080)))
        #expect(ProxyAddress.resolve(ProxySpec(proto: .socks5h, host: "::1", port: 9050))
                == .success(Endpoint(ip("::1"), port: 9050)))
        #expect(ProxyAddress.resolve(ProxySpec(proto: .socks4, host: "10.1.2.3", port: 1))
                == .success(Endpoint(ip("10.1.2.3"), port: 1)))
    }

    @Test func localhostThroughLibc() throws {
        let endpoint = try ProxyAddress.resolve(ProxySpec(proto: .socks5, host: "localhost", port: 1080)).get()
        #expect(endpoint.address.isLoopback)
        #expect(endpoint.port == 1080)
    }
}
