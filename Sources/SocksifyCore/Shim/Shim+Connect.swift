import SocksifyLibc

extension Shim {
    /// connect(2). Returns what connect returns, with errno set on failure.
    public func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>?, _ length: socklen_t) -> Int32 {
        let facts = kernel.facts(fd)  // read once: this is on every connect of the program
        if facts & 4 != 0 { return connectInterrupted(fd) }
        guard let address, let destination = Endpoint(sockaddr: UnsafeRawPointer(address), length: Int(length)) else {
            if let family = Shim.internetFamily(address, length) {
                // Fail closed: an IP address we cannot read is not handed to the kernel, which might.
                log.error("connect refused: an " + family + " address socksify cannot read (" + String(length) + " bytes); program sees EINVAL")
                return fail(EINVAL)
            }
            guard let association = associations.of(fd) else {
                let result = kernel.connect(fd, address, length)
                // AF_UNSPEC dissolves a TCP connection too: a tunnel no more.
                if result == 0 { kernel.setFacts(fd, SX_FACT_PEER, 0) }
                return result
            }
            // AF_UNSPEC: the program dissolves its UDP "connection"; the association stays.
            association.peer = nil
            return kernel.connect(fd, address, length)
        }
        // A tunnel is a connected socket (the kernel may still call it "connecting": see
        // TunnelProgress.finish), so connect answers as it would on one.
        if facts & SX_FACT_PEER != 0 { return fail(EISCONN) }
        guard let transport = transport(of: fd, facts: facts) else { return kernel.connect(fd, address, length) }  // ENOTSOCK, EBADF: the kernel says so
        if transport == .udp { return connectDatagram(fd, destination: destination, address: address, length: length) }
        let attempt = trafficAttempt(transport, to: destination)
        let asked = askedFor(attempt, destination)
        switch TrafficVerdict.decide(attempt, policy) {
        case .refuse(let errno, let why):
            log.error("connect " + asked.text + " refused: " + why + "; program sees " + ErrnoName.name(errno))
            return fail(errno)
        case .direct(let why):
            guard transport == .tcp else {
                log.info("connect " + asked.text + " direct" + why + " (" + transport.name + ")")
                return kernel.connect(fd, address, length)
            }
            return connectDirect(fd, destination: destination, asked: asked, why: why)
        case .proxy(let action, _):
            switch action {
            case .via(let proxy): return connectThroughProxies(fd, chain: [proxy], destination: destination, asked: asked)
            case .chain(let chain): return connectThroughProxies(fd, chain: chain, destination: destination, asked: asked)
            case .failover(let candidates): return connectWithFailover(fd, candidates: candidates, destination: destination, asked: asked)
            case .direct, .block: return fail(EPERM)  // not reached: the verdict never proxies these
            }
        }
    }

    /// The socket's transport: what the program told socket() when the registry noted it (no
    /// system call), else the kernel's answer; nil when fd is not a socket.
    func transport(of fd: Int32, facts: Int32? = nil) -> TransportKind? {
        switch ((facts ?? kernel.facts(fd)) & SX_FACT_KIND) >> SX_FACT_KIND_SHIFT {
        case 1: return .tcp
        case 2: return .udp
        default:
            let type = kernel.socketType(fd)
            guard type >= 0 else { return nil }
            return TransportKind.of(type: type, protocol: kernel.socketProtocol(fd))
        }
    }

    /// What the verdict sees of a connect or send to `destination`: the name behind a synthetic
    /// address, else the address with the name libc gave for it when rules match names.
    func trafficAttempt(_ transport: TransportKind, to destination: Endpoint) -> TrafficAttempt {
        var attempt = TrafficAttempt(transport: transport, address: destination.address, port: destination.port)
        switch nameBehind(destination) {
        case .forgotten: attempt.forgottenSynthetic = true
        case .name(let name):
            attempt.proxyName = name
            attempt.address = nil
        case .none:
            attempt.isProxy = roster.isProxy(destination)
            if router.matchesNames { attempt.localName = localNames.name(of: destination.address.unmapped) }
        }
        return attempt
    }

    /// What a proxy is asked for: the name behind a synthetic address, else the address.
    func askedFor(_ attempt: TrafficAttempt, _ destination: Endpoint) -> SocksDestination {
        if let name = attempt.proxyName { return SocksDestination(.domain(HostName.string(name)), port: destination.port) }
        return SocksDestination(destination)
    }

    /// "IPv4"/"IPv6" when `address` claims an internet family, whatever its length.
    static func internetFamily(_ address: UnsafePointer<sockaddr>?, _ length: socklen_t) -> String? {
        guard let address, length >= 2 else { return nil }
        let family = Int32(UnsafeRawPointer(address).load(as: sa_family_t.self))
        return family == AF_INET ? "IPv4" : family == AF_INET6 ? "IPv6" : nil
    }

    /// A synthetic address's name, if the address is one.
    enum SyntheticName { case none, name([UInt8]), forgotten }

    func nameBehind(_ destination: Endpoint) -> SyntheticName {
        guard names.remote, names.pool.position(of: destination.address) != nil else { return .none }
        guard let name = names.name(forSynthetic: destination.address) else {
            if names.table == nil, let reason = names.unavailableMap {
                log.error(destination.address.text + " is a synthetic address, and the run's name map cannot be used in this process ("
                          + reason + "): no name is known for it")
            }
            return .forgotten
        }
        return .name(name)
    }

    /// A rule says direct. A name behind a synthetic address is then resolved here, locally.
    /// `why` is the verdict's reason, " (loopback)" or " (rule at line 3)".
    func connectDirect(_ fd: Int32, destination: Endpoint, asked: SocksDestination, why: String) -> Int32 {
        var endpoint = destination
        if case .domain(let name) = asked.address {
            guard let found = LocalLookup.first(name, port: asked.port, family: destination.family) else {
                log.error("connect " + asked.text + " direct" + why + " failed: the name does not resolve locally; program sees EHOSTUNREACH")
                return fail(EHOSTUNREACH)
            }
            endpoint = found
        }
        log.info("connect " + asked.text + " direct" + why)
        return endpoint.withSockaddr { kernel.connect(fd, $0, $1) }
    }

    /// Through one proxy, or a chain of them; `destination` is what the program asked for (its
    /// getpeername answer), `asked` what the last proxy is asked for (the address, or the name
    /// behind a synthetic one).
    func connectThroughProxies(_ fd: Int32, chain: [Int], destination: Endpoint, asked: SocksDestination) -> Int32 {
        return attempt(fd, chain: chain, destination: destination, asked: asked, replacingSocket: false) {
            "connect " + asked.text + " via " + chain.map { self.roster.label($0) }.joined(separator: " > ")
        }.result
    }

    /// The first candidate that works; a failed one is skipped for a while (failover-retry).
    func connectWithFailover(_ fd: Int32, candidates: [Int], destination: Endpoint, asked: SocksDestination) -> Int32 {
        let now = kernel.monotonicNanoseconds()
        var order = candidates.filter { !roster.isDead($0, now: now) }
        if order.isEmpty { order = candidates }  // all marked dead: try them all again rather than fail
        var last: Int32 = -1
        for (i, candidate) in order.enumerated() {
            let outcome = attempt(fd, chain: [candidate], destination: destination, asked: asked, replacingSocket: true) {
                "connect " + asked.text + " via " + self.roster.label(candidate) + " (failover " + String(i + 1) + " of " + String(order.count) + ")"
            }
            last = outcome.result
            guard outcome.result != 0, outcome.proxyFailed else { return outcome.result }
            let retry = UInt64(router.rules.options.failoverRetryMilliseconds) * 1_000_000
            roster.markDead(candidate, until: kernel.monotonicNanoseconds() + retry)
        }
        return last
    }

    /// `via` describes the attempt for log lines; it is only built when one is printed.
    func attempt(_ fd: Int32, chain: [Int], destination: Endpoint, asked: SocksDestination,
                 replacingSocket: Bool, via: () -> String) -> (result: Int32, proxyFailed: Bool) {
        let first: Endpoint
        switch roster.endpoint(chain[0]) {
        case .success(let endpoint): first = endpoint
        case .failure(let problem):
            log.error(via() + " failed: " + problem.message + "; program sees EHOSTUNREACH")
            return (fail(EHOSTUNREACH), true)
        }
        let specs = chain.count == 1 ? roster.singleChains[chain[0]] : chain.map { roster.proxies[$0].spec }
        if roster.anyMissingSecret, let missing = chain.lazy.compactMap({ self.roster.proxies[$0].missingSecret }).first {
            let error = SocksError.missingPassword(missing)
            log.error(via() + " failed: " + error.reason + "; program sees " + ErrnoName.name(error.errno))
            return (fail(error.errno), true)
        }
        let savedErrno = kernel.errno  // a successful connect leaves errno as it found it
        let start = kernel.monotonicNanoseconds()
        var asynchronous = false
        var bound: Endpoint? = nil
        do throws(SocksError) {
            if replacingSocket {
                bound = try ProxyTunnel.openOnReplacementSocket(fd: fd, chain: specs, firstEndpoint: first, destination: asked,
                                                        timeouts: settings.timeouts, kernel: kernel)
            } else {
                bound = try ProxyTunnel.open(fd: fd, chain: specs, firstEndpoint: first, destination: asked, timeouts: settings.timeouts,
                                     socketFamily: destination.family, kernel: kernel,
                                     sendTimeoutMilliseconds: kernel.facts(fd) & SX_FACT_SNDTIMEO != 0
                                         ? kernel.sendTimeoutMilliseconds(fd) : nil,
                                     asynchronous: !finishesHandshakes) { progress in
                    if finishesHandshakes { return false }  // nobody would finish it later
                    interrupted.keep(InterruptedTunnels.Entry(fd: fd, progress: progress, destination: destination, what: via(),
                                                              started: start))
                    kernel.setFacts(fd, 4, 4)
                    asynchronous = progress.asynchronous
                    if asynchronous { kernel.armWaits(fd, progress.waitingFor) }
                    return kernel.facts(fd) & 4 != 0
                }
            }
        } catch {
            if asynchronous {
                // A non-blocking socket: the program's waits move the exchange on (Shim+Async).
                if log.verbose { log.info(via() + ": in progress") }
                return (fail(EINPROGRESS), false)
            }
            if case .socketState(let e) = error, e == EINTR || e == EINPROGRESS, kernel.facts(fd) & 4 != 0 {
                // A signal, or the program's SO_SNDTIMEO: the exchange goes on at the program's
                // next call on the socket. A non-blocking connect never says EINTR: it is "in progress".
                let nonBlocking = kernel.statusFlags(fd) & O_NONBLOCK != 0
                log.info(via() + (e == EINTR ? ": interrupted by a signal" : ": the socket's SO_SNDTIMEO passed")
                         + "; finished at the program's next call on the socket")
                return (fail(e == EINPROGRESS || nonBlocking ? EINPROGRESS : EINTR), false)
            }
            if case .socketState = error {
                log.info(via() + ": " + error.reason)  // e.g. connect on a connected socket: EISCONN, as without us
            } else {
                log.error(via() + " failed: " + error.reason + "; program sees " + ErrnoName.name(error.errno))
            }
            return (fail(error.errno), error.isProxyFailure)
        }
        recordPeer(fd, destination, bound: bound)
        kernel.errno = savedErrno
        if log.verbose { log.info(via() + " ok " + Log.milliseconds(kernel.monotonicNanoseconds() - start)) }
        return (0, false)
    }

    /// The program's socket is connected through a proxy to `destination`: what getpeername
    /// answers for it and its copies.
    func recordPeer(_ fd: Int32, _ destination: Endpoint, bound: Endpoint? = nil) {
        peers.record(socket: UInt64(UInt32(bitPattern: fd)), destination: destination, bound: bound)
        kernel.setFacts(fd, SX_FACT_PEER, SX_FACT_PEER)
    }

    /// socket(2) made `fd`: its transport, so connect need not ask the kernel.
    public func noteSocket(_ fd: Int32, type: Int32, protocol proto: Int32) {
        let code: Int32
        switch TransportKind.of(type: type, protocol: proto) {
        case .tcp: code = 1
        case .udp: code = 2
        case .otherDatagram, .otherStream: code = 3
        }
        kernel.setFacts(fd, SX_FACT_KIND, code << SX_FACT_KIND_SHIFT)
    }

    /// getpeername(2): a proxied socket answers with the destination, not the proxy.
    public func getpeername(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: UnsafeMutablePointer<socklen_t>?) -> Int32 {
        // A tunnel still going: as a connect in flight (the kernel would name the proxy).
        if kernel.facts(fd) & 4 != 0 { return fail(ENOTCONN) }
        let room = Int(length?.pointee ?? 0)
        let result = sx_real_getpeername(fd, address, length)
        if result == 0, let address, let length, let peer = datagramPeer(fd) {
            length.pointee = socklen_t(room)
            peer.write(to: address, length: length, asIPv6: sx_socket_domain(fd) == AF_INET6)
            return 0
        }
        guard result == 0, let address, let length, sx_fd_facts(fd) & SX_FACT_PEER != 0,
              let destination = peers.destination(ofSocket: UInt64(UInt32(bitPattern: fd))) else {
            return result
        }
        // A stale entry (a socket closed and its inode reused) must not rename a socket that is
        // not connected to a proxy.
        guard let actual = Endpoint(sockaddr: UnsafeRawPointer(address), length: min(room, Int(length.pointee))),
              roster.isProxy(actual) else { return result }
        length.pointee = socklen_t(room)
        destination.write(to: address, length: length)
        return 0
    }
}
