import SocksifyLibc

/// Timeouts for reaching a proxy, in milliseconds.
public struct Timeouts: Equatable, Sendable {
    /// TCP connect to the (first) proxy.
    public var connectMilliseconds: Int
    /// Each SOCKS exchange after that, including the proxy's own connect to the next hop.
    public var handshakeMilliseconds: Int

    public static let defaults = Timeouts(connectMilliseconds: 10_000, handshakeMilliseconds: 30_000)
    public init(connectMilliseconds: Int, handshakeMilliseconds: Int) {
        self.connectMilliseconds = connectMilliseconds
        self.handshakeMilliseconds = handshakeMilliseconds
    }
}

/// Turns a socket into a tunnel to a destination: TCP connect to the first proxy, then one
/// handshake per proxy of the chain (each asked to CONNECT to the next, the last to the
/// destination). The socket is made non-blocking for the exchange so every step honours a
/// deadline, and its file status flags are put back exactly as the program had them.
public enum ProxyTunnel {
    /// `socketFamily`, when the caller knows it (the family of the address the program passed
    /// to connect), spares a getsockopt on every connection.
    /// Returns the address the last proxy connects from, when it says (its reply's BND).
    @discardableResult
    public static func open(
        fd: Int32, chain: [ProxySpec], firstEndpoint: Endpoint,
        destination: SocksDestination, timeouts: Timeouts, socketFamily: Int32? = nil,
        kernel: Kernel = RealKernel.shared, sendTimeoutMilliseconds: Int? = nil, asynchronous: Bool = false,
        interrupted: (TunnelProgress) -> Bool = { _ in false }
    ) throws(SocksError) -> Endpoint? {
        let domain = socketFamily ?? kernel.socketDomain(fd)
        let wantsOwnSocket = domain == AF_INET && firstEndpoint.family == AF_INET6
            || domain == AF_INET6 && firstEndpoint.family == AF_INET && kernel.isV6Only(fd)
        if wantsOwnSocket {
            return try openOnReplacementSocket(fd: fd, chain: chain, firstEndpoint: firstEndpoint, destination: destination,
                                               timeouts: timeouts, kernel: kernel)
        }
        let target = domain == AF_INET6 ? firstEndpoint.asIPv6 : firstEndpoint
        let savedFlags = kernel.statusFlags(fd)
        guard savedFlags >= 0 else { throw .io(errno: kernel.errno) }
        return try handshake(fd: fd, chain: chain, target: target, destination: destination, timeouts: timeouts,
                      blockingFlags: savedFlags & O_NONBLOCK == 0 ? savedFlags : nil, kernel: kernel,
                      sendTimeoutMilliseconds: savedFlags & O_NONBLOCK == 0 ? sendTimeoutMilliseconds : nil,
                      asynchronous: asynchronous && savedFlags & O_NONBLOCK != 0, interrupted: interrupted)
    }

