/// ATYP + DST.ADDR + DST.PORT, shared by requests, replies and the UDP header (RFC 1928 section 5).
public enum Socks5AddressCodec {
    public static let ipv4: UInt8 = 0x01
    public static let domain: UInt8 = 0x03
    public static let ipv6: UInt8 = 0x04

    public static func encode(_ destination: SocksDestination) throws(SocksError) -> [UInt8] {
        var out: [UInt8] = []
        try encode(destination, into: &out)
        return out
    }

    /// Appends the address and port to `out` (no array of its own: on every proxied connect).
    public static func encode(_ destination: SocksDestination, into out: inout [UInt8]) throws(SocksError) {
        switch destination.address {
        case .ip(.v4(let a)):
            out.append(ipv4)
            var shift: UInt32 = 32
            while shift > 0 {
                shift -= 8
                out.append(UInt8(truncatingIfNeeded: a.value >> shift))
            }
        case .ip(.v6(let a)):
            out.append(ipv6)
            var shift: UInt64 = 128
            while shift > 0 {
                shift -= 8
                out.append(UInt8(truncatingIfNeeded: shift >= 64 ? a.high >> (shift - 64) : a.low >> shift))
            }
        case .domain(let name):
            let count = name.utf8.count
            guard (1...255).contains(count) else {
                throw .invalidRequest("a domain name must be 1 to 255 bytes")
            }
            out.append(domain)
            out.append(UInt8(count))
            out.append(contentsOf: name.utf8)
        }
        out.append(UInt8(destination.port >> 8))
        out.append(UInt8(truncatingIfNeeded: destination.port))
    }

    /// Decodes an address starting at `bytes.startIndex`.
    public static func decode(_ bytes: ArraySlice<UInt8>) throws(SocksError) -> DecodeResult<SocksDestination> {
        guard bytes.count >= 2 else { return .needMore(total: 2) }
        let s = bytes.startIndex
        let addressEnd: Int
        switch bytes[s] {
        case ipv4: addressEnd = 1 + 4
        case ipv6: addressEnd = 1 + 16
        case domain: addressEnd = 2 + Int(bytes[s + 1])
        default: throw .malformedReply("unknown address type " + String(bytes[s]))
        }
        let total = addressEnd + 2
        guard bytes.count >= total else { return .needMore(total: total) }
        let address: SocksAddress
        switch bytes[s] {
        case ipv4: address = .ip(.v4(IPv4Address(bytes[s + 1], bytes[s + 2], bytes[s + 3], bytes[s + 4])))
        case ipv6: address = .ip(.v6(IPv6Address(bytes: Array(bytes[(s + 1)..<(s + 17)]))))
        default:
            // Lenient on purpose: proxies send empty or odd names as BND.ADDR, which nothing uses;
            // refusing them would fail a connection that worked. Bytes are kept one per scalar.
            var name = ""
            for byte in bytes[(s + 2)..<(s + addressEnd)] { name.unicodeScalars.append(Unicode.Scalar(byte)) }
            address = .domain(name)
        }
        let port = UInt16(bytes[s + addressEnd]) << 8 | UInt16(bytes[s + addressEnd + 1])
        return .message(SocksDestination(address, port: port), consumed: total)
    }
}
