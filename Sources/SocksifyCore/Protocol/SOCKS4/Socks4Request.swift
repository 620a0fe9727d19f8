/// A SOCKS4 request: VN=4, CD, DSTPORT, DSTIP, USERID, NUL. With a domain name it is SOCKS4a:
/// DSTIP is 0.0.0.1 and the name follows the user id, NUL-terminated.
public struct Socks4Request: Sendable {
    public enum Command: UInt8, Sendable { case connect = 1, bind = 2 }

    public var command: Command
    public var destination: SocksDestination
    public var userID: [UInt8]

    public init(command: Command = .connect, destination: SocksDestination, userID: [UInt8] = []) {
        self.command = command
        self.destination = destination
        self.userID = userID
    }

    public func encode() throws(SocksError) -> [UInt8] {
        guard !userID.contains(0) else { throw .invalidRequest("a SOCKS4 user id cannot contain NUL") }
        var out: [UInt8] = [0x04, command.rawValue, UInt8(destination.port >> 8), UInt8(truncatingIfNeeded: destination.port)]
        switch destination.address {
        case .ip(.v4(let a)):
            out += a.bytes + userID + [0]
        case .ip(.v6):
            throw .unsupportedDestination("SOCKS4 cannot carry an IPv6 destination")
        case .domain(let name):
            let bytes = Array(name.utf8)
            guard !bytes.isEmpty, !bytes.contains(0) else { throw .invalidRequest("invalid SOCKS4a host name") }
            out += [0, 0, 0, 1] + userID + [0] + bytes + [0]
        }
        return out
    }
}

#if !hasFeature(Embedded)
// Tests compare these; the shim never does, and String == would pull Unicode tables into it.
extension Socks4Request: Equatable {}
#endif
