import ArgumentParser
import Glibc
import SocksifyCore

/// `socksify explain PROGRAM HOST[:PORT]`: which rule matches, and what would happen.
struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        _superCommandName: "socksify",
        abstract: "Show which rule a program's connection matches and what socksify would do with it.")

    @Option(name: .shortAndLong, help: ArgumentHelp("The rules file (default: the one socksify would use).", valueName: "file"))
    var config: String?

    @Flag(help: "Explain a UDP datagram instead of a TCP connection.")
    var udp = false

    @Flag(help: "As under socksify --strict (a rules file's 'set strict' also turns it on).")
    var strict = false

    @Flag(name: .customLong("proxy-loopback"), help: "As under socksify --proxy-loopback.")
    var proxyLoopback = false

    @Argument(help: ArgumentHelp("The program, by name or path.", valueName: "program"))
    var program: String

    @Argument(help: ArgumentHelp("The destination: a name or address, with an optional port (host:443, [2001:db8::1]:443).", valueName: "host[:port]"))
    var destination: String

    func run() throws {
        guard let path = RulesFileLocator.find(explicit: config) else {
            fail("no rules file: give --config FILE, or create ~/.config/socksify/config or /etc/socksify.conf", status: 2)
        }
        let rules: RuleSet
        switch RulesFileLocator.load(path) {
        case .unreadable(let problem): fail(problem, status: 2)
        case .tooLarge(let problem): fail(problem, status: 1)
        case .problems(let problems):
            RulesFileLocator.report(problems, file: path)
            throw ExitCode(1)
        case .rules(let loaded): rules = loaded
        }
        guard let (host, port) = Describe.splitHostPort(destination) else {
            fail("'\(destination)' is not HOST, HOST:PORT or [IPv6]:PORT", status: 2)
        }
        let executable = ProgramCheck.resolve(program).flatMap(LibraryLocator.absolute) ?? program
        let running = RunningProgram(executable: Array(executable.utf8), argv0: Array(program.utf8))
        let programRules = rules.forProgram(running)
        let router = Router(programRules)
        guard let target = Describe.routeTarget(host, port: port) else {
            fail("'\(host)' is not a host name or address", status: 2)
        }
        let policy = TrafficPolicy(router: router, strict: strict || programRules.options.strict == true,
                                   proxyLoopback: proxyLoopback || programRules.options.proxyLoopback == true,
                                   namesRemote: router.anyRemoteResolution)
        let decision = router.route(target)
        let lines = (RulesFileReader.read(path).contents ?? []).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        func source(_ line: Int) -> String {
            line >= 1 && line <= lines.count ? String(decoding: lines[line - 1], as: UTF8.self).trimmingSpaces : ""
        }
        print("rules:       \(path)")
        print("program:     \(program) (\(executable))")
        print("destination: \(host)\(port.map { " port \($0)" } ?? " (any port)")")
        if let line = decision.line {
            print("matches:     \(decision.isDefault ? "the default, " : "")line \(line): \(source(line))")
        } else {
            print("matches:     no rule; the default applies")
        }
        print("action:      \(Describe.action(decision.action, rules))")
        print("verdict:     \(Describe.verdict(verdict(target, policy, programRules), rules))")
        if let name = target.name, HostsFile(text: Shim.readFile("/etc/hosts") ?? []).addresses(of: name) != nil {
            print("name:        in /etc/hosts: resolved locally, whatever the proxy")
        } else if let name = target.name {
            let remote = router.resolvesRemotely(name)
            print("name:        \(remote ? "resolved by the proxy (the program gets a synthetic address)" : "resolved locally (/etc/hosts, then the system resolver)")")
        }
        if let address = target.address, address.isLoopback, !policy.proxyLoopback {
            print("note:        loopback destinations go direct unless --proxy-loopback or 'set proxy-loopback'")
        }
    }
}

