import SocksifyLibc

/// Runs the client side of a SOCKS handshake over any transport: what to send, what to expect,
/// and which failure each answer means. Knows nothing of sockets.
public enum ClientHandshake {
    /// Asks `proxy` to CONNECT to `destination`; returns the address the proxy bound, if it said.
    @discardableResult
    public static func connect<T: HandshakeTransport>(
        over transport: inout T, proxy: ProxySpec, to destination: SocksDestination
    ) throws(SocksError) -> SocksDestination? {
        switch proxy.proto {
        case .socks5, .socks5h:
            try negotiateSocks5Method(over: &transport, credentials: proxy.credentials)
            return try socks5Request(over: &transport, Socks5Request(command: .connect, destination: destination))
        case .socks4, .socks4a:
            if case .domain = destination.address, proxy.proto == .socks4 {
                throw .unsupportedDestination("SOCKS4 cannot carry a host name; use socks4a://")
            }
            let request = Socks4Request(destination: destination, userID: proxy.credentials?.username ?? [])
            try transport.send(try request.encode())
            var buffer: [UInt8] = []
            let reply = try transport.read(Socks4Reply.decode, buffer: &buffer)
            guard reply.code == .granted else { throw .socks4Refused(reply.code) }
            return SocksDestination(.ip(.v4(reply.address)), port: reply.port)
        }
    }

    /// Opens a UDP association (RFC 1928 section 7) on a connection to a SOCKS5 proxy; returns
    /// the relay address the proxy answers with. The client's address is sent as all zeros:
    /// the datagrams' source is not known to us as the proxy will see it.
    public static func associate<T: HandshakeTransport>(
        over transport: inout T, proxy: ProxySpec, family: Int32
    ) throws(SocksError) -> SocksDestination {
        guard proxy.proto.isSocks5 else { throw .unsupportedDestination("SOCKS4 cannot carry UDP") }
        try negotiateSocks5Method(over: &transport, credentials: proxy.credentials)
        let any: IPAddress = family == AF_INET6 ? .v6(IPv6Address(high: 0, low: 0)) : .v4(IPv4Address(0))
        return try socks5Request(over: &transport, Socks5Request(command: .udpAssociate, destination: SocksDestination(.ip(any), port: 0)))
    }

    /// Greeting, method selection and, when chosen, RFC 1929 username/password.
    public static func negotiateSocks5Method<T: HandshakeTransport>(
        over transport: inout T, credentials: ProxyCredentials?
    ) throws(SocksError) {
        let offered: [Socks5AuthMethod] = credentials == nil
            ? [.noAuthentication] : [.noAuthentication, .usernamePassword]
        try transport.send(try Socks5Greeting(methods: offered).encode())
        var buffer: [UInt8] = []
        let selection = try transport.read(Socks5MethodSelection.decode, buffer: &buffer)
        switch selection.method {
        case .noAuthentication:
            return
        case .usernamePassword:
            guard let credentials else {
                throw .malformedReply("proxy chose username/password, which was not offered")
            }
            let request = Socks5PasswordRequest(username: credentials.username, password: credentials.password)
            try transport.send(try request.encode())
            buffer.removeAll()
            let reply = try transport.read(Socks5PasswordReply.decode, buffer: &buffer)
            guard reply.succeeded else { throw .authenticationFailed(status: reply.status) }
        case .noAcceptableMethods:
            throw .noAcceptableMethod
        default:
            throw .malformedReply("proxy chose method " + String(selection.method.rawValue) + ", which was not offered")
        }
    }

    /// Sends a request and reads its reply; a refusal cut short by the proxy closing is still
    /// reported as the refusal it began to say.
    public static func socks5Request<T: HandshakeTransport>(
        over transport: inout T, _ request: Socks5Request
    ) throws(SocksError) -> SocksDestination {
        try transport.send(try request.encode())
        var buffer: [UInt8] = []
        let reply: Socks5Reply
        do {
            reply = try transport.read(Socks5Reply.decode, buffer: &buffer)
        } catch {
            if case .closedByProxy = error, let code = Socks5Reply.refusal(inPartial: buffer[...]) {
                throw .socks5Refused(code)
            }
            throw error
        }
        guard reply.code == .succeeded else { throw .socks5Refused(reply.code) }
        return reply.bound
    }
}
