/// A SOCKS5 request: VER=5, CMD, RSV=0, ATYP, DST.ADDR, DST.PORT (RFC 1928 section 4).
public struct Socks5Request: Sendable {
    public var command: Socks5Command
    public var destination: SocksDestination
    public init(command: Socks5Command, destination: SocksDestination) {
        self.command = command
        self.destination = destination
    }

    public func encode() throws(SocksError) -> [UInt8] {
        [0x05, command.rawValue, 0x00] + (try Socks5AddressCodec.encode(destination))
    }
}

#if !hasFeature(Embedded)
// Tests compare these; the shim never does, and String == would pull Unicode tables into it.
extension Socks5Request: Equatable {}
#endif