extension ExplainCommand {
    /// What the shim would do, from the same function it calls (TrafficVerdict); a name is
    /// first resolved as the shim would: /etc/hosts, the proxy, or (not in strict mode) locally.
    func verdict(_ target: RouteTarget, _ policy: TrafficPolicy, _ rules: RuleSet) -> Verdict {
        ExplainCommand.verdict(target, policy, rules, udp: udp)
    }

    static func verdict(_ target: RouteTarget, _ policy: TrafficPolicy, _ rules: RuleSet, udp: Bool) -> Verdict {
        var attempt = TrafficAttempt(transport: udp ? .udp : .tcp, address: target.address, port: target.port)
        if let name = target.name {
            if let (addresses, _) = HostsFile(text: Shim.readFile("/etc/hosts") ?? []).addresses(of: name) {
                attempt.address = addresses.first
                attempt.localName = name
            } else if policy.router.resolvesRemotely(name) {
                attempt.proxyName = name
            } else if policy.strict {
                return .nameRefused("strict mode resolves no name locally (the rules send this name to no proxy that resolves names)")
            } else {
                attempt.localName = name  // the address is whatever the local resolver says
            }
        }
        if let address = attempt.address, let port = attempt.port {
            attempt.isProxy = rules.proxies.contains { proxy in
                IPAddress.parse(proxy.spec.host).map { Endpoint.sameHost(Endpoint(address, port: port), Endpoint($0, port: proxy.spec.port)) } ?? false
            }
        }
        return .traffic(TrafficVerdict.decide(attempt, policy))
    }

    enum Verdict {
        case traffic(TrafficVerdict)
        /// The name lookup itself is refused: the program never gets an address.
        case nameRefused(String)
    }
}

/// Words for rules and actions, shared by check and explain.
enum Describe {
    static func action(_ action: RuleAction, _ rules: RuleSet) -> String {
        func name(_ i: Int) -> String {
            let proxy = rules.proxies[i]
            return String(decoding: proxy.name, as: UTF8.self) + " (" + proxy.spec.displayName + ")"
        }
        switch action {
        case .direct: return "direct (no proxy)"
        case .block: return "block (the program gets ECONNREFUSED)"
        case .via(let p): return "through \(name(p))"
        case .chain(let list): return "chain: " + list.map(name).joined(separator: " > ") + " (each proxy reached through the one before)"
        case .failover(let list): return "failover: the first that works of " + list.map(name).joined(separator: ", ")
        }
    }

    /// The verdict as explain prints it.
    static func verdict(_ verdict: ExplainCommand.Verdict, _ rules: RuleSet) -> String {
        switch verdict {
        case .nameRefused(let why): return "refused: " + why + " (the name lookup fails)"
        case .traffic(.refuse(let errno, let why)): return "refused: " + why + "; the program sees " + ErrnoName.name(errno)
        case .traffic(.direct(let why)): return "direct" + why
        case .traffic(.proxy(let action, _)): return action == .direct ? "direct" : Self.action(action, rules)
        }
    }

    /// The destination as the rules see it: an address, or a host name (normalized); nil for
    /// text that is neither.
    static func routeTarget(_ host: String, port: UInt16?) -> RouteTarget? {
        var target = RouteTarget(port: port)
        if let address = IPAddress.parse(host) {
            target.address = address
        } else if let name = HostName.normalized(Array(host.utf8)) {
            target.name = name
        } else {
            return nil
        }
        return target
    }

    /// host, host:port, [v6], [v6]:port, or a bare IPv6 address.
    static func splitHostPort(_ text: String) -> (String, UInt16?)? {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.isEmpty { return (host, nil) }
            guard rest.hasPrefix(":"), let port = UInt16(rest.dropFirst()), port > 0 else { return nil }
            return (host, port)
        }
        let colons = text.filter { $0 == ":" }.count
        if colons == 1, let colon = text.firstIndex(of: ":") {
            guard let port = UInt16(text[text.index(after: colon)...]), port > 0 else { return nil }
            return (String(text[..<colon]), port)
        }
        return text.isEmpty ? nil : (text, nil)
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" || s.last == "\r" { s = s.dropLast() }
        return String(s)
    }
}
