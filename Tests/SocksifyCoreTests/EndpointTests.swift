import Testing
import SocksifyLibc
@testable import SocksifyCore

@Suite struct EndpointTests {
    static func ep(_ host: String, _ port: UInt16, scope: UInt32 = 0) -> Endpoint { Endpoint(ip(host), port: port, scopeID: scope) }

    @Test func text() {
        #expect(Self.ep("10.0.0.1", 80).text == "10.0.0.1:80")
        #expect(Self.ep("2001:db8::1", 443).text == "[2001:db8::1]:443")
        #expect(Self.ep("::ffff:1.2.3.4", 1).text == "[::ffff:1.2.3.4]:1")
        #expect(Self.ep("0.0.0.0", 0).text == "0.0.0.0:0")
        #expect(Self.ep("::", 65535).text == "[::]:65535")
    }

    @Test func family() {
        #expect(Self.ep("10.0.0.1", 80).family == AF_INET)
        #expect(Self.ep("::1", 80).family == AF_INET6)
        #expect(Self.ep("::ffff:10.0.0.1", 80).family == AF_INET6)
    }

    @Test func scopeDefaultsToZeroAndTakesPartInEquality() {
        #expect(Self.ep("fe80::1", 1).scopeID == 0)
        #expect(Self.ep("fe80::1", 1, scope: 2) != Self.ep("fe80::1", 1, scope: 3))
        #expect(Self.ep("fe80::1", 1, scope: 2) == Self.ep("fe80::1", 1, scope: 2))
    }

    // MARK: sockaddr

    @Test func ipv4SockaddrMatchesLibc() throws {
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = UInt16(8080).bigEndian
        sin.sin_addr.s_addr = UInt32(0xC0A8_0102).bigEndian  // 192.168.1.2
        let libc = withUnsafeBytes(of: sin) { Array($0) }
        let endpoint = Self.ep("192.168.1.2", 8080)
        #expect(libc.count == 16)
        #expect(endpoint.sockaddrBytes == libc)
        let read = try #require(withUnsafeBytes(of: sin) { Endpoint(sockaddr: $0.baseAddress!, length: $0.count) })
        #expect(read == endpoint)
    }

    @Test func ipv6SockaddrMatchesLibc() throws {
        var sin6 = sockaddr_in6()
        sin6.sin6_family = sa_family_t(AF_INET6)
        sin6.sin6_port = UInt16(443).bigEndian
        sin6.sin6_scope_id = 7
        let address = v6("fe80::1:2")
        withUnsafeMutableBytes(of: &sin6.sin6_addr) { raw in
            for (i, b) in address.bytes.enumerated() { raw[i] = b }
        }
        let libc = withUnsafeBytes(of: sin6) { Array($0) }
        let endpoint = Endpoint(.v6(address), port: 443, scopeID: 7)
        #expect(libc.count == 28)
        #expect(endpoint.sockaddrBytes == libc)
        let read = try #require(withUnsafeBytes(of: sin6) { Endpoint(sockaddr: $0.baseAddress!, length: $0.count) })
        #expect(read == endpoint)
    }

