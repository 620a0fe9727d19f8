import SocksifyLibc

extension Shim {
    /// connect(2). Returns what connect returns, with errno set on failure.
    public func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>?, _ length: socklen_t) -> Int32 {
        guard let address, let destination = Endpoint(sockaddr: UnsafeRawPointer(address), length: Int(length)) else {
            return sx_real_connect(fd, address, length)
        }
        let type = sx_socket_type(fd)
        if type == Int32(SOCK_DGRAM.rawValue) {
            if let refusal = datagramRefusal(to: destination) {
                log.error("connect udp " + destination.text + " refused: " + refusal + "; program sees EPERM")
                return fail(EPERM)
            }
            return sx_real_connect(fd, address, length)
        }
        guard type == Int32(SOCK_STREAM.rawValue) else { return sx_real_connect(fd, address, length) }

        // A synthetic address stands for a name only the proxy can resolve.
        if let name = names.name(forSynthetic: destination.address) {
            return connectThroughProxy(fd, destination: destination, target: SocksDestination(.domain(HostName.string(name)), port: destination.port))
        }
        if names.remote, names.pool.position(of: destination.address) != nil {
            log.error("connect " + destination.text + " refused: a synthetic address no name stands for (forgotten, or from another run); program sees EHOSTUNREACH")
            return fail(EHOSTUNREACH)
        }
        switch ConnectDecision.decide(destination: destination, settings: settings, proxyEndpoint: proxyEndpoint, dnsGoesThroughProxy: names.remote) {
        case .direct(let why):
            log.info("connect " + destination.text + " direct (" + why + ")")
            return sx_real_connect(fd, address, length)
        case .refuse(let errno, let why):
            log.error("connect " + destination.text + " refused: " + why + "; program sees " + ErrnoName.name(errno))
            return fail(errno)
        case .proxy:
            return connectThroughProxy(fd, destination: destination, target: SocksDestination(destination))
        }
    }

    /// Runs the tunnel for `fd`; `destination` is what the program asked for, `target` what the
    /// proxy is asked for (the same address, or the name behind a synthetic one).
    func connectThroughProxy(_ fd: Int32, destination: Endpoint, target: SocksDestination) -> Int32 {
        let (proxy, proxyEndpoint): (ProxySpec, Endpoint)
        switch route {
        case .success(let found): (proxy, proxyEndpoint) = found
        case .failure(let problem):
            log.error("connect " + target.text + " refused: no usable proxy (" + problem.message + "); program sees ECONNREFUSED")
            return fail(ECONNREFUSED)
        }
        let savedErrno = sx_errno()  // a successful connect leaves errno as it found it
        let start = sx_monotonic_ns()
        let via = "connect " + target.text + " via " + proxy.displayName
        do throws(SocksError) {
            try ProxyTunnel.open(fd: fd, proxy: proxy, proxyEndpoint: proxyEndpoint, destination: target, timeouts: settings.timeouts)
        } catch {
            if case .socketState = error {
                log.info(via + ": " + error.reason)  // e.g. connect on a connected socket: EISCONN, as without us
            } else {
                log.error(via + " failed: " + error.reason + "; program sees " + ErrnoName.name(error.errno))
            }
            return fail(error.errno)
        }
        peers.record(socket: sx_socket_inode(fd), destination: destination)
        sx_set_errno(savedErrno)
        if log.verbose { log.info(via + " ok " + Log.milliseconds(sx_monotonic_ns() - start)) }
        return 0
    }

    /// getpeername(2): a proxied socket answers with the destination, not the proxy.
    public func getpeername(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: UnsafeMutablePointer<socklen_t>?) -> Int32 {
        let room = Int(length?.pointee ?? 0)
        let result = sx_real_getpeername(fd, address, length)
        guard result == 0, let address, let length, let destination = peers.destination(ofSocket: sx_socket_inode(fd)) else {
            return result
        }
        // A stale entry (the descriptor closed behind our back, e.g. by close_range) must not
        // rename a socket that is not connected to the proxy.
        guard let proxyEndpoint, let actual = Endpoint(sockaddr: UnsafeRawPointer(address), length: min(room, Int(length.pointee))),
              ConnectDecision.sameHost(actual, proxyEndpoint) else { return result }
        let bytes = destination.sockaddrBytes
        bytes.withUnsafeBytes { UnsafeMutableRawPointer(address).copyMemory(from: $0.baseAddress!, byteCount: min(room, bytes.count)) }
        length.pointee = socklen_t(bytes.count)
        return 0
    }
}
