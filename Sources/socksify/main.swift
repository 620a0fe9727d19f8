// socksify [options] [--] PROGRAM [ARGS...]: everything from PROGRAM on belongs to the program,
// so `socksify curl -v URL` gives -v to curl. The split happens before option parsing.
// `socksify check`, `explain`, `doctor`, `on`, `off` and `help` are subcommands (run a program
// named so with `--`). They are declared on `Socksify` for --help, the man page and the
// completions, and handed their words here, so the root's options never read theirs.
import SocksifyLibc

sx_real_use_linked_libc()  // a static executable: no RTLD_NEXT to find libc with
let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "check": Subcommand.run(CheckCommand.self, "check", Array(arguments.dropFirst()))
case "explain": Subcommand.run(ExplainCommand.self, "explain", Array(arguments.dropFirst()))
case "doctor": Subcommand.run(DoctorCommand.self, "doctor", Array(arguments.dropFirst()))
case "on", "off":
    let rest = Array(arguments.dropFirst())
    if rest.contains("--help") || rest.contains("-h") {
        Socksify.main(["help", arguments[0]])
    }
    ShellMode.main(arguments[0] == "on", rest)
case "help":  // socksify help doctor
    let known = ["check", "explain", "doctor", "on", "off"]
    if arguments.count > 1, !known.contains(arguments[1]) {
        fail("no subcommand '\(arguments[1])': " + known.joined(separator: ", ") + " (socksify --help for the options)", status: 2)
    }
    Socksify.main(arguments)
default:
    let split = CommandLineSplit(arguments, optionsWithValue: Socksify.optionsWithValue)
    if var quick = QuickOptions.parse(split.own, program: split.program) {
        do {
            try quick.run()
        } catch {
            Socksify.exit(withError: error)
        }
    } else {
        Socksify.main(split.own + ["--"] + split.program)
    }
}
