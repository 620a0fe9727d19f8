import ArgumentParser
import SocksifyCore

/// `socksify check [FILE]`: validates a rules file the way the shim will read it.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        _superCommandName: "socksify",
        abstract: "Check a rules file and report every problem with file:line:column and a hint.")

    @Argument(help: ArgumentHelp("The rules file (default: the one socksify would use).", valueName: "file"))
    var file: String?

    func run() throws {
        guard let path = RulesFileLocator.find(explicit: file) else {
            fail("no rules file: give one, or create ~/.config/socksify/config or /etc/socksify.conf", status: 2)
        }
        switch RulesFileLocator.load(path) {
        case .unreadable(let problem):
            fail(problem, status: 2)
        case .tooLarge(let problem):
            fail(problem, status: 1)  // a file socksify will not use, as one that does not parse
        case .problems(let problems):
            RulesFileLocator.report(problems, file: path)
            throw ExitCode(1)
        case .rules(let rules):
            for warning in rules.warnings { Launcher.printPlain(warning.format(file: path, warning: true)) }
            let fallback = rules.defaultLine == nil ? "direct (no default line)" : Describe.action(rules.defaultAction, rules)
            print("\(path): ok — \(rules.proxies.count) proxies, \(rules.rules.count) rules, default \(fallback)")
            if !rules.warnings.isEmpty {
                print("\(rules.warnings.count) warning\(rules.warnings.count == 1 ? "" : "s"): connections through a proxy without its password fail (EACCES) until it is there")
            }
            func names(_ proxies: [NamedProxy]) -> String {
                proxies.map { String(decoding: $0.name, as: UTF8.self) + " (line \($0.line))" }.joined(separator: ", ")
            }
            let pipelined = rules.proxies.filter { $0.spec.pipelines }
            if !pipelined.isEmpty {
                print("pipelined handshake (greeting, password and request in one write): \(names(pipelined))")
            }
            // Accepted, so one file can switch a proxy between SOCKS4 and 5, but worth a word.
            let socks4 = rules.proxies.filter { $0.spec.pipeline && !$0.spec.pipelines }
            if !socks4.isEmpty {
                print("note: pipeline changes nothing for SOCKS4, which sends one message: \(names(socks4))")
            }
        }
    }
}
