import ArgumentParser
import Glibc
import SocksifyCore
import SocksifyLibc

/// `socksify doctor`: whether each proxy the rules use works, whether socksify can reach the
/// program, and (with --target) whether the program's connection would get there. One line per
/// finding, a verdict last; exit 0 only when everything needed works.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        _superCommandName: "socksify",
        abstract: "Check the proxies, the program and a destination, and say what does not work and why.",
        discussion: """
            For each proxy the rules use (for PROGRAM's rules when it is given): whether it is \
            reachable and how long the connect and the handshake take, the protocol and login \
            methods it accepts, whether it takes the credentials, resolves names (it is asked for \
            localhost:9, so nothing leaves its machine), carries UDP and BIND and takes a \
            pipelined handshake. For PROGRAM: whether the library or the kernel backstop reaches \
            it. With --target: the connection made as the program's would be. Exit status 0 only \
            when nothing needed failed (FAIL lines), else 1; a usage error exits 2 (64 for an \
            option argument-parser does not know).
            """)

    @Option(name: .shortAndLong, help: ArgumentHelp("Check this proxy URL instead of the rules file.", valueName: "url"))
    var proxy: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("The rules file (default: the one socksify would use).", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("Also connect to this destination as the program would.", valueName: "host:port"))
    var target: String?

    @Flag(help: "As under socksify --proxy-loopback (for a --target on loopback).")
    var proxyLoopback = false

    @Option(help: ArgumentHelp("Seconds to wait for each connect and each exchange (default 5).", valueName: "seconds"))
    var timeout: Double = 5

    @Argument(help: ArgumentHelp("The program to check, by name or path.", valueName: "program"))
    var program: String?

    /// A usage error is exit 2, as for the launcher's own options.
    func validate() throws {
        guard timeout > 0, timeout <= 600 else { fail("--timeout takes a number of seconds between 0 and 600", status: 2) }
        if let target {
            guard let (_, port) = Describe.splitHostPort(target), port != nil else {
                fail("--target '\(target)' is not HOST:PORT or [IPv6]:PORT", status: 2)
            }
        }
    }

    func run() throws {
        let report = DoctorReport()
        let (allRules, source) = loadRules()
        var rules = allRules
        if let program {
            let executable = ProgramCheck.resolve(program).flatMap(LibraryLocator.absolute) ?? program
            rules = allRules.forProgram(RunningProgram(executable: Array(executable.utf8), argv0: Array(program.utf8)))
        }
        report.section("rules: \(source)" + (program.map { " (those for \($0))" } ?? ""))
        let milliseconds = Int((timeout * 1000).rounded())
        let timeouts = Timeouts(connectMilliseconds: milliseconds, handshakeMilliseconds: milliseconds)
        let routes = DoctorCommand.routes(rules)
        if routes.isEmpty { report.add(.note, "no rule sends anything through a proxy") }
        for (index, before, spare) in routes {
            let named = rules.proxies[index]
            let name = named.name.isEmpty ? named.spec.displayName : String(decoding: named.name, as: UTF8.self) + " (\(named.spec.displayName))"
            let hops = before.map { rules.proxies[$0].spec }
            let through = hops.isEmpty ? "" : ", reached through " + hops.map(\.displayName).joined(separator: " > ")
            report.section("proxy \(name)" + (named.line > 0 ? ", line \(named.line)" : "") + through)
            guard case .success(let first) = ProxyAddress.resolve(hops.first ?? named.spec) else {
                report.add(.problem, "cannot resolve the proxy host \((hops.first ?? named.spec).host)")
                continue
            }
            let route = ProxyRoute(before: hops, proxy: named.spec, firstEndpoint: first, timeouts: timeouts)
            ProxyProbe(route: route, missingSecret: named.missingSecret, spare: spare, report: report).run()
        }
        if let program { ProgramDiagnosis.run(program, report: report) }
        if let target, let (host, port) = Describe.splitHostPort(target), let port {
            let router = Router(rules)
            let policy = TrafficPolicy(router: router, strict: rules.options.strict == true,
                                       proxyLoopback: proxyLoopback || rules.options.proxyLoopback == true,
                                       namesRemote: router.anyRemoteResolution)
            TargetCheck(host: host, port: port, rules: rules, policy: policy, timeouts: timeouts, report: report).run()
        }
        throw ExitCode(report.finish())
    }

    /// The rules and where they came from, as the launcher would pick them.
    func loadRules() -> (RuleSet, String) {
        if let url = proxy ?? (config == nil ? Environment.get(ShimSettings.proxyVariable) : nil), !url.isEmpty {
            do {
                return (RuleSet.single(try ProxyURL.parse(url)), proxy != nil ? "--proxy" : "$\(ShimSettings.proxyVariable)")
            } catch {
                fail(error.message, status: 2)
            }
        }
        guard let path = RulesFileLocator.find(explicit: config) else {
            fail("no proxy: give --proxy URL or --config FILE, set \(ShimSettings.proxyVariable), or create ~/.config/socksify/config", status: 2)
        }
        switch RulesFileLocator.load(path) {
        case .unreadable(let problem): fail(problem, status: 2)
        case .tooLarge(let problem): fail(problem, status: 1)
        case .problems(let problems):
            RulesFileLocator.report(problems, file: path)
            fail("the rules file does not parse: socksify would not start any program with it", status: 1)
        case .rules(let rules): return (rules, path)
        }
    }

    /// Each proxy the rules use, once per way of reaching it: directly, or as a chain's later
    /// hop through the proxies before it. In the order the rules name them. `spare`: used only
    /// in failover lists that have others, so a failure is a warning (the next one is tried).
    static func routes(_ rules: RuleSet) -> [(index: Int, before: [Int], spare: Bool)] {
        var seen: [(index: Int, before: [Int], spare: Bool)] = []
        func add(_ index: Int, _ before: [Int], spare: Bool) {
            if let at = seen.firstIndex(where: { $0.index == index && $0.before == before }) {
                seen[at].spare = seen[at].spare && spare
            } else {
                seen.append((index, before, spare))
            }
        }
        for action in rules.rules.map(\.action) + [rules.defaultAction] {
            switch action {
            case .direct, .block: break
            case .via(let p): add(p, [], spare: false)
            case .failover(let list): list.forEach { add($0, [], spare: list.count > 1) }
            case .chain(let list): for (i, p) in list.enumerated() { add(p, Array(list[..<i]), spare: false) }
            }
        }
        return seen
    }
}
