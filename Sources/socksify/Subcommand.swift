import ArgumentParser
import Glibc

/// Runs a subcommand on its own words (not through `Socksify`, whose `-p` and `-c` would
/// read the subcommand's). As its own root, argument-parser's hint would say
/// "See 'doctor --help'": the lines it prints are given the launcher's name first.
enum Subcommand {
    static func run<Command: ParsableCommand>(_ type: Command.Type, _ name: String, _ words: [String]) -> Never {
        do {
            var command = try type.parseAsRoot(words)
            try command.run()
            exit(0)
        } catch {
            let code = type.exitCode(for: error)
            let message = type.fullMessage(for: error)
                .replacing("See '\(name) --help'", with: "See 'socksify \(name) --help'")
                .replacing("\n  See '\(name) ", with: "\n  See 'socksify \(name) ")
            if !message.isEmpty {
                var bytes = Array((message + "\n").utf8)
                _ = bytes.withUnsafeMutableBytes { write(code == .success ? 1 : 2, $0.baseAddress, $0.count) }
            }
            exit(code.rawValue)
        }
    }
}
