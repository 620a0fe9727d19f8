import Testing
@testable import SocksifyCore

@Suite struct NameMapReferenceTests {
    @Test func parsesWhatTheLauncherWrites() {
        #expect(NameMapReference.parse("sysv:0:0123456789abcdef") == NameMapReference(segment: 0, token: 0x0123_4567_89AB_CDEF))
        #expect(NameMapReference.parse("sysv:2147483647:ffffffffffffffff") == NameMapReference(segment: Int32.max, token: UInt64.max))
        #expect(NameMapReference.parse("sysv:17:FFFFFFFFFFFFFFFE") == NameMapReference(segment: 17, token: UInt64.max - 1), "upper-case hex")
    }

    @Test(arguments: [
        NameMapReference(segment: 0, token: 1),
        NameMapReference(segment: 32768, token: 0xDEAD_BEEF),
        NameMapReference(segment: Int32.max, token: UInt64.max),
        NameMapReference(segment: 5, token: 0x1000_0000_0000_0000),
    ])
    func textRoundTrips(reference: NameMapReference) {
        #expect(reference.text.utf8.count == "sysv:".utf8.count + String(reference.segment).utf8.count + 1 + 16)
        #expect(NameMapReference.parse(reference.text) == reference)
    }

    @Test func textKeepsLeadingZerosOfTheToken() {
        #expect(NameMapReference(segment: 3, token: 0xAB).text == "sysv:3:00000000000000ab")
    }

    @Test(arguments: [
        "",                                          // empty
        "/run/user/1000/socksify-names-4242-1a2b",   // the file an older launcher made
        "sysv:",
        "sysv:12",
        "sysv:12:",
        "sysv::0123456789abcdef",                    // no identifier
        "sysv:-1:0123456789abcdef",                  // negative
        "sysv:+1:0123456789abcdef",
        "sysv:2147483648:0123456789abcdef",          // over Int32.max
        "sysv:12345678901:0123456789abcdef",         // eleven digits
        "sysv:1 :0123456789abcdef",
        "sysv:1:0123456789abcde",                    // 15 digits
        "sysv:1:0123456789abcdef0",                  // 17 digits
        "sysv:1:0123456789abcdeg",                   // not hex
        "sysv:1:0x23456789abcdef",
        "sysv:1:0000000000000000",                   // token 0 marks a process's own map
        "sysv:1:0123456789abcdef:",
        "SYSV:1:0123456789abcdef",
        "posix:1:0123456789abcdef",
        " sysv:1:0123456789abcdef",
        "sysv:1:0123456789abcdef\n",
    ])
    func refuses(text: String) {
        #expect(NameMapReference.parse(text) == nil)
    }
}
