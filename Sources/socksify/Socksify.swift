import ArgumentParser
import Glibc
import SocksifyCore

struct Socksify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "socksify",
        abstract: "Run a program with its TCP connections carried through a SOCKS or HTTP proxy.",
        usage: """
            socksify [<options>] [--] <program> [<argument> ...]
            socksify <subcommand> [<subcommand options>]
            """,
        discussion: """
            The proxy is a URL: socks5://, socks5h://, socks4://, socks4a:// or http:// (HTTP \
            CONNECT; names always go to the proxy), with an optional \
            user:password@ and an IPv6 host in brackets (socks5://[::1]:1080). Without --proxy, \
            a rules file decides (--config, $SOCKSIFY_CONFIG, ~/.config/socksify/config, \
            /etc/socksify.conf) unless $SOCKSIFY_PROXY is set. Loopback destinations go direct \
            unless --proxy-loopback. A program named like a subcommand runs after --.
            """,
        version: "socksify 0.9.0",
        subcommands: [CheckCommand.self, ExplainCommand.self, DoctorCommand.self, ShellOnCommand.self, ShellOffCommand.self]
    )

    @Option(name: .shortAndLong, help: ArgumentHelp("Proxy URL, e.g. socks5://127.0.0.1:1080.", valueName: "url"))
    var proxy: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Rules file: which program and destination go through which proxy.", valueName: "file"))
    var config: String?

    @Flag(name: .shortAndLong, help: "Print one line per connection decision on stderr.")
    var verbose = false

    @Flag(name: .shortAndLong, help: "Print nothing, not even errors (the program still sees them).")
    var quiet = false

    @Option(help: ArgumentHelp("Append every decision line, with the process id, to this file too ($SOCKSIFY_LOG).", valueName: "file"))
    var log: String?

    @Flag(help: "Proxy loopback destinations (127.0.0.0/8, ::1) too.")
    var proxyLoopback = false

    @Flag(help: "Refuse anything that would leave the machine other than through the proxy (local DNS, UDP, raw sockets).")
    var strict = false

    @Flag(help: "Refuse static, Go and 32-bit programs (exit 126) instead of holding them with the kernel backstop ($SOCKSIFY_NO_BACKSTOP=1 too).")
    var noBackstop = false

    @Option(name: .customLong("dns-pool4"), help: ArgumentHelp("IPv4 range for names the proxy resolves (default 127.192.0.0/10).", valueName: "cidr"))
    var dnsPool4: String?

    @Option(name: .customLong("dns-pool6"), help: ArgumentHelp("IPv6 range for names the proxy resolves (default 100::/64).", valueName: "cidr"))
    var dnsPool6: String?

    @Option(help: ArgumentHelp("Seconds to wait for the TCP connection to the proxy (default 10).", valueName: "seconds"))
    var connectTimeout: Double?

    @Option(help: ArgumentHelp("Seconds to wait for the SOCKS exchange, including the proxy's own connect (default 30).", valueName: "seconds"))
    var handshakeTimeout: Double?

    @Argument(parsing: .postTerminator, help: ArgumentHelp("The program to run and its arguments.", valueName: "program"))
    var command: [String] = []

    /// Options that take a value, for finding where the program's own arguments begin.
    static let optionsWithValue: Set<String> = ["-p", "--proxy", "-c", "--config", "--connect-timeout", "--handshake-timeout", "--dns-pool4", "--dns-pool6", "--log"]

    mutating func run() throws {
        guard let program = command.first else {
            fail("no program given; usage: socksify [options] [--] PROGRAM [ARGS...]", status: 2)
        }
        var (environment, namesGoToProxy) = try launchEnvironment(for: program)


        let executable = ProgramCheck.resolve(program)
        var supervise: String? = nil
        if let executable, let (obstacle, problem) = ProgramCheck.obstacle(executable) {
            // What the library cannot reach, the kernel backstop holds (docs/kernel-backstop.md).
            guard obstacle.backstopCarries, !noBackstop, !Backstop.switchedOff else { fail(problem, status: 126) }
            // Inside a supervised run the outer filter already holds every process: a second
            // listener is refused (EBUSY), and the outer supervisor sees these calls anyway.
            if Environment.get(Backstop.markerVariable) == nil { supervise = problem }
        }
        // --strict holds every program of the run, the library's too: a static or Go program
        // started from a held shell must not go out directly (a connect then costs a round
        // trip to the supervisor: docs/kernel-backstop.md).
        let strictOnly = supervise == nil && strict && !noBackstop && !Backstop.switchedOff
            && Environment.get(Backstop.markerVariable) == nil
        if strictOnly { supervise = "\(program): --strict" }
        // Made last, when nothing but the exec is left to fail.
        var nameMap: NameMapReference? = nil
        if namesGoToProxy {
            switch NameMapSegments.create() {
            case .created(let reference):
                nameMap = reference
                environment.set(ShimSettings.nameMapVariable, reference.text)
            case .failed(let why):
                Launcher.printError("cannot create the shared name map (\(why)); each process will keep its own")
                environment.unset(ShimSettings.nameMapVariable)
            }
        }
        if supervise != nil { environment.set(Backstop.markerVariable, "1") }
        environment.apply()
        if let refusal = supervise {
            let command = command
            Backstop.run(command, refusal: refusal, beforeFailing: { if let nameMap { SharedNameMap.remove(nameMap) } },
                         withoutBackstop: strictOnly ? {
                             unsetenv(Backstop.markerVariable)
                             Launcher.exec(command, beforeFailing: { if let nameMap { SharedNameMap.remove(nameMap) } })
                         } : nil)
        }
        Launcher.exec(command, beforeFailing: { if let nameMap { SharedNameMap.remove(nameMap) } })
    }


    /// The variables the program (and through it the library) gets from these options; exits
    /// with a message on a bad option. `program` names the run in messages.
    func launchEnvironment(for program: String) throws -> (LaunchEnvironment, namesGoToProxy: Bool) {
        var environment = LaunchEnvironment()
        let namesGoToProxy: Bool
        if let url = proxy ?? (config == nil ? Environment.get(ShimSettings.proxyVariable) : nil), !url.isEmpty {
            // A proxy URL alone: everything through it (it overrides any rules file).
            let spec: ProxySpec
            do {
                spec = try ProxyURL.parse(url)
            } catch {
                fail(error.message, status: 2)
            }
            environment.set(ShimSettings.proxyVariable, url)
            environment.unset(ShimSettings.configVariable)
            namesGoToProxy = spec.proto.resolvesRemotely
        } else if let path = RulesFileLocator.find(explicit: config) {
            // The shim never acts on a file that does not parse: neither does the launcher.
            guard let absolute = LibraryLocator.absolute(path) else { fail("cannot read the rules file \(path)", status: 2) }
            switch RulesFileLocator.load(absolute, shownAs: path) {
            case .unreadable: fail("cannot read the rules file \(path)", status: 2)
            case .tooLarge(let problem): fail("not starting \(program): \(problem)", status: 2)
            case .problems(let problems):
                RulesFileLocator.report(problems, file: path)
                fail("not starting \(program): fix the rules file first (socksify check \(path))", status: 2)
            case .rules(let rules):
                namesGoToProxy = Router(rules).anyRemoteResolution
                if !quiet {
                    for warning in rules.warnings {
                        Launcher.printError("warning: \(path):\(warning.line):\(warning.column): \(warning.message) (connections through that proxy will fail with EACCES)")
                    }
                }
            }
            environment.set(ShimSettings.configVariable, absolute)
            environment.unset(ShimSettings.proxyVariable)
        } else {
            fail("no proxy: give --proxy URL or --config FILE, set \(ShimSettings.proxyVariable), or create ~/.config/socksify/config", status: 2)
        }
        if verbose { environment.set(ShimSettings.verboseVariable, "1") }
        if quiet { environment.set(ShimSettings.quietVariable, "1") }
        if let log {
            // An absolute path: the program may change directory before its first connection.
            var absolute = log
            if !log.hasPrefix("/") {
                var buffer = [CChar](repeating: 0, count: 4096)
                guard getcwd(&buffer, buffer.count) != nil else { fail("cannot use the log file \(log)", status: 2) }
                absolute = String(cString: buffer) + "/" + log
            }
            environment.set(ShimSettings.logVariable, absolute)
        }
        if proxyLoopback { environment.set(ShimSettings.proxyLoopbackVariable, "1") }
        if let connectTimeout { environment.set(ShimSettings.connectTimeoutVariable, try milliseconds(connectTimeout, "--connect-timeout")) }
        if let handshakeTimeout { environment.set(ShimSettings.handshakeTimeoutVariable, try milliseconds(handshakeTimeout, "--handshake-timeout")) }

        if strict { environment.set(ShimSettings.strictVariable, "1") }
        if let dnsPool4 {
            guard AddressPool.parseIPv4(dnsPool4) != nil else { fail("--dns-pool4 '\(dnsPool4)' is not an IPv4 range from /8 to /24", status: 2) }
            environment.set(ShimSettings.pool4Variable, dnsPool4)
        }
        if let dnsPool6 {
            guard AddressPool.parseIPv6(dnsPool6) != nil else { fail("--dns-pool6 '\(dnsPool6)' is not an IPv6 range from /64 to /120", status: 2) }
            environment.set(ShimSettings.pool6Variable, dnsPool6)
        }
        guard let library = LibraryLocator.find() else {
            fail("cannot find libsocksify-preload.so (looked next to this program, in ../lib/socksify/, and $\(LibraryLocator.overrideVariable))", status: 1)
        }
        environment.prependPreload(library)
        return (environment, namesGoToProxy)
    }

    func milliseconds(_ seconds: Double, _ option: String) throws -> String {
        guard seconds > 0, seconds <= 86_400 else {
            throw ValidationError("\(option) takes a number of seconds between 0 and 86400")
        }
        return String(max(1, Int((seconds * 1000).rounded())))
    }
}

/// One line on stderr, then exit.
func fail(_ message: String, status: Int32) -> Never {
    Launcher.printError(message)
    exit(status)
}
