import ArgumentParser

/// `socksify on` and `socksify off` as argument-parser sees them: for --help, the man page and
/// the completions. main.swift hands their words to ShellMode directly, so the launcher's
/// own options (any of them, in any form) are read by the launcher's own parser.
struct ShellOnCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "on",
        _superCommandName: "socksify",
        abstract: "Print shell code that puts the current shell, and what it starts, through socksify.",
        discussion: """
            eval "$(socksify on -p URL)" in bash or zsh, socksify on -p URL | source in fish \
            (--shell fish, or a fish $SHELL). Takes socksify's own options (-p, -c, -v, --strict …). \
            The rules file's per-program rules keep working; static and Go programs are not held \
            (no supervisor stays: run them with socksify PROGRAM). Undo with socksify off.
            """)

    @Option(help: ArgumentHelp("bash, zsh or fish (default: from $SHELL).", valueName: "shell"))
    var shell: String?

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("socksify's own options, e.g. -p socks5h://127.0.0.1:9050.", valueName: "options"))
    var options: [String] = []

    func run() { ShellMode.main(true, options + (shell.map { ["--shell", $0] } ?? [])) }
}

struct ShellOffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "off",
        _superCommandName: "socksify",
        abstract: "Print shell code that undoes socksify on (your own LD_PRELOAD entries stay).",
        discussion: "eval \"$(socksify off)\" in bash or zsh, socksify off | source in fish.")

    @Option(help: ArgumentHelp("bash, zsh or fish (default: from $SHELL).", valueName: "shell"))
    var shell: String?

    func run() { ShellMode.main(false, shell.map { ["--shell", $0] } ?? []) }
}
