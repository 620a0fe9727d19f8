/// A script's `#!` line read as the kernel reads it (fs/binfmt_script.c): within the first 256
/// bytes, the interpreter up to the first space or tab, then at most one argument, the rest of
/// the line with its outer spaces trimmed. The interpreter is what actually runs, so the
/// launcher checks it as it checks a program.
public struct Shebang: Sendable {
    public var interpreter: String
    public var argument: String?

    public init(interpreter: String, argument: String? = nil) {
        self.interpreter = interpreter
        self.argument = argument
    }

    /// The kernel reads no more of the file than this (BINPRM_BUF_SIZE).
    public static let lineLimit = 256

    /// Nil if the bytes do not start with `#!` or name no interpreter.
    public static func parse(_ start: [UInt8]) -> Shebang? {
        let bytes = start.prefix(lineLimit)
        guard bytes.count > 2, bytes[0] == UInt8(ascii: "#"), bytes[1] == UInt8(ascii: "!") else { return nil }
        var line = bytes[2...]
        if let newline = line.firstIndex(of: UInt8(ascii: "\n")) { line = line[..<newline] }
        line = trimmed(line)
        guard !line.isEmpty else { return nil }
        let end = line.firstIndex(where: isTerminator) ?? line.endIndex
        let interpreter = String(decoding: line[..<end], as: UTF8.self)
        guard end < line.endIndex, line[end] != 0 else { return Shebang(interpreter: interpreter) }
        let argument = trimmed(line[end...])
        return Shebang(interpreter: interpreter, argument: argument.isEmpty ? nil : String(decoding: argument, as: UTF8.self))
    }

    /// For `#!/usr/bin/env [-S] [OPTION...] [NAME=VALUE...] PROGRAM ...`: PROGRAM, which env
    /// looks up on $PATH and runs. Nil if the interpreter is not env or no program is named.
    /// Bytes, not String methods: this file is also compiled as Embedded Swift.
    public var programRunByEnv: String? {
        let path = Array(interpreter.utf8), env: [UInt8] = [0x65, 0x6E, 0x76]
        guard path == env || path.suffix(4).elementsEqual([UInt8(ascii: "/")] + env), let argument else { return nil }
        var words = Array(argument.utf8).split(whereSeparator: Shebang.isSpaceOrTab)
        var optionsEnded = false
        while !words.isEmpty {
            let word = words.removeFirst()
            if optionsEnded || word.first != UInt8(ascii: "-") {
                if word.contains(UInt8(ascii: "=")) { continue }  // NAME=VALUE
                return String(decoding: word, as: UTF8.self)
            }
            if word.elementsEqual("--".utf8) {
                optionsEnded = true
            } else if word.elementsEqual("-u".utf8) || word.elementsEqual("-C".utf8) {
                if !words.isEmpty { words.removeFirst() }  // the option's value
            } else if word.count > 2, word[word.startIndex + 1] == UInt8(ascii: "S") {
                words.insert(word.dropFirst(2), at: 0)  // -SPROGRAM; a lone -S needs nothing: the words are split already
            }
        }
        return nil
    }

    static func isSpaceOrTab(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
    static func isTerminator(_ byte: UInt8) -> Bool { isSpaceOrTab(byte) || byte == 0 }

    static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var slice = bytes
        while let first = slice.first, isSpaceOrTab(first) { slice = slice.dropFirst() }
        while let last = slice.last, isSpaceOrTab(last) { slice = slice.dropLast() }
        return slice
    }
}
