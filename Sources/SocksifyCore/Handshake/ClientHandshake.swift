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
            return try socks5(over: &transport, proxy: proxy, Socks5Request(command: .connect, destination: destination))
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
        case .http:
            let login = proxy.credentials.map { (username: $0.username, password: $0.password) }
            try transport.send(try HTTPConnectRequest(destination: destination, login: login).encode())
            var buffer: [UInt8] = []
            let response = try transport.readHTTPHead(buffer: &buffer)
            guard response.succeeded else {
                throw .httpRefused(status: response.status, line: response.statusLine, realm: response.realm,
                                   loggedIn: proxy.credentials != nil)
            }
            return nil  // CONNECT's answer names no bound address
        }
    }

    /// Opens a UDP association (RFC 1928 section 7) on a connection to a SOCKS5 proxy; returns
    /// the relay address the proxy answers with. The client's address is sent as all zeros:
    /// the datagrams' source is not known to us as the proxy will see it.
    public static func associate<T: HandshakeTransport>(
        over transport: inout T, proxy: ProxySpec, family: Int32
    ) throws(SocksError) -> SocksDestination {
        guard proxy.proto.carriesUDP else {
            throw .unsupportedDestination(proxy.proto == .http ? "HTTP CONNECT cannot carry UDP" : "SOCKS4 cannot carry UDP")
        }
        let any: IPAddress = family == AF_INET6 ? .v6(IPv6Address(high: 0, low: 0)) : .v4(IPv4Address(0))
        return try socks5(over: &transport, proxy: proxy, Socks5Request(command: .udpAssociate, destination: SocksDestination(.ip(any), port: 0)))
    }

    /// One SOCKS5 exchange: lockstep, or pipelined when the proxy is configured so.
    static func socks5<T: HandshakeTransport>(
        over transport: inout T, proxy: ProxySpec, _ request: Socks5Request
    ) throws(SocksError) -> SocksDestination {
        var buffer: [UInt8] = []  // every reply in turn: one allocation for the exchange
        if proxy.pipelines {
            try pipelineSocks5(over: &transport, credentials: proxy.credentials, request, buffer: &buffer)
        } else {
            try negotiateSocks5Method(over: &transport, credentials: proxy.credentials, buffer: &buffer)
            buffer.removeAll(keepingCapacity: true)
            try transport.send(try request.encode())
        }
        buffer.removeAll(keepingCapacity: true)
        return try socks5Reply(over: &transport, buffer: &buffer)
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
    /// A pipelined greeting offers only the method the rest of its write assumes.
    static let greetingOnlyPassword = try! Socks5Greeting(methods: [.usernamePassword]).encode()

    /// Greeting, RFC 1929 sub-negotiation (with credentials) and request in one write, then the
    /// answers to all but the request read in order, exactly to their end, as in lockstep
    /// (docs/async-handshake.md, "Pipelining"). Never any of the program's bytes: a proxy that
    /// refuses the method or the password then cannot have forwarded anything.
    static func pipelineSocks5<T: HandshakeTransport>(
        over transport: inout T, credentials: ProxyCredentials?, _ request: Socks5Request, buffer: inout [UInt8]
    ) throws(SocksError) {
        var write = credentials == nil ? greetingWithoutPassword : greetingOnlyPassword
        if let credentials {
            write += try Socks5PasswordRequest(username: credentials.username, password: credentials.password).encode()
        }
        write += try request.encode()
        try transport.send(write)
        // The answers come back to back: acknowledge each at once, or a proxy without
        // TCP_NODELAY holds the next back for our delayed ACK (40 ms), more than was saved.
        transport.acknowledgeRepliesAtOnce()
        guard credentials != nil else {
            let selection = try transport.read(Socks5MethodSelection.decode, buffer: &buffer)
            guard selection.method == .noAuthentication else { throw unexpectedMethod(selection.method, offered: .noAuthentication) }
            return
        }
        switch try transport.read(decodeAnswerToPasswordGreeting, buffer: &buffer) {
        case .selection(let method) where method == .usernamePassword:
            buffer.removeAll(keepingCapacity: true)
            let reply = try transport.read(Socks5PasswordReply.decode, buffer: &buffer)
            guard reply.succeeded else { throw .authenticationFailed(status: reply.status) }
        case .selection(let method):
            throw unexpectedMethod(method, offered: .usernamePassword)
        case .passwordStatus(let reply):
            guard reply.succeeded else { throw .authenticationFailed(status: reply.status) }
        }
    }

    enum AnswerToPasswordGreeting { case selection(Socks5AuthMethod), passwordStatus(Socks5PasswordReply) }

    /// The first answer to a pipelined greeting that offered only 02: the method selection
    /// (`05 MM`), or Tor's RFC 1929 status (`01 SS`) with the selection left out (Tor parses the
    /// messages of one read together and answers only the last). Only 02 was offered, so an
    /// answer that starts with 01 can only mean "02 chosen".
    static func decodeAnswerToPasswordGreeting(_ bytes: ArraySlice<UInt8>) throws(SocksError) -> DecodeResult<AnswerToPasswordGreeting> {
        if bytes.first == 0x01 {
            switch try Socks5PasswordReply.decode(bytes) {
            case .message(let reply, let consumed): return .message(.passwordStatus(reply), consumed: consumed)
            case .needMore(let total): return .needMore(total: total)
            }
        }
        switch try Socks5MethodSelection.decode(bytes) {
        case .message(let selection, let consumed): return .message(.selection(selection.method), consumed: consumed)
        case .needMore(let total): return .needMore(total: total)
        }
    }

    static func unexpectedMethod(_ method: Socks5AuthMethod, offered: Socks5AuthMethod) -> SocksError {
        if method == .noAcceptableMethods { return .noAcceptableMethod }
        return .malformedReply("proxy chose method " + String(method.rawValue) + ", but only " + String(offered.rawValue) + " was offered")
    }

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
        return try socks5Reply(over: &transport, buffer: &buffer)
    }

    /// Reads the reply to a request already sent.
    static func socks5Reply<T: HandshakeTransport>(
        over transport: inout T, buffer: inout [UInt8]
    ) throws(SocksError) -> SocksDestination {
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
