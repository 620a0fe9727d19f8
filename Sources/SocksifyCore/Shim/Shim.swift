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
    public let associations: UDPAssociations
    /// The system calls of the connect path: the real ones, or a fake kernel in unit tests.
    public let kernel: Kernel
    /// The rules and settings as the verdict needs them, built once (not on every connect).
    public let policy: TrafficPolicy
    let interrupted = InterruptedTunnels()
    let binds = BindTunnels()
    /// The launcher's supervisor (the kernel backstop) runs this connect on a copy of a stopped
    /// program's socket: the program cannot wait for the handshake itself, so it is finished
    /// before the answer, even on a non-blocking socket.
    public var finishesHandshakes = false
    /// Why the shim cannot follow its configuration; it then refuses everything that would
    /// leave the machine rather than guess.
    public let unusable: String?

    /// `heldNameMap`: the run's map as the library attached it when it loaded, if it did.
    public init(settings given: ShimSettings, program: RunningProgram, readFile: @escaping (String) -> [UInt8]?,
                environment: @escaping (String) -> String?, heldNameMap: HeldNameMap? = nil,
                kernel: Kernel = RealKernel.shared) {
        self.kernel = kernel
        associations = UDPAssociations(kernel: kernel)
        var settings = given
        var fileProblem: String? = nil
        if let path = settings.logFile, !Log.fileOpen, sx_log_open(path) != 0 {
            fileProblem = "cannot open the log file " + path + ": " + ErrnoName.describe(kernel.errno)
        }
        log = Log(verbose: settings.verbose, quiet: settings.quiet, program: HostName.string(program.names[0]), toFile: Log.fileOpen)
        if let fileProblem { log.error(fileProblem) }
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
        var names = NameResolver(router: router, strict: settings.strict, pool: settings.pool, table: nil,
                                 hosts: Shim.readHostsFile(readFile))
        if router.anyRemoteResolution {
            let (table, unavailable) = Shim.openNameTable(settings.nameMap, held: heldNameMap, log: log)
            names.table = table
            if let unavailable { names.unavailableMap = unavailable }
        }
        self.names = names
        policy = TrafficPolicy(router: router, strict: settings.strict, proxyLoopback: settings.proxyLoopback,
                               namesRemote: names.remote, unusable: problem != nil)
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
    /// children share (programs it execs then start their own). A shared map that cannot be
    /// used is not replaced by one of the process's own: another process of the run may have
    /// handed out the same synthetic address for another name. Names the proxy resolves are
    /// then refused, and connections to synthetic addresses fail (EHOSTUNREACH), never direct.
    static func openNameTable(_ setting: NameMapSetting, held: HeldNameMap?, log: Log) -> (NameTable?, unavailable: String?) {
        let attachment: SharedNameMap.Attachment
        var shown = ""
        switch setting {
        case .own:
            let size = NameTable.byteCount(capacity: NameTable.defaultCapacity)
            guard let memory = sx_map_shared_anonymous(size) else {
                log.error("cannot allocate the name map: remote name resolution is off")
                return (nil, nil)
            }
            return (NameTable.format(memory, capacity: NameTable.defaultCapacity), nil)
        case .unusable(let why):
            attachment = .failed(why)
        case .shared(let reference):
            shown = " (" + ShimSettings.nameMapVariable + "=" + reference.text + ")"
            if let held, held.reference == reference {
                attachment = held.attachment
            } else {
                attachment = SharedNameMap.attach(reference)
            }
        }
        switch attachment {
        case .attached(let table):
            return (table, nil)
        case .failed(let why):
            log.error("cannot use the run's name map" + shown + ": " + why
                      + "; names the proxy resolves are refused here and synthetic addresses fail (EHOSTUNREACH)")
            return (nil, why)
        }
    }

    static func readHostsFile(_ readFile: (String) -> [UInt8]?) -> HostsFile {
        HostsFile(text: readFile("/etc/hosts") ?? [])
    }

    /// Sets errno and returns -1, the shape of a failed libc call.
    func fail(_ errno: Int32) -> Int32 {
        kernel.errno = errno
        return -1
    }

    /// Reads a whole file through libc, never through the shim; nil past RulesFileReader's limit.
    public static func readFile(_ path: String) -> [UInt8]? {
        RulesFileReader.read(path).contents
    }
}
