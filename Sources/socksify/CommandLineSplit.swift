/// Splits socksify's own options from the program and its arguments: the program starts at the
/// first word that is neither an option nor an option's value, or right after `--`.
struct CommandLineSplit {
    var own: [String] = []
    var program: [String] = []

    init(_ arguments: [String], optionsWithValue: [String]) {
        var i = 0
        while i < arguments.count {
            let word = arguments[i]
            if word == "--" {
                program = Array(arguments[(i + 1)...])
                return
            }
            guard word.hasPrefix("-"), word != "-" else {
                program = Array(arguments[i...])
                return
            }
            own.append(word)
            if optionsWithValue.contains(word), i + 1 < arguments.count {
                own.append(arguments[i + 1])
                i += 1
            }
            i += 1
        }
    }
}
