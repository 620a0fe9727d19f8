import Testing
@testable import SocksifyCore

@Suite struct IPAddressTests {
    // MARK: IPv4Address

    @Test func ipv4ValueIsBigEndianFirst() {
        let a = IPv4Address(10, 0, 0, 1)
        #expect(a.value == 0x0A00_0001)
        #expect(a.bytes == [10, 0, 0, 1])
        #expect(IPv4Address(0xC0A8_0102).bytes == [192, 168, 1, 2])
        #expect(IPv4Address(0xFFFF_FFFF) == IPv4Address(255, 255, 255, 255))
    }

    @Test func ipv4Loopback() {
        #expect(IPv4Address(127, 0, 0, 1).isLoopback)
        #expect(IPv4Address(127, 0, 0, 0).isLoopback)
        #expect(IPv4Address(127, 255, 255, 255).isLoopback)
        #expect(!IPv4Address(126, 255, 255, 255).isLoopback)
        #expect(!IPv4Address(128, 0, 0, 0).isLoopback)
        #expect(!IPv4Address(10, 0, 0, 1).isLoopback)
        #expect(!IPv4Address(0, 0, 0, 0).isLoopback)
    }

    // MARK: IPv6Address

    @Test func ipv6BytesRoundTrip() {
        let bytes: [UInt8] = (1...16).map { UInt8($0) }
        let a = IPv6Address(bytes: bytes)
        #expect(a.high == 0x0102_0304_0506_0708)
        #expect(a.low == 0x090A_0B0C_0D0E_0F10)
        #expect(a.bytes == bytes)
        #expect(IPv6Address(high: a.high, low: a.low) == a)
    }

    @Test func ipv6Loopback() {
        #expect(IPv6Address.loopback == IPv6Address(high: 0, low: 1))
        #expect(IPv6Address.loopback.bytes == [UInt8](repeating: 0, count: 15) + [1])
    }

    @Test func mappingIPv4() {
        let mapped = IPv6Address(mapping: IPv4Address(1, 2, 3, 4))
        #expect(mapped.high == 0)
        #expect(mapped.low == 0x0000_FFFF_0102_0304)
        #expect(mapped.bytes == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 1, 2, 3, 4])
        #expect(mapped.mappedIPv4 == IPv4Address(1, 2, 3, 4))
        #expect(mapped == v6("::ffff:1.2.3.4"))
    }

    @Test(arguments: ["::ffff:0.0.0.0", "::ffff:127.0.0.1", "::ffff:255.255.255.255", "::ffff:10.20.30.40"])
    func mappedIPv4RoundTrip(text: String) {
        let a = v6(text)
        let inner = try! #require(a.mappedIPv4)
        #expect(IPv6Address(mapping: inner) == a)
        #expect("::ffff:" + IPAddress.v4(inner).text == text)
    }

    @Test(arguments: ["::", "::1", "::1.2.3.4", "64:ff9b::1.2.3.4", "::fffe:1.2.3.4", "1::ffff:1.2.3.4", "2001:db8::1"])
    func notMapped(text: String) {
        #expect(v6(text).mappedIPv4 == nil)
    }

    // MARK: IPAddress.parse / text

    static let canonical: [(String, IPAddress)] = [
        ("0.0.0.0", .v4(IPv4Address(0))),
        ("10.0.0.1", .v4(IPv4Address(10, 0, 0, 1))),
        ("127.0.0.1", .v4(IPv4Address(127, 0, 0, 1))),
        ("255.255.255.255", .v4(IPv4Address(0xFFFF_FFFF))),
        ("::", .v6(IPv6Address(high: 0, low: 0))),
        ("::1", .v6(.loopback)),
        ("2001:db8::1", .v6(IPv6Address(high: 0x2001_0DB8_0000_0000, low: 1))),
        ("2001:db8:1:2:3:4:5:6", .v6(IPv6Address(high: 0x2001_0DB8_0001_0002, low: 0x0003_0004_0005_0006))),
        ("fe80::1", .v6(IPv6Address(high: 0xFE80_0000_0000_0000, low: 1))),
        ("::ffff:1.2.3.4", .v6(IPv6Address(mapping: IPv4Address(1, 2, 3, 4)))),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", .v6(IPv6Address(high: .max, low: .max))),
    ]

    @Test(arguments: canonical)
    func parseAndFormat(text: String, address: IPAddress) {
        #expect(IPAddress.parse(text) == address)
        #expect(address.text == text)
    }

    @Test(arguments: [
        ("2001:0DB8:0000::0001", "2001:db8::1"),
        ("0:0:0:0:0:0:0:1", "::1"),
        ("0:0:0:0:0:0:0:0", "::"),
        ("FE80::1", "fe80::1"),
        ("::FFFF:1.2.3.4", "::ffff:1.2.3.4"),
        ("::ffff:0102:0304", "::ffff:1.2.3.4"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
    ] as [(String, String)])
    func formatIsCanonical(input: String, canonical: String) throws {
        let address = try #require(IPAddress.parse(input))
        #expect(address.text == canonical)
        #expect(IPAddress.parse(canonical) == address)
    }

    @Test(arguments: [
        "", " ", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-4", "1.2.3.4 ", " 1.2.3.4", "1..2.3",
        "example.com", "localhost", "[::1]", "::1]", ":::1", "1::2::3", "12345::1", "::g",
        "fe80::1%eth0", "1.2.3.4:80", "0x7f.0.0.1", "2001:db8::1/64",
    ])
    func notAnAddress(text: String) {
        #expect(IPAddress.parse(text) == nil)
    }

    // MARK: IPAddress.isLoopback

    @Test(arguments: ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1", "::ffff:127.255.0.1"])
    func loopback(text: String) {
        #expect(ip(text).isLoopback)
    }

    @Test(arguments: ["10.0.0.1", "0.0.0.0", "128.0.0.1", "::", "::2", "::127.0.0.1", "::ffff:10.0.0.1", "fe80::1", "2001:db8::1"])
    func notLoopback(text: String) {
        #expect(!ip(text).isLoopback)
    }

    // MARK: IPAddress.isUnspecified

    @Test(arguments: ["0.0.0.0", "::", "::ffff:0.0.0.0"])
    func unspecified(text: String) {
        #expect(ip(text).isUnspecified)
    }

    @Test(arguments: ["0.0.0.1", "127.0.0.1", "::1", "::ffff:0.0.0.1", "::ffff:127.0.0.1", "100::", "0:0:0:1::"])
    func notUnspecified(text: String) {
        #expect(!ip(text).isUnspecified)
    }

    @Test func familiesNeverCompareEqual() {
        #expect(ip("1.2.3.4") != ip("::ffff:1.2.3.4"))
        #expect(ip("0.0.0.0") != ip("::"))
    }
}
