/// ATYP + DST.ADDR + DST.PORT, shared by requests, replies and the UDP header (RFC 1928 section 5).
public enum Socks5AddressCodec {
    public static let ipv4: UInt8 = 0x01
    public static let domain: UInt8 = 0x03
    public static let ipv6: UInt8 = 0x04

    public static func encode(_ destination: SocksDestination) throws(SocksError) -> [UInt8] {
        var out: [UInt8]
        switch destination.address {
        case .ip(.v4(let a)): out = [ipv4] + a.bytes
        case .ip(.v6(let a)): out = [ipv6] + a.bytes
        case .domain(let name):
            let bytes = Array(name.utf8)
            guard (1...255).contains(bytes.count) else {
                throw .invalidRequest("a domain name must be 1 to 255 bytes")
            }
            out = [domain, UInt8(bytes.count)] + bytes
        }
        out.append(UInt8(destination.port >> 8))
        out.append(UInt8(truncatingIfNeeded: destination.port))
        return out
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