    static let roundTrips: [Endpoint] = [
        ep("0.0.0.0", 0), ep("127.0.0.1", 1080), ep("255.255.255.255", 65535), ep("10.1.2.3", 0x1234),
        ep("::", 0), ep("::1", 1080), ep("2001:db8::1", 443), ep("::ffff:1.2.3.4", 80),
        ep("fe80::1", 22, scope: 3), ep("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, scope: .max),
    ]

    @Test(arguments: roundTrips)
    func sockaddrRoundTrip(_ endpoint: Endpoint) throws {
        let bytes = endpoint.sockaddrBytes
        #expect(bytes.count == (endpoint.family == AF_INET ? 16 : 28))
        let read = try #require(bytes.withUnsafeBytes { Endpoint(sockaddr: $0.baseAddress!, length: $0.count) })
        #expect(read == endpoint)
    }

    @Test func readsFromALargerSockaddrStorage() throws {
        for endpoint in [Self.ep("10.0.0.1", 80), Self.ep("2001:db8::1", 443, scope: 1)] {
            var storage = [UInt8](repeating: 0xAA, count: MemoryLayout<sockaddr_storage>.size)
            for (i, b) in endpoint.sockaddrBytes.enumerated() { storage[i] = b }
            let read = try #require(storage.withUnsafeBytes { Endpoint(sockaddr: $0.baseAddress!, length: $0.count) })
            #expect(read == endpoint)
        }
    }

    @Test func portIsNetworkOrder() {
        let bytes = Self.ep("10.0.0.1", 0x1F90).sockaddrBytes
        #expect(bytes[2] == 0x1F)
        #expect(bytes[3] == 0x90)
        #expect(Array(bytes[4..<8]) == [10, 0, 0, 1])
        #expect(Array(bytes[8..<16]) == [UInt8](repeating: 0, count: 8))
    }

    @Test func ipv6FlowInfoIsZero() {
        let bytes = Self.ep("2001:db8::1", 1).sockaddrBytes
        #expect(Array(bytes[4..<8]) == [0, 0, 0, 0])
    }

    @Test func shortLengthIsNil() {
        let v4 = Self.ep("10.0.0.1", 80).sockaddrBytes
        let v6 = Self.ep("::1", 80).sockaddrBytes
        for length in [0, 1] {
            #expect(v4.withUnsafeBytes { Endpoint(sockaddr: $0.baseAddress!, length: length) } == nil)
        }
        // Lengths of at least 4 that are still too short for the family.
        for length in [4, 8, 15] {
            #expect(v4.withUnsafeBytes { Endpoint(sockaddr: $0.baseAddress!, length: length) } == nil, "AF_INET length \(length)")
        }
        for length in [4, 16, 23] {
            #expect(v6.withUnsafeBytes { Endpoint(sockaddr: $0.baseAddress!, length: length) } == nil, "AF_INET6 length \(length)")
        }
    }

    /// The kernel accepts the old 24-byte sockaddr_in6 (no scope id): so must we, or such a
    /// connect would never be looked at.
    @Test func shortIPv6WithoutScopeIsRead() {
        let v6 = Self.ep("2001:db8::1", 443).sockaddrBytes
        for length in [24, 27] {
            let read = v6.withUnsafeBytes { Endpoint(sockaddr: $0.baseAddress!, length: length) }
            #expect(read == Self.ep("2001:db8::1", 443), "AF_INET6 length \(length)")
            #expect(read?.scopeID == 0)
        }
    }

    @Test func otherFamiliesAreNil() {
        for family in [AF_UNIX, AF_UNSPEC, AF_PACKET, AF_NETLINK] {
            var bytes = [UInt8](repeating: 0, count: 128)
            withUnsafeBytes(of: UInt16(family)) { bytes[0] = $0[0]; bytes[1] = $0[1] }
            #expect(bytes.withUnsafeBytes { Endpoint(sockaddr: $0.baseAddress!, length: $0.count) } == nil, "family \(family)")
        }
    }

    /// Regression: the port (bytes 2 and 3) was read before any length check beyond 2, so a
    /// length of 2 or 3, which connect(2) can be handed, read past the caller's buffer (a trap in
    /// a debug build). Run in a child process so a regression fails this test, not the run.
    @Test(arguments: [2, 3])
    func lengthTwoOrThreeIsNilWithoutReadingPastTheBuffer(length: Int) async {
        await #expect(processExitsWith: .success) { [length] in
            let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: 4, alignment: 8)
            bytes.initializeMemory(as: UInt8.self, repeating: 0)
            bytes.storeBytes(of: UInt16(AF_INET), as: UInt16.self)
            let endpoint = Endpoint(sockaddr: UnsafeRawPointer(bytes.baseAddress!), length: length)
            exit(endpoint == nil ? 0 : 1)
        }
    }

    // MARK: asIPv6

    @Test func ipv4BecomesMapped() {
        let mapped = Self.ep("10.0.0.1", 1080).asIPv6
        #expect(mapped == Self.ep("::ffff:10.0.0.1", 1080))
        #expect(mapped.family == AF_INET6)
        #expect(mapped.text == "[::ffff:10.0.0.1]:1080")
    }

    @Test func ipv6StaysAsItIs() {
        let endpoint = Self.ep("fe80::1", 1080, scope: 4)
        #expect(endpoint.asIPv6 == endpoint)
    }

    @Test func mappedSockaddrReadsBackAsMapped() throws {
        let mapped = Self.ep("127.0.0.1", 9050).asIPv6
        let read = try #require(mapped.sockaddrBytes.withUnsafeBytes { Endpoint(sockaddr: $0.baseAddress!, length: $0.count) })
        #expect(read == mapped)
        #expect(read.address.isLoopback)
    }

    // MARK: SocksDestination

    @Test func destinationFromEndpoint() {
        #expect(SocksDestination(Self.ep("10.0.0.1", 80)) == SocksDestination(.ip(ip("10.0.0.1")), port: 80))
        #expect(SocksDestination(Self.ep("2001:db8::1", 443, scope: 3)) == SocksDestination(.ip(ip("2001:db8::1")), port: 443))
    }

    @Test func mappedEndpointGoesOutAsIPv4() {
        // An AF_INET6 socket's ::ffff:a.b.c.d is sent as IPv4, which SOCKS4 can carry too.
        #expect(SocksDestination(Self.ep("::ffff:93.184.216.34", 443)) == SocksDestination(.ip(ip("93.184.216.34")), port: 443))
        #expect(SocksDestination(Self.ep("10.0.0.1", 80).asIPv6) == SocksDestination(.ip(ip("10.0.0.1")), port: 80))
        #expect(SocksDestination(Self.ep("::10.0.0.1", 80)) == SocksDestination(.ip(ip("::10.0.0.1")), port: 80))
    }

    @Test func destinationText() {
        #expect(destination("10.0.0.1", 80).text == "10.0.0.1:80")
        #expect(destination("2001:db8::1", 443).text == "[2001:db8::1]:443")
        #expect(destination("example.com", 8080).text == "example.com:8080")
        #expect(SocksAddress.domain("example.com").text == "example.com")
        #expect(SocksAddress.ip(ip("::1")).text == "::1")
    }
}
