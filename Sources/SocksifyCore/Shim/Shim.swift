import SocksifyLibc

/// The shim's state for one process, built once from the environment on the first interposed
/// call. The interposed calls themselves are in the Shim+*.swift files beside this one.
public final class Shim: @unchecked Sendable {
    public let settings: ShimSettings
    public let log: Log
    public let peers = PeerRegistry()
    public let names: NameResolver
    /// The proxy and its address, or why the shim has none (then it refuses, never goes direct).
    let route: Result<(ProxySpec, Endpoint), ProxyURLError>

    public init(settings: ShimSettings, program: String) {
        self.settings = settings
        log = Log(verbose: settings.verbose, quiet: settings.quiet, program: program)
        for problem in settings.problems { log.error("ignores a setting: " + problem) }
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
        var remote = false
        if case .success(let proxy) = settings.proxy { remote = proxy.proto.resolvesRemotely }
        names = NameResolver(
            remote: remote, strict: settings.strict, pool: settings.pool,
            table: remote ? Shim.openNameTable(settings.nameMapPath, log: log) : nil,
            hosts: Shim.readHostsFile())
    }

    var proxyEndpoint: Endpoint? {
        if case .success(let (_, endpoint)) = route { return endpoint }
        return nil
    }

    /// The run's shared map if the launcher made one, else a map this process and its forked
    /// children share (programs it execs then start their own).
    static func openNameTable(_ path: String?, log: Log) -> NameTable? {
        let size = NameTable.byteCount(capacity: NameTable.defaultCapacity)
        if let path {
            if let memory = sx_map_shared_file(path, size, 0), let table = NameTable.attach(memory, size: size) {
                return table
            }
            log.error("cannot use the name map " + path + ": names resolved in other processes of this run are unknown here")
        }
        guard let memory = sx_map_shared_anonymous(size) else {
            log.error("cannot allocate the name map: remote name resolution is off")
            return nil
        }
        return NameTable.format(memory, capacity: NameTable.defaultCapacity)
    }

    static func readHostsFile() -> HostsFile {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let length = buffer.withUnsafeMutableBytes { sx_read_file("/etc/hosts", $0.baseAddress, $0.count) }
        return HostsFile(text: length > 0 ? Array(buffer[0..<length]) : [])
    }

    /// Sets errno and returns -1, the shape of a failed libc call.
    func fail(_ errno: Int32) -> Int32 {
        sx_set_errno(errno)
        return -1
    }
}
