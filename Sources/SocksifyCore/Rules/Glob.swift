/// Shell-style wildcards over bytes: `*` any run, `?` one byte, `[abc]`/`[a-z]`/`[!a]` a set.
public enum Glob {
    public static func matches(_ pattern: [UInt8], _ text: [UInt8]) -> Bool {
        var p = 0, t = 0
        var starP = -1, starT = 0
        while t < text.count {
            if p < pattern.count {
                let c = pattern[p]
                if c == UInt8(ascii: "*") {
                    starP = p; starT = t; p += 1
                    continue
                }
                if c == UInt8(ascii: "?") { p += 1; t += 1; continue }
                if c == UInt8(ascii: "["), let (matched, next) = matchSet(pattern, p, text[t]) {
                    if matched { p = next; t += 1; continue }
                } else if c == text[t] {
                    p += 1; t += 1
                    continue
                }
            }
            guard starP >= 0 else { return false }
            p = starP + 1
            starT += 1
            t = starT
        }
        while p < pattern.count && pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }

    /// Matches `byte` against the set starting at `pattern[start] == "["`; nil if unterminated.
    static func matchSet(_ pattern: [UInt8], _ start: Int, _ byte: UInt8) -> (Bool, Int)? {
        var i = start + 1
        var negate = false
        if i < pattern.count && (pattern[i] == UInt8(ascii: "!") || pattern[i] == UInt8(ascii: "^")) { negate = true; i += 1 }
        var matched = false
        var first = true
        while i < pattern.count && (first || pattern[i] != UInt8(ascii: "]")) {
            first = false
            if i + 2 < pattern.count && pattern[i + 1] == UInt8(ascii: "-") && pattern[i + 2] != UInt8(ascii: "]") {
                if byte >= pattern[i] && byte <= pattern[i + 2] { matched = true }
                i += 3
            } else {
                if byte == pattern[i] { matched = true }
                i += 1
            }
        }
        guard i < pattern.count else { return nil }
        return (matched != negate, i + 1)
    }
}
