import Testing
@testable import SocksifyCore

@Suite struct AddressPoolTests {
    static let standard = AddressPool.standard

    // MARK: - the standard pool

    @Test func standardRanges() {
        #expect(Self.standard.ipv4Base == v4("127.192.0.0").value)
        #expect(Self.standard.ipv4PrefixLength == 10)
        #expect(Self.standard.ipv6High == v6("100::").high)
        #expect(Self.standard.ipv6LowBase == 0)
        #expect(Self.standard.ipv6PrefixLength == 64)
        #expect(Self.standard.size == 1 << 22, "a /10 has 22 host bits, the maximum")
    }

    @Test(arguments: [
        (UInt32(0), "127.192.0.0", "100::"),
        (1, "127.192.0.1", "100::1"),
        (255, "127.192.0.255", "100::ff"),
        (256, "127.192.1.0", "100::100"),
        (0x1234, "127.192.18.52", "100::1234"),
        (0x3F_FFFE, "127.255.255.254", "100::3f:fffe"),
        (0x3F_FFFF, "127.255.255.255", "100::3f:ffff"),
    ])
    func positionsToAddresses(_ position: UInt32, _ expected4: String, _ expected6: String) {
        #expect(Self.standard.ipv4(at: position) == v4(expected4))
        #expect(Self.standard.ipv6(at: position) == v6(expected6))
        #expect(Self.standard.position(of: .v4(v4(expected4))) == position)
        #expect(Self.standard.position(of: .v6(v6(expected6))) == position)
    }

    @Test func roundTripBothFamilies() {
        let pool = Self.standard
        var position: UInt32 = 0
        while position < pool.size {
            #expect(pool.position(of: .v4(pool.ipv4(at: position))) == position)
            #expect(pool.position(of: .v6(pool.ipv6(at: position))) == position)
            position += 9973  // a prime stride over the whole range
        }
        #expect(pool.position(of: .v4(pool.ipv4(at: pool.size - 1))) == pool.size - 1)
        #expect(pool.position(of: .v6(pool.ipv6(at: pool.size - 1))) == pool.size - 1)
    }

    @Test func everyPoolAddressIsLoopbackOrDiscard() {
        let pool = Self.standard
        for position in [UInt32(0), 1, 77, pool.size / 2, pool.size - 1] {
            #expect(IPAddress.v4(pool.ipv4(at: position)).isLoopback)
            #expect(pool.ipv6(at: position).high == 0x0100_0000_0000_0000)
        }
    }

    @Test(arguments: ["::ffff:127.192.0.7", "::ffff:127.255.255.255", "::ffff:127.192.0.0"])
    func v4MappedPoolAddresses(_ text: String) {
        guard case .v6(let mapped) = ip(text), let inner = mapped.mappedIPv4 else {
            Issue.record("not a mapped address: \(text)")
            return
        }
        #expect(Self.standard.position(of: .v6(mapped)) == Self.standard.position(of: .v4(inner)))
        #expect(Self.standard.position(of: .v6(mapped)) != nil)
    }

    @Test(arguments: [
        "127.0.0.1", "127.191.255.255", "128.0.0.0", "0.0.0.0", "255.255.255.255", "10.0.0.1", "126.192.0.1",
        "::1", "::", "100::40:0", "100::1:0:0:0", "100:0:0:1::5", "101::5", "1000::5", "2001:db8::1",
        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::127.192.0.1", "100::ffff:7fc0:1",
    ])
    func outsideThePool(_ text: String) {
        #expect(Self.standard.position(of: ip(text)) == nil)
    }

    // MARK: - parsing ranges

    @Test(arguments: [
        ("127.192.0.0/10", "127.192.0.0", 10),
        ("10.64.0.0/16", "10.64.0.0", 16),
        ("10.64.1.2/16", "10.64.0.0", 16),  // host bits are cleared
        ("198.18.0.0/15", "198.18.0.0", 15),
        ("198.19.255.255/15", "198.18.0.0", 15),
        ("10.0.0.0/8", "10.0.0.0", 8),
        ("192.168.77.200/24", "192.168.77.0", 24),
        ("127.255.255.255/10", "127.192.0.0", 10),
    ])
    func parseIPv4Good(_ text: String, _ base: String, _ prefix: Int) {
        let parsed = AddressPool.parseIPv4(text)
        #expect(parsed?.base == v4(base).value)
        #expect(parsed?.prefix == prefix)
    }

    @Test(arguments: [
        "", "/", "10.0.0.0", "10.0.0.0/", "/16", "10.0.0.0/7", "10.0.0.0/0", "10.0.0.0/25", "10.0.0.0/32",
        "10.0.0.0/33", "10.0.0.0/1000", "10.0.0.0/016x", "10.0.0.0/-8", "10.0.0.0/+8", "10.0.0.0/ 8",
        "10.0.0.0/8 ", "10.0.0/8", "10.1/16", "10.0.0.256/16", "example.com/16", "::/64", "100::/64",
        "10.0.0.0//16", "10.0.0.0/16/16", "10.0.0.0/1a",
    ])
    func parseIPv4Bad(_ text: String) {
        #expect(AddressPool.parseIPv4(text) == nil)
    }

