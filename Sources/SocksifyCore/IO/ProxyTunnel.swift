import SocksifyLibc

/// Timeouts for reaching a proxy, in milliseconds.
public struct Timeouts: Equatable, Sendable {
    /// TCP connect to the proxy.
    public var connectMilliseconds: Int
    /// The whole SOCKS exchange after that, including the proxy's own connect to the destination.
    public var handshakeMilliseconds: Int

    public static let defaults = Timeouts(connectMilliseconds: 10_000, handshakeMilliseconds: 30_000)
    public init(connectMilliseconds: Int, handshakeMilliseconds: Int) {
        self.connectMilliseconds = connectMilliseconds
        self.handshakeMilliseconds = handshakeMilliseconds
    }
}

/// Turns a socket into a tunnel to a destination: TCP connect to the proxy, then the handshake.
/// The socket is made non-blocking for the exchange so every step honours a deadline, and its
/// file status flags are put back exactly as the program had them.
public enum ProxyTunnel {
    public static func open(
        fd: Int32, proxy: ProxySpec, proxyEndpoint: Endpoint,
        destination: SocksDestination, timeouts: Timeouts
    ) throws(SocksError) {
        let domain = sx_socket_domain(fd)
        let wantsOwnSocket = domain == AF_INET && proxyEndpoint.family == AF_INET6
            || domain == AF_INET6 && proxyEndpoint.family == AF_INET && sx_socket_v6only(fd) != 0
        if wantsOwnSocket {
            try openOnReplacementSocket(fd: fd, proxy: proxy, proxyEndpoint: proxyEndpoint,
                                        destination: destination, timeouts: timeouts)
            return
        }
        let target = domain == AF_INET6 ? proxyEndpoint.asIPv6 : proxyEndpoint
        let savedFlags = sx_get_status_flags(fd)
        guard savedFlags >= 0 else { throw .io(errno: sx_errno()) }
        if savedFlags & O_NONBLOCK == 0 { _ = sx_set_status_flags(fd, savedFlags | O_NONBLOCK) }
        defer { if savedFlags & O_NONBLOCK == 0 { _ = sx_set_status_flags(fd, savedFlags) } }
        try handshake(fd: fd, proxy: proxy, target: target, destination: destination, timeouts: timeouts)
    }

    /// For a socket whose family cannot reach the proxy (an IPv4 socket and an IPv6 proxy):
    /// build the tunnel on a new socket and move it onto the program's descriptor number.
    static func openOnReplacementSocket(
        fd: Int32, proxy: ProxySpec, proxyEndpoint: Endpoint,
        destination: SocksDestination, timeouts: Timeouts
    ) throws(SocksError) {
        let savedFlags = sx_get_status_flags(fd)
        let descriptorFlags = sx_get_descriptor_flags(fd)
        guard savedFlags >= 0, descriptorFlags >= 0 else { throw .io(errno: sx_errno()) }
        let tunnel = sx_real_socket(proxyEndpoint.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard tunnel >= 0 else { throw .io(errno: sx_errno()) }
        defer { _ = sx_real_close(tunnel) }
        try handshake(fd: tunnel, proxy: proxy, target: proxyEndpoint, destination: destination, timeouts: timeouts)
        let cloexec = descriptorFlags & FD_CLOEXEC != 0 ? Int32(O_CLOEXEC) : 0
        guard sx_real_dup3(tunnel, fd, cloexec) >= 0 else { throw .io(errno: sx_errno()) }
        _ = sx_set_status_flags(fd, savedFlags)
    }

    static func handshake(
        fd: Int32, proxy: ProxySpec, target: Endpoint, destination: SocksDestination, timeouts: Timeouts
    ) throws(SocksError) {
        try connectToProxy(fd: fd, target: target, deadline: .after(milliseconds: timeouts.connectMilliseconds))
        var transport = SocketTransport(fd: fd, deadline: .after(milliseconds: timeouts.handshakeMilliseconds))
        do {
            try ClientHandshake.connect(over: &transport, proxy: proxy, to: destination)
        } catch {
            // Leave no half-open tunnel the program could write into after a failed connect.
            _ = sx_shutdown_both(fd)
            throw error
        }
    }

    /// Non-blocking connect(2) to the proxy, waiting for writability and reading SO_ERROR.
    static func connectToProxy(fd: Int32, target: Endpoint, deadline: Deadline) throws(SocksError) {
        let address = target.sockaddrBytes
        let result = address.withUnsafeBytes { raw in
            sx_real_connect(fd, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
        if result == 0 { return }
        let e = sx_errno()
        if e == EISCONN || e == EALREADY { throw .socketState(errno: e) }  // the program's own misuse
        guard e == EINPROGRESS || e == EINTR || e == EAGAIN else { throw .proxyUnreachable(errno: e) }
        guard try waitFor(fd, events: Int16(POLLOUT), until: deadline) else {
            throw .timedOut(phase: "connecting to the proxy")
        }
        let status = sx_socket_error(fd)
        guard status == 0 else { throw .proxyUnreachable(errno: status) }
        // Linux leaves a non-blocking socket "connecting" until connect is called once more;
        // doing it here makes a later connect by the program answer EISCONN, as it would direct.
        _ = address.withUnsafeBytes { raw in
            sx_real_connect(fd, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
    }
}
