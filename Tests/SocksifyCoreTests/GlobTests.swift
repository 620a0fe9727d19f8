import Testing
@testable import SocksifyCore

@Suite struct GlobTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var pattern: String
        var text: String
        var matches: Bool
        init(_ pattern: String, _ text: String, _ matches: Bool) { self.pattern = pattern; self.text = text; self.matches = matches }
        var testDescription: String { "'\(pattern)' \(matches ? "matches" : "does not match") '\(text)'" }
    }

    static let cases: [Case] = [
        // literals
        Case("curl", "curl", true),
        Case("curl", "curl2", false),
        Case("curl", "cur", false),
        Case("curl", "Curl", false),  // case matters, as in file names
        Case("", "", true),
        Case("", "a", false),
        Case("a", "", false),
        // *
        Case("*", "", true),
        Case("*", "anything at all", true),
        Case("**", "x", true),
        Case("python3*", "python3", true),
        Case("python3*", "python3.11", true),
        Case("python3*", "python", false),
        Case("python3*", "xpython3", false),
        Case("*.so", "libc.so", true),
        Case("*.so", "libc.so.6", false),
        Case("*a*b", "xaxxb", true),
        Case("*a*b", "xaxxbx", false),
        Case("a*b*c", "abc", true),
        Case("a*b*c", "aXbYbZc", true),
        Case("a*b*c", "acb", false),
        Case("*ab", "aab", true),  // needs backtracking
        Case("*aab", "aaab", true),
        Case("/usr/bin/*", "/usr/bin/curl", true),
        Case("/usr/bin/*", "/usr/bin/sub/curl", true),  // * crosses '/'
        Case("/usr/bin/*", "/usr/local/bin/curl", false),
        // ?
        Case("?", "a", true),
        Case("?", "", false),
        Case("?", "ab", false),
        Case("a?c", "abc", true),
        Case("a?", "a", false),
        Case("*?", "", false),
        Case("*?", "x", true),
        // sets
        Case("[abc]", "b", true),
        Case("[abc]", "d", false),
        Case("[a-z]x", "qx", true),
        Case("[a-z]x", "Qx", false),
        Case("python[23]", "python2", true),
        Case("python[23]", "python4", false),
        Case("python3.[0-9]*", "python3.11", true),
        Case("python3.[0-9]*", "python3.x", false),
        Case("[!a]", "b", true),
        Case("[!a]", "a", false),
        Case("[^a]", "b", true),
        Case("[^a]", "a", false),
        Case("[!a-c]x", "dx", true),
        Case("[!a-c]x", "bx", false),
        Case("[]]", "]", true),  // ']' first in a set is a member
        Case("[!]]", "]", false),
        Case("[!]]", "x", true),
        Case("[a-]", "-", true),  // '-' last is a member
        Case("[a-]", "b", false),
        Case("*[0-9]", "abc1", true),
        Case("*[0-9]", "abc", false),
        Case("*[x]", "ax", true),
        // an unterminated set is a literal '['
        Case("[abc", "[abc", true),
        Case("[abc", "a", false),
        Case("x[", "x[", true),
    ]

    @Test(arguments: cases)
    func matches(_ c: Case) {
        #expect(Glob.matches(ascii(c.pattern), ascii(c.text)) == c.matches)
    }

    @Test func bytesOutsideASCII() {
        let text: [UInt8] = [0xE2, 0x9C, 0x93]  // ✓ in UTF-8
        #expect(Glob.matches(ascii("*"), text))
        #expect(Glob.matches(ascii("???"), text), "? is one byte, not one character")
        #expect(!Glob.matches(ascii("?"), text))
        #expect(Glob.matches([0xE2] + ascii("*"), text))
    }

    @Test func longTextWithManyStarsFinishes() {
        // The single-backtrack-point algorithm is linear-ish even for patterns that would be
        // exponential in a naive recursive matcher.
        let text = ascii(String(repeating: "a", count: 2000))
        let pattern = ascii(String(repeating: "*a", count: 30) + "b")
        #expect(!Glob.matches(pattern, text))
        #expect(Glob.matches(ascii(String(repeating: "*a", count: 30)), text))
    }
}
