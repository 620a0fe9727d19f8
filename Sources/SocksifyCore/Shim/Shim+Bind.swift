import SocksifyLibc

// SOCKS5 BIND (RFC 1928 §4, §6): a program behind the proxy accepts a connection the far side
// opens back, as active-mode FTP does (docs/bind.md). getsockname on a tunnel answers the
// address the proxy connects from (its CONNECT reply's BND), so an FTP client announces that
// host; the client then binds its data socket to that address with port 0, which is not a local
// address: that bind is taken here (the kernel never sees it) and the socket becomes a BIND
// through the same proxy at its first getsockname or listen. A server's socket (a local address,
// a fixed port) keeps listening locally.
//
// The BIND is made on the program's own socket: it connects to the proxy and asks it to BIND;
// getsockname answers where the proxy listens (its first reply). The far side's arrival is the
// second reply on the same socket, so poll, select and epoll see it as readable, as a listening
// socket with a connection waiting; accept reads that reply and returns a copy of the socket
// (dup), now the data connection, with the far side's address. One connection per BIND.

extension Shim {
    /// bind(2) with a specific address and port 0, before the kernel sees it: an address a
    /// tunnel's proxy connects from makes the socket a BIND candidate (0: taken); SX_PASS for
    /// every other bind.
    public func bindRequested(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
        guard let wanted = Endpoint(sockaddr: UnsafeRawPointer(address), length: Int(length)), wanted.port == 0,
              case .tcp? = transport(of: fd) else { return SX_PASS }
        let current: (UInt64) -> Bool = { self.kernel.facts(Int32(truncatingIfNeeded: $0)) & SX_FACT_PEER != 0 }
        guard let (_, control) = peers.socket(boundAt: wanted.address.unmapped, current: current) else { return SX_PASS }
        binds.note(BindTunnels.Candidate(fd: fd, address: wanted, control: control.destination))
        log.info("bind " + wanted.text + ": the address the proxy connects from; a listen here is a BIND through it")
        return 0
    }

    /// listen(2): a BIND through the proxy for a candidate (made already when the program asked
    /// getsockname first); SX_PASS for every other socket.
    public func listen(_ fd: Int32, _ backlog: Int32) -> Int32 {
        if binds.tunnel(fd) != nil {
            binds.markListening(fd)
            return 0
        }
        let made = startBind(fd)
        if made == 0 { binds.markListening(fd) }
        return made
    }

    /// A candidate becomes a BIND through the proxy its control connection went through: 0, -1
    /// with errno, or SX_PASS (not a candidate).
    func startBind(_ fd: Int32) -> Int32 {
        guard let candidate = binds.takeCandidate(fd) else { return SX_PASS }
        var what = "listen " + candidate.address.text + " (BIND for " + candidate.control.text + ")"
        guard case .proxy(.via(let index), _) = TrafficVerdict.decide(trafficAttempt(.tcp, to: candidate.control), policy),
              roster.proxies[index].spec.proto.isSocks5, case .success(let proxy) = roster.endpoint(index) else {
            // The kernel would have refused a bind to a foreign address so.
            log.error(what + " refused: a BIND needs the route to be one SOCKS5 proxy; program sees EADDRNOTAVAIL")
            return fail(EADDRNOTAVAIL)
        }
        let spec = roster.proxies[index].spec
        what += " via " + spec.displayName
        do throws(SocksError) {
            try ProxyTunnel.connectToProxy(fd: fd, target: proxy, timeouts: settings.timeouts, kernel: kernel)
            var transport = SocketTransport(fd: fd, deadline: .after(milliseconds: settings.timeouts.handshakeMilliseconds, on: kernel), kernel: kernel)
            try ClientHandshake.negotiateSocks5Method(over: &transport, credentials: spec.credentials)
            // The far side is expected from the control connection's host (RFC 1928 lets the
            // proxy check it); for a synthetic address the proxy knows the host by name: any.
            let expected: IPAddress = names.pool.position(of: candidate.control.address) == nil ? candidate.control.address.unmapped
                : proxy.family == AF_INET6 ? .v6(IPv6Address(high: 0, low: 0)) : .v4(IPv4Address(0))
            let first = try ClientHandshake.socks5Request(over: &transport, Socks5Request(command: .bind, destination: SocksDestination(.ip(expected), port: 0)))
            guard case .ip(let address) = first.address else { throw .malformedReply("a BIND reply with a host name") }
            // 0.0.0.0: the proxy listens on the address we reached it at.
            let unspecified = address == .v4(IPv4Address(0)) || address == .v6(IPv6Address(high: 0, low: 0))
            let listening = Endpoint(unspecified ? proxy.address : address, port: first.port)
            binds.keep(BindTunnels.Tunnel(fd: fd, address: candidate.address, announced: listening, proxy: spec.displayName))
            log.info(what + ": the far side connects to " + listening.text)
            return 0
        } catch {
            log.error(what + " failed: " + error.reason + "; program sees " + ErrnoName.name(error.errno))
            return fail(error.errno)
        }
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
            if let address, let length { far.write(to: address, length: length, asIPv6: sx_socket_domain(fd) == AF_INET6) }
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

    /// getsockname(2) on a BIND: where the proxy listens, what the program announces (a
    /// candidate asked before its listen, as curl learns its port, becomes a BIND now); on a
    /// tunnel: where its proxy connects from. SX_PASS for every other socket.
    public func getsockname(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: UnsafeMutablePointer<socklen_t>?) -> Int32 {
        if binds.isCandidate(fd) {
            let made = startBind(fd)
            if made != 0 { return made }
        }
        let answer: Endpoint
        if let tunnel = binds.tunnel(fd) {
            answer = tunnel.announced
        } else if kernel.facts(fd) & SX_FACT_PEER != 0, let bound = peers.peer(ofSocket: UInt64(UInt32(bitPattern: fd)))?.bound {
            answer = bound  // a tunnel: where the proxy connects from
        } else {
            return SX_PASS
        }
        guard let address, let length else { return fail(EFAULT) }
        answer.write(to: address, length: length, asIPv6: sx_socket_domain(fd) == AF_INET6)
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
