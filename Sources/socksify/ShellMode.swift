import Glibc
import SocksifyCore

/// `eval "$(socksify on -p URL)"` and `eval "$(socksify off)"`: the current shell, and everything
/// it starts, goes through socksify until `off` (as `torsocks on`, with the rules file's per-app
/// rules still applying). Prints the shell code that sets (or clears) the library and its
/// variables; bash and zsh by default, fish with `--shell fish` or a fish `$SHELL`
/// (`socksify on -p URL | source`). No shared name map (each process keeps its own: a map for
/// a whole session would be cleaned up between commands) and no kernel backstop (no launcher
/// stays to supervise): static and Go programs are not held in this mode.
enum ShellMode {
    /// Every variable `on` may set, which `off` clears.
    static let variables = [
        ShimSettings.proxyVariable, ShimSettings.configVariable, ShimSettings.verboseVariable, ShimSettings.quietVariable,
        ShimSettings.proxyLoopbackVariable, ShimSettings.connectTimeoutVariable, ShimSettings.handshakeTimeoutVariable,
        ShimSettings.strictVariable, ShimSettings.pool4Variable, ShimSettings.pool6Variable, ShimSettings.logVariable,
        ShimSettings.nameMapVariable,
    ]

    static func main(_ turnOn: Bool, _ arguments: [String]) -> Never {
        var rest = arguments
        var shell = Environment.get("SHELL").map { String($0.split(separator: "/").last ?? "") } ?? "bash"
        if let at = rest.firstIndex(of: "--shell"), at + 1 < rest.count {
            shell = rest[at + 1]
            rest.removeSubrange(at...(at + 1))
        }
        let fish = shell == "fish"
        if isatty(1) != 0 {
            let how = fish ? "socksify \(turnOn ? "on" : "off") … | source" : "eval \"$(socksify \(turnOn ? "on" : "off") …)\""
            fail("this prints shell code for the current shell to run: \(how)", status: 2)
        }
        var lines: [String] = []
        if turnOn {
            guard var options = QuickOptions.parse(rest, program: ["sh"]) ?? (try? Socksify.parse(rest + ["--", "sh"]))?.launchOptions else {
                fail("usage: socksify on [-p URL | -c FILE] [options]   (the options of socksify itself)", status: 2)
            }
            options.command = ["sh"]
            let environment: LaunchEnvironment
            do {
                (environment, _) = try options.launchEnvironment(for: "the shell")
            } catch {
                fail("\(error)", status: 2)
            }
            if options.strict {
                Launcher.printError("note: in a shell turned on, --strict is the library's: no supervisor stays to hold static and Go programs (run them with socksify --strict PROGRAM)")
            }
            for (name, value) in environment.values {
                if let value { lines.append(set(name, value, fish: fish)) } else { lines.append(unset(name, fish: fish)) }
            }
            lines.append(unset(ShimSettings.nameMapVariable, fish: fish))
        } else {
            for name in variables { lines.append(unset(name, fish: fish)) }
            // LD_PRELOAD without our library, the user's own entries kept.
            let others = (Environment.get("LD_PRELOAD") ?? "").split(whereSeparator: { $0 == ":" || $0 == " " })
                .map(String.init).filter { !$0.hasSuffix("/" + LibraryLocator.fileName) && $0 != LibraryLocator.fileName }
            lines.append(others.isEmpty ? unset("LD_PRELOAD", fish: fish) : set("LD_PRELOAD", others.joined(separator: ":"), fish: fish))
        }
        print(lines.joined(separator: "\n"))
        exit(0)
    }

    static func set(_ name: String, _ value: String, fish: Bool) -> String {
        fish ? "set -gx \(name) \(quoted(value))" : "export \(name)=\(quoted(value))"
    }

    static func unset(_ name: String, fish: Bool) -> String {
        fish ? "set -e \(name)" : "unset \(name)"
    }

    /// Single quotes, any single quote inside spelled '\'' (both shells read that).
    static func quoted(_ value: String) -> String {
        "'" + value.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }
}
