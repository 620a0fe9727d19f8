/// The reserved ranges synthetic addresses come from, one per family. A name gets one position
/// in the pool; its IPv4 and IPv6 addresses are the two ranges' addresses at that position.
///
/// Defaults: 127.192.0.0/10, inside loopback, so even a connect that somehow escaped the shim
/// could never leave the machine (Tor's choice too); and 100::/64, the IPv6 discard-only prefix
/// (RFC 6666), which no real network routes.
public struct AddressPool: Equatable, Sendable {
    public var ipv4Base: UInt32
    public var ipv4PrefixLength: Int
    public var ipv6High: UInt64
    public var ipv6LowBase: UInt64
    public var ipv6PrefixLength: Int

    public static let standard = AddressPool(
        ipv4Base: 0x7FC0_0000, ipv4PrefixLength: 10, ipv6High: 0x0100_0000_0000_0000, ipv6LowBase: 0, ipv6PrefixLength: 64)

    public init(ipv4Base: UInt32, ipv4PrefixLength: Int, ipv6High: UInt64, ipv6LowBase: UInt64, ipv6PrefixLength: Int) {
        self.ipv4Base = ipv4Base
        self.ipv4PrefixLength = ipv4PrefixLength
        self.ipv6High = ipv6High
        self.ipv6LowBase = ipv6LowBase
        self.ipv6PrefixLength = ipv6PrefixLength
    }

    /// Positions available: the smaller range decides, at most 2^22.
    public var size: UInt32 {
        let bits = min(32 - ipv4PrefixLength, 128 - ipv6PrefixLength, 22)
        return UInt32(1) << UInt32(bits)
    }

    public func ipv4(at position: UInt32) -> IPv4Address { IPv4Address(ipv4Base | position) }
    public func ipv6(at position: UInt32) -> IPv6Address { IPv6Address(high: ipv6High, low: ipv6LowBase | UInt64(position)) }

    /// The position of an address inside the pool, or nil if it is not a pool address.
    public func position(of address: IPAddress) -> UInt32? {
        switch address {
        case .v4(let a):
            let offset = a.value &- ipv4Base
            return a.value >= ipv4Base && offset < size ? offset : nil
        case .v6(let a):
            if let v4 = a.mappedIPv4 { return position(of: .v4(v4)) }
            guard a.high == ipv6High, a.low >= ipv6LowBase, a.low - ipv6LowBase < UInt64(size) else { return nil }
            return UInt32(a.low - ipv6LowBase)
        }
    }

    /// Parses "A.B.C.D/N" (N from 8 to 24).
    public static func parseIPv4(_ text: String) -> (base: UInt32, prefix: Int)? {
        guard let (address, prefix) = splitCIDR(text), case .v4(let a)? = IPAddress.parse(address),
              (8...24).contains(prefix) else { return nil }
        let mask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefix)
        return (a.value & mask, prefix)
    }

    /// Parses "X::/N" (N from 64 to 120). Not inside ::/64, which holds ::1 and the
    /// IPv4-mapped addresses (those read as IPv4 and would never map back to a name).
    public static func parseIPv6(_ text: String) -> (high: UInt64, lowBase: UInt64, prefix: Int)? {
        guard let (address, prefix) = splitCIDR(text), case .v6(let a)? = IPAddress.parse(address),
              (64...120).contains(prefix), a.high != 0 else { return nil }
        let lowMask: UInt64 = prefix == 64 ? 0 : ~UInt64(0) << UInt64(128 - prefix)
        return (a.high, a.low & lowMask, prefix)
    }

    static func splitCIDR(_ text: String) -> (String, Int)? {
        let bytes = Array(text.utf8)
        guard let slash = bytes.firstIndex(of: UInt8(ascii: "/")), slash + 1 < bytes.count, bytes.count - slash <= 4 else { return nil }
        var prefix = 0
        for d in bytes[(slash + 1)...] {
            guard d >= UInt8(ascii: "0"), d <= UInt8(ascii: "9") else { return nil }
            prefix = prefix * 10 + Int(d - UInt8(ascii: "0"))
        }
        return (HostName.string(Array(bytes[..<slash])), prefix)
    }
}
