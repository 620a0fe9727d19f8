/// The header in front of every datagram relayed by a SOCKS5 UDP association (RFC 1928
/// section 7): RSV (2 bytes, 0), FRAG, ATYP, DST.ADDR, DST.PORT, then the data.
public struct Socks5UDPHeader: Sendable {
    /// Fragment number; 0 is a whole datagram (socksify neither sends nor accepts fragments).
    public var fragment: UInt8
    public var address: SocksDestination
    public init(fragment: UInt8 = 0, address: SocksDestination) {
        self.fragment = fragment
        self.address = address
    }

    public func encode() throws(SocksError) -> [UInt8] {
        [0, 0, fragment] + (try Socks5AddressCodec.encode(address))
    }

    /// The header at the start of a received datagram, and where its data begins. A datagram
    /// is whole or nothing, so a short one is malformed rather than "need more".
    public static func decode(_ datagram: UnsafeRawBufferPointer) throws(SocksError) -> (header: Socks5UDPHeader, dataOffset: Int) {
        guard datagram.count >= 4 else { throw .malformedReply("UDP datagram shorter than its header") }
        guard datagram[0] == 0, datagram[1] == 0 else { throw .malformedReply("UDP header reserved bytes are not zero") }
        let fragment = datagram[2]
        // At most 1 + 1 + 255 + 2 bytes of address: copying that much is enough to decode it.
        let addressBytes = Array(datagram[3..<min(datagram.count, 3 + 259)])
        switch try Socks5AddressCodec.decode(addressBytes[...]) {
        case .needMore: throw .malformedReply("UDP datagram ends inside its header")
        case .message(let address, let consumed):
            return (Socks5UDPHeader(fragment: fragment, address: address), 3 + consumed)
        }
    }

    /// The largest header: IPv6 address... a 255-byte name is larger: 3 + 1 + 1 + 255 + 2.
    public static let maximumLength = 262
}
