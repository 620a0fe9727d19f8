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

    static func read(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var content: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = Glibc.read(fd, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            content += chunk[0..<n]
        }
        return content
    }

    /// Parses the file as the shim will, with the same environment and password files.
    static func load(_ path: String) -> Result<RuleSet, RulesProblems>? {
        guard let text = read(path) else { return nil }
        return RulesParser.parse(text, environment: Environment.get,
                                 readFile: { read(Shim.expandHome($0, Environment.get)) })
    }

    /// Prints every problem and says how many.
    static func report(_ problems: RulesProblems, file: String) {
        for diagnostic in problems.diagnostics { Launcher.printPlain(diagnostic.format(file: file)) }
        let count = problems.diagnostics.count
        Launcher.printPlain("\(count) problem\(count == 1 ? "" : "s") in \(file)")
    }
}
