import Glibc
import SocksifyCore

/// Finds and reads the rules file: --config FILE, else $SOCKSIFY_CONFIG, else
/// $XDG_CONFIG_HOME/socksify/config (~/.config/socksify/config), else /etc/socksify.conf.
enum RulesFileLocator {
    static func find(explicit: String?) -> String? {
        if let explicit { return explicit }
        if let fromEnvironment = Environment.get(ShimSettings.configVariable), !fromEnvironment.isEmpty { return fromEnvironment }
        var candidates: [String] = []
        if let xdg = Environment.get("XDG_CONFIG_HOME"), !xdg.isEmpty {
            candidates.append(xdg + "/socksify/config")
        } else if let home = Environment.get("HOME"), !home.isEmpty {
            candidates.append(home + "/.config/socksify/config")
        }
        candidates.append("/etc/socksify.conf")
        return candidates.first { access($0, F_OK) == 0 }
    }

    /// The file's rules, its problems, or why it could not be read (the line to print).
    enum Loaded {
        case rules(RuleSet)
        case problems(RulesProblems)
        case unreadable(String)
        case tooLarge(String)
    }

    /// Reads and parses the file as the shim will, with the same reader, environment and
    /// password files. Messages name the file as the user gave it.
    static func load(_ path: String, shownAs name: String? = nil) -> Loaded {
        let name = name ?? path
        let outcome = RulesFileReader.read(path)
        switch outcome {
        case .contents(let text):
            let parsed = RulesParser.parse(text, environment: Environment.get,
                                           readFile: { Shim.readFile(Shim.expandHome($0, Environment.get)) })
            switch parsed {
            case .success(let rules): return .rules(rules)
            case .failure(let problems): return .problems(problems)
            }
        case .tooLarge: return .tooLarge(outcome.problem(name) ?? name)
        case .unreadable(let error): return .unreadable("cannot read \(name): \(String(cString: strerror(error)))")
        }
    }

    /// Prints every problem and says how many.
    static func report(_ problems: RulesProblems, file: String) {
        for diagnostic in problems.diagnostics { Launcher.printPlain(diagnostic.format(file: file)) }
        let count = problems.diagnostics.count
        Launcher.printPlain("\(count) problem\(count == 1 ? "" : "s") in \(file)")
    }
}
