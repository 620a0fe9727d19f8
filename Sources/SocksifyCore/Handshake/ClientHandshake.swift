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
            var buffer: [UInt8] = []  // every reply in turn: one allocation for the exchange
            try negotiateSocks5Method(over: &transport, credentials: proxy.credentials, buffer: &buffer)
            buffer.removeAll(keepingCapacity: true)
            return try socks5Request(over: &transport, Socks5Request(command: .connect, destination: destination), buffer: &buffer)
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
        var buffer: [UInt8] = []
        try negotiateSocks5Method(over: &transport, credentials: credentials, buffer: &buffer)
    }

    /// The two greetings socksify sends, encoded once.
    static let greetingWithoutPassword = try! Socks5Greeting(methods: [.noAuthentication]).encode()
    static let greetingWithPassword = try! Socks5Greeting(methods: [.noAuthentication, .usernamePassword]).encode()

    static func negotiateSocks5Method<T: HandshakeTransport>(
        over transport: inout T, credentials: ProxyCredentials?, buffer: inout [UInt8]
    ) throws(SocksError) {
        try transport.send(credentials == nil ? greetingWithoutPassword : greetingWithPassword)
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
            buffer.removeAll(keepingCapacity: true)
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
        var buffer: [UInt8] = []
        return try socks5Request(over: &transport, request, buffer: &buffer)
    }

    static func socks5Request<T: HandshakeTransport>(
        over transport: inout T, _ request: Socks5Request, buffer: inout [UInt8]
    ) throws(SocksError) -> SocksDestination {
        try transport.send(try request.encode())
        let reply: Socks5Reply
        do {
            // Proxies answer with an IPv4 BND.ADDR (10 bytes): read that much at once when it is
            // there, rather than the 5 that are safe for any reply and then the rest.
            reply = try transport.read(Socks5Reply.decode, buffer: &buffer, likely: 10)
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
