import SocksifyLibc

// SOCKS5 BIND (RFC 1928 §4, §6): a program behind the proxy accepts a connection the far side
// opens back, as active-mode FTP does (the client listens, sends the address with PORT, accepts
// the data connection). Which listening sockets go through the proxy: one bound to a specific
// address with port 0, where that address is the one the machine uses to reach a SOCKS5 proxy
// of the rules (an FTP client binds the local address of its control connection, which is a
// tunnel to that proxy). A server's socket (a fixed port, or the wildcard address) keeps
// listening locally. docs/bind.md.
//
// At listen the program's own socket connects to the proxy and asks it to BIND; getsockname then
// answers the address the proxy listens on (its first reply). The far side's arrival is the
// second reply on the same socket, so poll, select and epoll see it as readable, as a listening
// socket with a connection waiting; accept reads that reply and returns a copy of the socket
// (dup), now the data connection, with the far side's address. One connection per BIND.

extension Shim {
    /// bind(2) succeeded with a specific address and port 0: a listen may follow.
    public func noteBind(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) {
        guard case .tcp? = transport(of: fd), let bound = Endpoint(sockaddr: UnsafeRawPointer(address), length: Int(length)) else { return }
        binds.note(fd, bound)
    }

    /// listen(2): a BIND through the proxy for a candidate the rules' SOCKS5 proxy is reached
    /// from (made already when the program asked getsockname first); SX_PASS for every other
    /// socket.
    public func listen(_ fd: Int32, _ backlog: Int32) -> Int32 {
        if binds.tunnel(fd) != nil {
            binds.markListening(fd)
            return 0
        }
        let made = startBind(fd)
        if made == 0 { binds.markListening(fd) }
        return made
    }

    /// A candidate becomes a BIND: 0, -1 with errno, or SX_PASS (not one the proxy carries).
    func startBind(_ fd: Int32) -> Int32 {
        guard let bound = binds.takeCandidate(fd) else { return SX_PASS }
        guard let (spec, proxy) = bindProxy(reachedFrom: bound.address) else { return SX_PASS }
        let what = "listen " + bound.text + " via " + spec.displayName + " (BIND)"
        do throws(SocksError) {
            try ProxyTunnel.connectToProxy(fd: fd, target: proxy, timeouts: settings.timeouts, kernel: kernel)
            var transport = SocketTransport(fd: fd, deadline: .after(milliseconds: settings.timeouts.handshakeMilliseconds, on: kernel), kernel: kernel)
            try ClientHandshake.negotiateSocks5Method(over: &transport, credentials: spec.credentials)
            // The far side's address is not known yet: any (RFC 1928 lets the proxy check it).
            let any: IPAddress = proxy.family == AF_INET6 ? .v6(IPv6Address(high: 0, low: 0)) : .v4(IPv4Address(0))
            let first = try ClientHandshake.socks5Request(over: &transport, Socks5Request(command: .bind, destination: SocksDestination(.ip(any), port: 0)))
            guard case .ip(let address) = first.address else { throw .malformedReply("a BIND reply with a host name") }
            // 0.0.0.0: the proxy listens on the address we reached it at.
            let unspecified = address == .v4(IPv4Address(0)) || address == .v6(IPv6Address(high: 0, low: 0))
            let listening = Endpoint(unspecified ? proxy.address : address, port: first.port)
            binds.keep(BindTunnels.Tunnel(fd: fd, address: bound, announced: listening, proxy: spec.displayName))
            log.info(what + ": the far side connects to " + listening.text)
            return 0
        } catch {
            log.error(what + " failed: " + error.reason + "; program sees " + ErrnoName.name(error.errno))
            return fail(error.errno)
        }
    }

    /// The first single SOCKS5 proxy of the rules that this machine reaches from `address`.
    func bindProxy(reachedFrom address: IPAddress) -> (ProxySpec, Endpoint)? {
        for (index, named) in roster.proxies.enumerated() where named.spec.proto.isSocks5 {
            guard case .success(let endpoint) = roster.endpoint(index) else { continue }
            if sourceAddress(towards: endpoint) == address.unmapped { return (named.spec, endpoint) }
        }
        return nil
    }

    /// The local address the kernel picks for a connection to `endpoint` (a UDP connect sends
    /// nothing).
    func sourceAddress(towards endpoint: Endpoint) -> IPAddress? {
        let probe = kernel.socket(endpoint.family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
        guard probe >= 0 else { return nil }
        defer { _ = kernel.close(probe) }
        guard kernel.connect(probe, endpoint) == 0 else { return nil }
        return localEndpoint(probe)?.address.unmapped
    }

    func localEndpoint(_ fd: Int32) -> Endpoint? {
        var storage = sockaddr_in6()
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let got = withUnsafeMutableBytes(of: &storage) { raw in
            sx_real_getsockname(fd, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), &length)
        }
        guard got == 0 else { return nil }
        return withUnsafeBytes(of: &storage) { Endpoint(sockaddr: $0.baseAddress!, length: Int(length)) }
    }

