// socksify [options] [--] PROGRAM [ARGS...]: everything from PROGRAM on belongs to the program,
// so `socksify curl -v URL` gives -v to curl. The split happens before option parsing.
let split = CommandLineSplit(Array(CommandLine.arguments.dropFirst()), optionsWithValue: Socksify.optionsWithValue)
Socksify.main(split.own + ["--"] + split.program)
