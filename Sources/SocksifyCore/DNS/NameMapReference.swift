/// How SOCKSIFY_DNS_MAP names a run's shared name map: `sysv:ID:TOKEN`, the identifier of a
/// System V shared memory segment and 16 hex digits of a random token the launcher wrote into
/// the segment's header. The token makes an identifier the kernel has since given to another
/// segment useless rather than mistaken for the run's map.
public struct NameMapReference: Equatable, Sendable {
    public var segment: Int32
    public var token: UInt64

    public init(segment: Int32, token: UInt64) {
        self.segment = segment
        self.token = token
    }

    static let scheme: [UInt8] = Array("sysv:".utf8)
    static let tokenDigits = 16

    /// The value, or nil for anything else: a file path (what earlier versions of socksify used), a negative
    /// or oversized identifier, a token of other than 16 hex digits, or a token of 0 (which no
    /// launcher writes: it marks a process's own map).
    public static func parse(_ text: String) -> NameMapReference? {
        let bytes = Array(text.utf8)
        guard bytes.count > scheme.count, Array(bytes[..<scheme.count]) == scheme else { return nil }
        let rest = bytes[scheme.count...]
        guard let colon = rest.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let idDigits = rest[..<colon], tokenText = rest[(colon + 1)...]
        guard !idDigits.isEmpty, idDigits.count <= 10, tokenText.count == tokenDigits else { return nil }
        var id: Int64 = 0
        for d in idDigits {
            guard d >= UInt8(ascii: "0"), d <= UInt8(ascii: "9") else { return nil }
            id = id * 10 + Int64(d - UInt8(ascii: "0"))
        }
        guard id <= Int64(Int32.max) else { return nil }
        var token: UInt64 = 0
        for d in tokenText {
            guard let value = hexValue(d) else { return nil }
            token = token << 4 | UInt64(value)
        }
        guard token != 0 else { return nil }
        return NameMapReference(segment: Int32(id), token: token)
    }

    /// `sysv:ID:TOKEN`, the token as 16 lower-case hex digits.
    public var text: String {
        var digits: [UInt8] = []
        var rest = token
        for _ in 0..<NameMapReference.tokenDigits {
            let nibble = UInt8(rest & 0xF)
            digits.append(nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10)
            rest >>= 4
        }
        return "sysv:" + String(segment) + ":" + HostName.string(Array(digits.reversed()))
    }

    static func hexValue(_ d: UInt8) -> UInt8? {
        switch d {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return d - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return d - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return d - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
