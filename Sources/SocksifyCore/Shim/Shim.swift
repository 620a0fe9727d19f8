import SocksifyLibc

/// The shim's state for one process and what each interposed call does with it. Built once from
/// the environment; immutable afterwards except for the peer registry.
public final class Shim: @unchecked Sendable {
    public let settings: ShimSettings
    public let log: Log
    public let peers = PeerRegistry()
    /// The proxy and its address, or why the shim has none (then it refuses, never goes direct).
    let route: Result<(ProxySpec, Endpoint), ProxyURLError>

    public init(settings: ShimSettings, program: String) {
        self.settings = settings
        log = Log(verbose: settings.verbose, quiet: settings.quiet, program: program)
        switch settings.proxy {
        case .failure(let problem):
            route = .failure(problem)
        case .success(let proxy):
            switch ProxyAddress.resolve(proxy) {
            case .success(let endpoint): route = .success((proxy, endpoint))
            case .failure(let problem): route = .failure(problem)
            }
        }
        if case .failure(let problem) = route {
            log.error("has no usable proxy (" + problem.message + "): it will refuse connections that need one")
        }
    }

    var proxyEndpoint: Endpoint? {
        if case .success(let (_, endpoint)) = route { return endpoint }
        return nil
    }

    /// connect(2). Returns what connect returns, with errno set on failure.
    public func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>?, _ length: socklen_t) -> Int32 {
        guard let address, let destination = Endpoint(sockaddr: UnsafeRawPointer(address), length: Int(length)),
              sx_socket_type(fd) == Int32(SOCK_STREAM.rawValue)
        else { return sx_real_connect(fd, address, length) }

        switch ConnectDecision.decide(destination: destination, settings: settings, proxyEndpoint: proxyEndpoint) {
        case .direct(let why):
            log.info("connect " + destination.text + " direct (" + why + ")")
            peers.forget(fd)
            return sx_real_connect(fd, address, length)
        case .refuse(let errno, let why):
            log.error("connect " + destination.text + " refused: " + why + "; program sees " + ErrnoName.name(errno))
            sx_set_errno(errno)
            return -1
        case .proxy:
            return connectThroughProxy(fd, destination: destination)
        }
    }

    func connectThroughProxy(_ fd: Int32, destination: Endpoint) -> Int32 {
        let (proxy, proxyEndpoint): (ProxySpec, Endpoint)
        switch route {
        case .success(let found): (proxy, proxyEndpoint) = found
        case .failure(let problem):
            log.error("connect " + destination.text + " refused: no usable proxy (" + problem.message + "); program sees ECONNREFUSED")
            sx_set_errno(ECONNREFUSED)
            return -1
        }
        let savedErrno = sx_errno()  // a successful connect leaves errno as it found it
        let start = sx_monotonic_ns()
        let via = "connect " + destination.text + " via " + proxy.displayName
        do throws(SocksError) {
            try ProxyTunnel.open(fd: fd, proxy: proxy, proxyEndpoint: proxyEndpoint,
                                 destination: SocksDestination(destination), timeouts: settings.timeouts)
        } catch {
            log.error(via + " failed: " + error.reason + "; program sees " + ErrnoName.name(error.errno))
            sx_set_errno(error.errno)
            return -1
        }
        peers.record(fd, destination: destination)
        sx_set_errno(savedErrno)
        if log.verbose { log.info(via + " ok " + Log.milliseconds(sx_monotonic_ns() - start)) }
        return 0
    }

    /// getpeername(2): a proxied socket answers with the destination, not the proxy.
    public func getpeername(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: UnsafeMutablePointer<socklen_t>?) -> Int32 {
        let room = Int(length?.pointee ?? 0)
        let result = sx_real_getpeername(fd, address, length)
        guard result == 0, let address, let length, let destination = peers.destination(of: fd) else { return result }
        // A stale entry (the descriptor closed behind our back, e.g. by close_range) must not
        // rename a socket that is not connected to the proxy.
        guard let proxyEndpoint, let actual = Endpoint(sockaddr: UnsafeRawPointer(address), length: min(room, Int(length.pointee))),
              ConnectDecision.sameHost(actual, proxyEndpoint) else { return result }
        let bytes = destination.sockaddrBytes
        bytes.withUnsafeBytes { UnsafeMutableRawPointer(address).copyMemory(from: $0.baseAddress!, byteCount: min(room, bytes.count)) }
        length.pointee = socklen_t(bytes.count)
        return 0
    }

    /// close(2), dup2(2) and dup3(2) end what a descriptor number meant.
    public func forget(_ fd: Int32) { peers.forget(fd) }
}
