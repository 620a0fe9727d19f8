import Glibc

enum Launcher {
    /// Replaces this process with the program, so its exit status, signals and terminal are
    /// exactly as without socksify. Returns only on failure, with a shell's exit codes, after
    /// `beforeFailing` (which undoes what only the program would have used).
    static func exec(_ command: [String], beforeFailing: () -> Void = {}) -> Never {
        fflush(nil)  // exec drops stdio buffers
        var arguments: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) }
        arguments.append(nil)
        execvp(command[0], &arguments)
        let error = errno
        beforeFailing()
        if error == ENOENT {
            fail("\(command[0]): command not found", status: 127)
        }
        fail("\(command[0]): \(String(cString: strerror(error)))", status: 126)
    }

    /// A line on stderr without the "socksify: " prefix (diagnostics carry file:line:column).
    static func printPlain(_ message: String) {
        var line = Array("\(message)\n".utf8)
        _ = line.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }

    static func printError(_ message: String) {
        var line = Array("socksify: \(message)\n".utf8)
        _ = line.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }
}
