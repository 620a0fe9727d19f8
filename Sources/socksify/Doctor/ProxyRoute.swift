import Glibc
import SocksifyCore
import SocksifyLibc

/// How doctor reaches one proxy: directly, or (a chain's later hop) through the proxies before
/// it, as the library would. Each probe opens a connection of its own.
struct ProxyRoute {
    /// A chain's earlier hops, first first; empty for a proxy reached directly.
    var before: [ProxySpec]
    var proxy: ProxySpec
    /// The first hop's address (this proxy's when `before` is empty).
    var firstEndpoint: Endpoint
    var timeouts: Timeouts

    /// A socket connected to the proxy, ready for its handshake.
    func connect() throws(SocksError) -> Int32 {
        let fd = socket(firstEndpoint.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .io(errno: errno) }
        do throws(SocksError) {
            if before.isEmpty {
                try ProxyTunnel.connectToProxy(fd: fd, target: firstEndpoint, timeouts: timeouts)
            } else {
                try ProxyTunnel.open(fd: fd, chain: before, firstEndpoint: firstEndpoint,
                                     destination: ProxyRoute.destination(proxy.host, port: proxy.port), timeouts: timeouts)
            }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// A transport for one exchange on `fd`, with the handshake timeout (or a shorter one).
    func transport(_ fd: Int32, milliseconds: Int? = nil) -> SocketTransport {
        SocketTransport(fd: fd, deadline: .after(milliseconds: milliseconds ?? timeouts.handshakeMilliseconds))
    }

    /// An address as is, a name as a name (for the proxy to resolve).
    static func destination(_ host: String, port: UInt16) -> SocksDestination {
        if let address = IPAddress.parse(host) { return SocksDestination(.ip(address), port: port) }
        return SocksDestination(.domain(host), port: port)
    }
}
