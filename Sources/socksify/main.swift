// socksify [options] [--] PROGRAM [ARGS...]: everything from PROGRAM on belongs to the program,
// so `socksify curl -v URL` gives -v to curl. The split happens before option parsing.
// `socksify check`, `explain`, `on` and `off` are subcommands (run a program named so with `--`).
let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "check": CheckCommand.main(Array(arguments.dropFirst()))
case "explain": ExplainCommand.main(Array(arguments.dropFirst()))
case "doctor": DoctorCommand.main(Array(arguments.dropFirst()))
case "on": ShellMode.main(true, Array(arguments.dropFirst()))
case "off": ShellMode.main(false, Array(arguments.dropFirst()))
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
