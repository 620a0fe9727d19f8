import Testing
@testable import SocksifyCore

@Suite struct HostNameTests {
    static func label(_ n: Int, _ c: Character = "a") -> String { String(repeating: c, count: n) }

    @Test(arguments: [
        ("example.com", "example.com"),
        ("Example.COM", "example.com"),
        ("example.com.", "example.com"),
        ("WWW.Example.Com.", "www.example.com"),
        ("a", "a"),
        ("localhost", "localhost"),
        ("_dmarc.example.org", "_dmarc.example.org"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("my-host-1.lan", "my-host-1.lan"),
        ("123.example", "123.example"),
        ("1.2.3.4.5", "1.2.3.4.5"),
    ] as [(String, String)])
    func normalizes(input: String, expected: String) {
        #expect(HostName.normalized(ascii(input)) == ascii(expected))
    }

    @Test(arguments: ["", ".", "..", "a..b", ".a", "a.b..", "a b", "ex!ample.com", "exa*mple", "a/b", "a:b", "bücher.de",
                      "tab\there", "nul\u{0}byte", "a@b"])
    func rejects(input: String) {
        #expect(HostName.normalized(ascii(input)) == nil)
    }

    @Test func labelsUpTo63Bytes() {
        #expect(HostName.normalized(ascii(Self.label(63) + ".com")) == ascii(Self.label(63) + ".com"))
        #expect(HostName.normalized(ascii(Self.label(64) + ".com")) == nil)
        #expect(HostName.normalized(ascii("www." + Self.label(64))) == nil)
        #expect(HostName.normalized(ascii(Self.label(64))) == nil)
    }

    @Test func namesUpTo253Bytes() {
        let longest = [Self.label(63), Self.label(63), Self.label(63), Self.label(61)].joined(separator: ".")
        #expect(longest.utf8.count == 253)
        #expect(HostName.normalized(ascii(longest)) == ascii(longest))
        #expect(HostName.normalized(ascii(longest + ".")) == ascii(longest), "a trailing dot does not count")
        let tooLong = [Self.label(63), Self.label(63), Self.label(63), Self.label(62)].joined(separator: ".")
        #expect(HostName.normalized(ascii(tooLong)) == nil)
    }

    @Test func stringKeepsEveryByte() {
        #expect(HostName.string(ascii("example.com")) == "example.com")
        #expect(HostName.string([]) == "")
        #expect(HostName.string([0x41, 0xE9]).unicodeScalars.map(\.value) == [0x41, 0xE9])
    }
}
