import Glibc
import SocksifyCore

/// socksify's own options for a run, without argument-parser: QuickOptions reads the usual
/// command lines into this directly (argument-parser's reflection over `Socksify` costs more
/// than the rest of the launch), and `Socksify` converts to it for the others.
struct LaunchOptions {
    var proxy: String? = nil
    var config: String? = nil
    var verbose = false
    var quiet = false
    var log: String? = nil
    var proxyLoopback = false
    var strict = false
    var noBackstop = false
    var dnsPool4: String? = nil
    var dnsPool6: String? = nil
    var connectTimeout: Double? = nil
    var handshakeTimeout: Double? = nil
    var command: [String] = []

    func run() throws {
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
            fail("\(option) takes a number of seconds between 0 and 86400", status: 2)
        }
        return String(max(1, Int((seconds * 1000).rounded())))
    }
}