    /// Builds the tunnel on a new socket and moves it onto the program's descriptor number: for
    /// a socket whose family cannot reach the proxy, and for failover, where a failed attempt
    /// must leave nothing behind on the program's socket.
    @discardableResult
    public static func openOnReplacementSocket(
        fd: Int32, chain: [ProxySpec], firstEndpoint: Endpoint,
        destination: SocksDestination, timeouts: Timeouts, kernel: Kernel = RealKernel.shared
    ) throws(SocksError) -> Endpoint? {
        let savedFlags = kernel.statusFlags(fd)
        let descriptorFlags = kernel.descriptorFlags(fd)
        guard savedFlags >= 0, descriptorFlags >= 0 else { throw .io(errno: kernel.errno) }
        let tunnel = kernel.socket(firstEndpoint.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
        guard tunnel >= 0 else { throw .io(errno: kernel.errno) }
        defer { _ = kernel.close(tunnel) }
        let bound = try handshake(fd: tunnel, chain: chain, target: firstEndpoint, destination: destination, timeouts: timeouts, kernel: kernel)
        let cloexec = descriptorFlags & FD_CLOEXEC != 0 ? Int32(O_CLOEXEC) : 0
        guard kernel.dup3(tunnel, fd, cloexec) >= 0 else { throw .io(errno: kernel.errno) }
        _ = kernel.setStatusFlags(fd, savedFlags)
        return bound
    }

    /// `interrupted`: offered how far the exchange got when a signal ends a wait (EINTR); when it
    /// keeps it (returns true) the socket is left as it is, for the program's next call to
    /// finish (POSIX: an interrupted connect goes on); otherwise it is disconnected as on any
    /// failure. `asynchronous` (a non-blocking socket): the exchange goes as far as it can without
    /// waiting and is then offered the same way, as EINPROGRESS; the program's waits finish it.
    @discardableResult
    static func handshake(
        fd: Int32, chain: [ProxySpec], target: Endpoint, destination: SocksDestination, timeouts: Timeouts,
        blockingFlags: Int32? = nil, kernel: Kernel = RealKernel.shared, sendTimeoutMilliseconds: Int? = nil,
        asynchronous: Bool = false, interrupted: (TunnelProgress) -> Bool = { _ in false }
    ) throws(SocksError) -> Endpoint? {
        var progress = TunnelProgress(chain: chain, destination: destination, proxy: target, timeouts: timeouts, kernel: kernel)
        // A blocking socket's SO_SNDTIMEO bounds its connect, as without socksify.
        if let sendTimeoutMilliseconds { progress.programDeadline = .after(milliseconds: sendTimeoutMilliseconds, on: kernel) }
        do throws(SocksError) {
            try progress.start(fd: fd, blockingFlags: blockingFlags, kernel: kernel)
            if asynchronous {
                guard let need = try progress.advance(fd: fd, kernel: kernel) else { return progress.bound }
                progress.waitingFor = need
                progress.asynchronous = true
                throw .socketState(errno: EINPROGRESS)
            }
            try progress.finish(fd: fd, kernel: kernel)
            return progress.bound
        } catch {
            // A signal, or the program's own SO_SNDTIMEO: the exchange can go on later.
            if case .socketState(let e) = error, e == EINTR || e == EINPROGRESS, interrupted(progress) { throw error }
            // Leave the socket as a failed plain connect would: unconnected, nothing the program
            // could write into, free to connect again. A misuse (EISCONN, EALREADY) leaves it be.
            if case .socketState(let e) = error, e != EINTR && e != EINPROGRESS { throw error }
            _ = kernel.disconnect(fd)
            throw error
        }
    }

    /// How one hop names the next proxy: its address, or its name for the hop to resolve.
    static func address(of proxy: ProxySpec) -> SocksDestination {
        if let ip = IPAddress.parse(proxy.host) { return SocksDestination(.ip(ip), port: proxy.port) }
        return SocksDestination(.domain(proxy.host), port: proxy.port)
    }

    /// Only the TCP connect to a proxy (a UDP association's control connection, on a socket of
    /// socksify's own), within the connect timeout.
    /// A UDP association (RFC 1928 §7) on `control`, a new TCP socket: connects it to the proxy
    /// and returns the relay's address (0.0.0.0 or :: meaning the proxy's own).
    public static func associate(control: Int32, proxy spec: ProxySpec, at endpoint: Endpoint, timeouts: Timeouts,
                                 kernel: Kernel = RealKernel.shared) throws(SocksError) -> Endpoint {
        try connectToProxy(fd: control, target: endpoint, timeouts: timeouts, kernel: kernel)
        var transport = SocketTransport(fd: control, deadline: .after(milliseconds: timeouts.handshakeMilliseconds, on: kernel), kernel: kernel)
        let bound = try ClientHandshake.associate(over: &transport, proxy: spec, family: endpoint.family)
        guard case .ip(let address) = bound.address else { throw .malformedReply("the UDP relay is given as a name") }
        return Endpoint(address.isUnspecified ? endpoint.address : address, port: bound.port)
    }

    public static func connectToProxy(fd: Int32, target: Endpoint, timeouts: Timeouts, kernel: Kernel = RealKernel.shared) throws(SocksError) {
        var progress = TunnelProgress(chain: [], destination: SocksDestination(target), proxy: target, timeouts: timeouts, kernel: kernel)
        try progress.start(fd: fd, blockingFlags: nil, kernel: kernel)
        try progress.finish(fd: fd, kernel: kernel)
    }
}
