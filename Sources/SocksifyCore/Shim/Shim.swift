import SocksifyLibc

/// The shim's state for one process, built once on the first interposed call: the rules that
/// apply to this program, the proxies, the name resolver. The interposed calls themselves are
/// in the Shim+*.swift files beside this one.
public final class Shim: @unchecked Sendable {
    public let settings: ShimSettings
    public let log: Log
    public let peers = PeerRegistry()
    public let router: Router
    public let roster: ProxyRoster
    public let names: NameResolver
    public let localNames = LocalNames()
    public let associations = UDPAssociations()
    /// Why the shim cannot follow its configuration; it then refuses everything that would
    /// leave the machine rather than guess.
    public let unusable: String?

    public init(settings given: ShimSettings, program: RunningProgram, readFile: @escaping (String) -> [UInt8]?,
                environment: @escaping (String) -> String?) {
        var settings = given
        log = Log(verbose: settings.verbose, quiet: settings.quiet, program: HostName.string(program.names[0]))
        for problem in settings.problems { log.error("ignores a setting: " + problem) }

        var rules = RuleSet()
        var problem: String? = nil
        switch settings.proxy {
        case .success(let proxy):
            rules = RuleSet.single(proxy)
        case .failure(let missing):
            if let path = settings.configPath {
                switch Shim.loadRules(path, readFile: readFile, environment: environment) {
                case .success(let loaded): rules = loaded.forProgram(program)
                case .failure(let reason): problem = reason.message
                }
            } else {
                problem = missing.message
            }
        }
        if let problem {
            rules = RuleSet()
            rules.defaultAction = .block
            log.error("cannot follow its configuration: " + problem + "; it refuses every connection that would leave the machine")
        }
        unusable = problem
        settings.strict = settings.strict || rules.options.strict == true || problem != nil
        settings.proxyLoopback = settings.proxyLoopback || rules.options.proxyLoopback == true
        if !settings.connectTimeoutGiven, let ms = rules.options.connectTimeoutMilliseconds { settings.timeouts.connectMilliseconds = ms }
        if !settings.handshakeTimeoutGiven, let ms = rules.options.handshakeTimeoutMilliseconds { settings.timeouts.handshakeMilliseconds = ms }
        self.settings = settings
        router = Router(rules)
        roster = ProxyRoster(rules.proxies)
        names = NameResolver(
            router: router, strict: settings.strict, pool: settings.pool,
            table: router.anyRemoteResolution ? Shim.openNameTable(settings.nameMapPath, log: log) : nil,
            hosts: Shim.readHostsFile(readFile))
    }

    /// Reads and parses the rules file; on any problem, all of them in one message. The file
    /// itself is read as the launcher reads it, so a file it would refuse (too large) is refused
    /// here too; `readFile` serves the password files it names.
    static func loadRules(_ path: String, readFile: @escaping (String) -> [UInt8]?, environment: @escaping (String) -> String?) -> Result<RuleSet, ProxyURLError> {
        let outcome = RulesFileReader.read(path)
        guard let text = outcome.contents else { return .failure(ProxyURLError(outcome.problem(path) ?? path)) }
        switch RulesParser.parse(text, environment: environment, readFile: { readFile(Shim.expandHome($0, environment)) }) {
        case .success(let set): return .success(set)
        case .failure(let problems):
            return .failure(ProxyURLError(problems.diagnostics.map { $0.format(file: path) }.joined(separator: "\n")))
        }
    }

    /// `~/x` as $HOME/x, for password files.
    public static func expandHome(_ path: String, _ environment: (String) -> String?) -> String {
        guard path.utf8.first == UInt8(ascii: "~"), let home = environment("HOME") else { return path }
        return home + HostName.string(Array(path.utf8.dropFirst()))
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

    static func readHostsFile(_ readFile: (String) -> [UInt8]?) -> HostsFile {
        HostsFile(text: readFile("/etc/hosts") ?? [])
    }

    /// Sets errno and returns -1, the shape of a failed libc call.
    func fail(_ errno: Int32) -> Int32 {
        sx_set_errno(errno)
        return -1
    }

    /// Reads a whole file through libc, never through the shim; nil past RulesFileReader's limit.
    public static func readFile(_ path: String) -> [UInt8]? {
        RulesFileReader.read(path).contents
    }
}