    /// accept(2)/accept4 on a BIND: the second reply, then a copy of the socket as the data
    /// connection. SX_PASS for every other socket.
    public func accept(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: UnsafeMutablePointer<socklen_t>?, flags: Int32) -> Int32 {
        guard let tunnel = binds.tunnel(fd) else { return SX_PASS }
        let nonBlocking = kernel.statusFlags(fd) & O_NONBLOCK != 0
        guard !tunnel.accepted else {
            // A BIND carries one connection: no other will come.
            if nonBlocking { return fail(EAGAIN) }
            log.error("accept on " + tunnel.announced.text + " (BIND via " + tunnel.proxy + "): a BIND carries one connection, and it was accepted; program sees EINVAL")
            return fail(EINVAL)
        }
        let reply: SocksDestination
        switch secondReply(fd, nonBlocking: nonBlocking) {
        case .waiting: return fail(EAGAIN)
        case .interrupted: return fail(EINTR)
        case .failed(let error):
            log.error("accept on " + tunnel.announced.text + " (BIND via " + tunnel.proxy + ") failed: " + error.reason
                      + "; program sees " + ErrnoName.name(error.errno))
            return fail(error.errno)
        case .arrived(let bound): reply = bound
        }
        let command = flags & Int32(SOCK_CLOEXEC.rawValue) != 0 ? F_DUPFD_CLOEXEC : F_DUPFD
        let copy = sx_real_fcntl(fd, command, 0)
        guard copy >= 0 else { return -1 }
        if flags & Int32(SOCK_NONBLOCK.rawValue) != 0 { _ = kernel.setStatusFlags(copy, kernel.statusFlags(copy) | O_NONBLOCK) }
        binds.markAccepted(fd)
        var far: Endpoint? = nil
        if case .ip(let ip) = reply.address { far = Endpoint(ip, port: reply.port) }
        if let far {
            peers.record(socket: UInt64(UInt32(bitPattern: copy)), destination: far)
            kernel.setFacts(copy, SX_FACT_PEER, SX_FACT_PEER)
            if let address, let length {
                let bytes = (sx_socket_domain(fd) == AF_INET6 ? far.asIPv6 : far).sockaddrBytes
                let room = Int(length.pointee)
                bytes.withUnsafeBytes { raw in
                    UnsafeMutableRawPointer(address).copyMemory(from: raw.baseAddress!, byteCount: min(room, bytes.count))
                }
                length.pointee = socklen_t(bytes.count)
            }
        }
        log.info("accept on " + tunnel.announced.text + " (BIND via " + tunnel.proxy + "): " + reply.text)
        return copy
    }

    enum SecondReply { case waiting, interrupted, failed(SocksError), arrived(SocksDestination) }

    /// The proxy's second reply, read exactly to its end (the data connection follows it). A
    /// non-blocking socket takes it only when it has arrived whole; a blocking one waits for its
    /// first byte as long as accept would, then for the rest within the handshake timeout.
    func secondReply(_ fd: Int32, nonBlocking: Bool) -> SecondReply {
        if nonBlocking {
            var ahead = [UInt8](repeating: 0, count: 262)
            let n = ahead.withUnsafeMutableBytes { kernel.receive(fd, $0, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT)) }
            if n < 0 { return kernel.errno == EAGAIN || kernel.errno == EWOULDBLOCK ? .waiting : .failed(.io(errno: kernel.errno)) }
            if n == 0 { return .failed(.closedByProxy(received: 0, expected: 10)) }
            do throws(SocksError) {
                guard case .message = try Socks5Reply.decode(ahead[0..<n]) else { return .waiting }
            } catch {
                return .failed(error)
            }
        } else {
            while kernel.poll(fd, Int16(POLLIN), -1) < 0 {
                if kernel.errno != EINTR { return .failed(.io(errno: kernel.errno)) }
                if kernel.signalInterrupts() { return .interrupted }
            }
        }
        var transport = SocketTransport(fd: fd, deadline: .after(milliseconds: settings.timeouts.handshakeMilliseconds, on: kernel), kernel: kernel)
        var buffer: [UInt8] = []
        do throws(SocksError) {
            return .arrived(try ClientHandshake.socks5Reply(over: &transport, buffer: &buffer))
        } catch {
            return .failed(error)
        }
    }

    /// getsockname(2) on a BIND: where the proxy listens, what the program announces. A
    /// candidate asked before its listen (curl learns the port so) becomes a BIND now.
    public func getsockname(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: UnsafeMutablePointer<socklen_t>?) -> Int32 {
        if binds.isCandidate(fd) {
            let made = startBind(fd)
            if made != 0 { return made }
        }
        guard let tunnel = binds.tunnel(fd) else { return SX_PASS }
        guard let address, let length else { return fail(EFAULT) }
        let bytes = (sx_socket_domain(fd) == AF_INET6 ? tunnel.announced.asIPv6 : tunnel.announced).sockaddrBytes
        let room = Int(length.pointee)
        bytes.withUnsafeBytes { raw in
            UnsafeMutableRawPointer(address).copyMemory(from: raw.baseAddress!, byteCount: min(room, bytes.count))
        }
        length.pointee = socklen_t(bytes.count)
        return 0
    }

    public func forgetBind(_ fd: Int32) { binds.forget(fd) }

    /// connect(2) on a socket made a BIND before any listen (a client that bound its source
    /// address and asked getsockname): it was no listener after all. The connection to the
    /// proxy is dissolved (connect AF_UNSPEC) and the program's connect goes on as usual.
    public func releaseBind(_ fd: Int32) {
        binds.forgetCandidate(fd)
        guard let tunnel = binds.tunnel(fd), !tunnel.listening else { return }
        binds.forget(fd)
        var unspecified = sockaddr()
        unspecified.sa_family = sa_family_t(AF_UNSPEC)
        _ = kernel.connect(fd, &unspecified, socklen_t(MemoryLayout<sockaddr>.size))
        log.info("connect on " + tunnel.address.text + ": no listener after all; the BIND via " + tunnel.proxy + " is dropped")
    }
}
