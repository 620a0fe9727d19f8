import Glibc
import SocksifyCore

/// Programs LD_PRELOAD cannot reach: their traffic would silently go direct, so the launcher
/// refuses them with the reason instead.
enum ProgramCheck {
    /// The kernel follows at most this many interpreters, then fails the exec (ELOOP).
    static let interpreterDepth = 5

    /// The file execvp would run: a name with a slash as is, else the first match on $PATH.
    static func resolve(_ program: String) -> String? {
        if program.contains("/") { return program }
        let path = Environment.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in path.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (folder.isEmpty ? "." : String(folder)) + "/" + program
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// One line saying why, or nil if the library will load and see the program's connections.
    /// A script is judged by the interpreter that runs it.
    static func whyPreloadCannotWork(_ path: String) -> String? {
        obstacle(path)?.message
    }

    /// What keeps the library out (of the program, or of the interpreter that runs it), with
    /// the line that says so.
    static func obstacle(_ path: String) -> (obstacle: PreloadObstacle, message: String)? {
        var file = path
        for _ in 0...interpreterDepth {
            switch ProgramFile.inspect(file) {
            case .reachable:
                return nil
            case .blocked(let obstacle):
                let subject = file == path ? path : "\(path) runs under \(file), which"
                return (obstacle, "\(subject) \(obstacle.what): \(obstacle.why), so its connections would bypass the proxy")
            case .script(let shebang):
                // env only execs what it names, LD_PRELOAD still in the environment: that program
                // is the one that matters. One env cannot find, exec cannot run either.
                if let name = shebang.programRunByEnv {
                    guard let found = resolve(name) else { return nil }
                    file = found
                } else {
                    file = shebang.interpreter
                }
            }
        }
        return nil  // deeper than the kernel goes: the exec fails by itself
    }
}