    @Test func parseIPv6Good() {
        let standard = AddressPool.parseIPv6("100::/64")
        #expect(standard?.high == 0x0100_0000_0000_0000)
        #expect(standard?.lowBase == 0)
        #expect(standard?.prefix == 64)

        let ula = AddressPool.parseIPv6("fd00:1:2:3::/64")
        #expect(ula?.high == 0xFD00_0001_0002_0003)
        #expect(ula?.lowBase == 0)

        let hostBitsCleared = AddressPool.parseIPv6("fd00::1:2:3:4/64")
        #expect(hostBitsCleared?.high == 0xFD00_0000_0000_0000)
        #expect(hostBitsCleared?.lowBase == 0)

        let slash96 = AddressPool.parseIPv6("fd00::1:2:3:4/96")
        #expect(slash96?.high == 0xFD00_0000_0000_0000)
        #expect(slash96?.lowBase == 0x0001_0002_0000_0000)
        #expect(slash96?.prefix == 96)

        let slash120 = AddressPool.parseIPv6("2001:db8::abcd/120")
        #expect(slash120?.high == 0x2001_0DB8_0000_0000)
        #expect(slash120?.lowBase == 0xAB00)
        #expect(slash120?.prefix == 120)
    }

    @Test(arguments: [
        "", "100::", "100::/", "/64", "100::/63", "100::/0", "100::/121", "100::/128", "100::/1000",
        "100::/6a", "100::/ 64", "10.0.0.0/64", "127.192.0.0/10", "[100::]/64", "fe80::1%eth0/64",
        "100:::/64", "gggg::/64", "100::/64/64",
    ])
    func parseIPv6Bad(_ text: String) {
        #expect(AddressPool.parseIPv6(text) == nil)
    }

    // MARK: - size and custom pools

    static func pool(_ v4Text: String, _ v6Text: String) -> AddressPool {
        let a = AddressPool.parseIPv4(v4Text)!
        let b = AddressPool.parseIPv6(v6Text)!
        return AddressPool(ipv4Base: a.base, ipv4PrefixLength: a.prefix, ipv6High: b.high, ipv6LowBase: b.lowBase,
                           ipv6PrefixLength: b.prefix)
    }

    @Test(arguments: [
        ("10.0.0.0/8", "100::/64", UInt32(1) << 22),  // capped at 2^22
        ("127.192.0.0/10", "100::/64", UInt32(1) << 22),
        ("10.64.0.0/16", "100::/64", UInt32(1) << 16),
        ("192.168.1.0/24", "100::/64", UInt32(256)),
        ("10.0.0.0/8", "fd00::/112", UInt32(1) << 16),  // the IPv6 range is the smaller
        ("10.0.0.0/8", "fd00::/120", UInt32(256)),
        ("10.0.0.0/12", "fd00::/108", UInt32(1) << 20),
    ])
    func size(_ v4Text: String, _ v6Text: String, _ expected: UInt32) {
        #expect(Self.pool(v4Text, v6Text).size == expected)
    }

    @Test func customPoolRoundTrip() {
        let pool = Self.pool("10.64.0.0/16", "fd00::1:2:0:0/96")
        #expect(pool.size == 1 << 16)
        #expect(pool.ipv4(at: 0) == v4("10.64.0.0"))
        #expect(pool.ipv4(at: 0x0102) == v4("10.64.1.2"))
        #expect(pool.ipv6(at: 0x0102) == v6("fd00::1:2:0:102"))
        #expect(pool.ipv6(at: 0xFFFF) == v6("fd00::1:2:0:ffff"))
        for position: UInt32 in [0, 1, 2, 0x0102, 0x8000, 0xFFFE, 0xFFFF] {
            #expect(pool.position(of: .v4(pool.ipv4(at: position))) == position)
            #expect(pool.position(of: .v6(pool.ipv6(at: position))) == position)
        }
        #expect(pool.position(of: ip("10.65.0.0")) == nil)
        #expect(pool.position(of: ip("10.63.255.255")) == nil)
        #expect(pool.position(of: ip("fd00::1:2:1:0")) == nil, "past the end of the pool's positions")
        #expect(pool.position(of: ip("fd00::1:1:ffff:ffff")) == nil, "below lowBase")
        #expect(pool.position(of: ip("fd00::1:3:0:0")) == nil)
        #expect(pool.position(of: ip("fd01::1:2:0:5")) == nil)
        #expect(pool.position(of: ip("::ffff:10.64.0.9")) == 9)
        #expect(pool.position(of: ip("127.192.0.1")) == nil, "the standard pool is not this pool")
    }

    @Test func ipv6RangeLargerThanThePoolOnlyUsesTheFirstPositions() {
        // A /64 has far more addresses than 2^22 positions: the rest are not pool addresses.
        let pool = Self.standard
        #expect(pool.position(of: ip("100::3f:ffff")) == pool.size - 1)
        #expect(pool.position(of: ip("100::40:0")) == nil)
        #expect(pool.position(of: ip("100::ffff:ffff:ffff:ffff")) == nil)
    }

    @Test func ipv4RangeLargerThanThePoolOnlyUsesTheFirstPositions() {
        // A /8 has 2^24 addresses but only 2^22 positions.
        let pool = Self.pool("10.0.0.0/8", "100::/64")
        #expect(pool.position(of: ip("10.63.255.255")) == pool.size - 1)
        #expect(pool.position(of: ip("10.64.0.0")) == nil)
        #expect(pool.position(of: ip("10.255.255.255")) == nil)
    }

    @Test func splitCIDR() {
        #expect(AddressPool.splitCIDR("1.2.3.4/5")?.0 == "1.2.3.4")
        #expect(AddressPool.splitCIDR("1.2.3.4/5")?.1 == 5)
        #expect(AddressPool.splitCIDR("x/120")?.1 == 120)
        #expect(AddressPool.splitCIDR("x/1200") == nil)
        #expect(AddressPool.splitCIDR("x/") == nil)
        #expect(AddressPool.splitCIDR("x") == nil)
    }
}
