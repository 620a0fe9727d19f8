/// One problem in a rules file, with where it is and what to do about it.
public struct RulesDiagnostic: Sendable {
    public var line: Int
    public var column: Int
    public var message: String
    public var hint: String

    public init(line: Int, column: Int, message: String, hint: String = "") {
        self.line = line
        self.column = column
        self.message = message
        self.hint = hint
    }

    /// `FILE:LINE:COLUMN: error: MESSAGE` (or `warning:`) and, when there is one, an indented hint line.
    public func format(file: String, warning: Bool = false) -> String {
        var text = file + ":" + String(line) + ":" + String(column) + (warning ? ": warning: " : ": error: ") + message
        if !hint.isEmpty { text += "\n    hint: " + hint }
        return text
    }
}
