/// A SOCKS5 request: VER=5, CMD, RSV=0, ATYP, DST.ADDR, DST.PORT (RFC 1928 section 4).
public struct Socks5Request: Sendable {
    public var command: Socks5Command
    public var destination: SocksDestination
    public init(command: Socks5Command, destination: SocksDestination) {
        self.command = command
        self.destination = destination
    }

    public func encode() throws(SocksError) -> [UInt8] {
        // One allocation: this is on every proxied connect.
        var out: [UInt8] = []
        out.reserveCapacity(3 + 2 + 255 + 2)
        out.append(0x05)
        out.append(command.rawValue)
        out.append(0x00)
        try Socks5AddressCodec.encode(destination, into: &out)
        return out
    }
}

#if !hasFeature(Embedded)
// Tests compare these; the shim never does, and String == would pull Unicode tables into it.
extension Socks5Request: Equatable {}
#endif
