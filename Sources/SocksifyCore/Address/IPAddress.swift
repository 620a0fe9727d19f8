import SocksifyLibc

/// An IPv4 address; `value` holds the four bytes big-endian first (10.0.0.1 is 0x0A000001).
public struct IPv4Address: Hashable, Sendable {
    public var value: UInt32
    public init(_ value: UInt32) { self.value = value }
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    public var bytes: [UInt8] {
        [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16),
         UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }

    /// 127.0.0.0/8.
    public var isLoopback: Bool { value >> 24 == 127 }
}

/// An IPv6 address as two big-endian halves.
public struct IPv6Address: Hashable, Sendable {
    public var high: UInt64
    public var low: UInt64
    public init(high: UInt64, low: UInt64) { self.high = high; self.low = low }

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 16)
        var h: UInt64 = 0, l: UInt64 = 0
        for i in 0..<8 { h = h << 8 | UInt64(bytes[i]) }
        for i in 8..<16 { l = l << 8 | UInt64(bytes[i]) }
        high = h; low = l
    }

    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            out[i] = UInt8(truncatingIfNeeded: high >> UInt64(56 - 8 * i))
            out[8 + i] = UInt8(truncatingIfNeeded: low >> UInt64(56 - 8 * i))
        }
        return out
    }

    public static let loopback = IPv6Address(high: 0, low: 1)

    /// The IPv4 address inside ::ffff:a.b.c.d, if this is one.
    public var mappedIPv4: IPv4Address? {
        high == 0 && low >> 32 == 0xFFFF ? IPv4Address(UInt32(truncatingIfNeeded: low)) : nil
    }

    public init(mapping v4: IPv4Address) { high = 0; low = 0xFFFF_0000_0000 | UInt64(v4.value) }
}

/// An IP address of either family.
public enum IPAddress: Hashable, Sendable {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104.
    public var isLoopback: Bool {
        switch self {
        case .v4(let a): return a.isLoopback
        case .v6(let a): return a == .loopback || (a.mappedIPv4?.isLoopback ?? false)
        }
    }

    /// 0.0.0.0 and ::, which connect(2) takes to mean this host.
    public var isUnspecified: Bool {
        switch self {
        case .v4(let a): return a.value == 0
        case .v6(let a): return a.high == 0 && (a.low == 0 || a.low == 0xFFFF_0000_0000)
        }
    }

    /// Parses a numeric address (inet_pton rules), without brackets.
    public static func parse(_ text: String) -> IPAddress? { parse(bytes: Array(text.utf8)) }

    /// The same from bytes, without building a String (the rules parser reads many).
    public static func parse(bytes text: [UInt8]) -> IPAddress? {
        // Only digits, hex, '.', ':' can make an address: most names are rejected without a call.
        guard !text.isEmpty, text.count <= 45, text.allSatisfy({
            ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f"))
                || ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "F")) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: ":")
        }) else { return nil }
        var cText = text.map { CChar(bitPattern: $0) }
        cText.append(0)
        var buffer = [UInt8](repeating: 0, count: 16)
        let family: Int32? = cText.withUnsafeBufferPointer { c in
            buffer.withUnsafeMutableBytes { out -> Int32? in
                if inet_pton(AF_INET, c.baseAddress, out.baseAddress) == 1 { return AF_INET }
                if inet_pton(AF_INET6, c.baseAddress, out.baseAddress) == 1 { return AF_INET6 }
                return nil
            }
        }
        switch family {
        case AF_INET: return .v4(IPv4Address(buffer[0], buffer[1], buffer[2], buffer[3]))
        case AF_INET6: return .v6(IPv6Address(bytes: buffer))
        default: return nil
        }
    }

    /// The usual text form (inet_ntop): 10.0.0.1, 2001:db8::1.
    public var text: String {
        var input: [UInt8]
        let family: Int32
        switch self {
        case .v4(let a): input = a.bytes; family = AF_INET
        case .v6(let a): input = a.bytes; family = AF_INET6
        }
        var output = [CChar](repeating: 0, count: 64)
        let ok = input.withUnsafeBytes { inBytes in
            output.withUnsafeMutableBufferPointer { out in
                inet_ntop(family, inBytes.baseAddress, out.baseAddress, 64) != nil
            }
        }
        guard ok else { return "?" }
        return output.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
