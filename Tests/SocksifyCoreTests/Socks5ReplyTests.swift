import Testing
import SocksifyLibc
@testable import SocksifyCore

/// One row per REP value: its named constant, its log reason and the errno a program sees.
struct ReplyCodeCase: Sendable, CustomTestStringConvertible {
    var raw: UInt8
    var named: Socks5ReplyCode?
    var reason: String
    var errno: Int32
    var testDescription: String { "0x" + String(raw, radix: 16) }
}

let socks5ReplyCodeCases: [ReplyCodeCase] = [
    ReplyCodeCase(raw: 0x00, named: .succeeded, reason: "succeeded", errno: ECONNREFUSED),
    ReplyCodeCase(raw: 0x01, named: .generalFailure, reason: "general SOCKS server failure (0x01)", errno: ECONNREFUSED),
    ReplyCodeCase(raw: 0x02, named: .notAllowedByRuleset, reason: "connection not allowed by ruleset (0x02)", errno: EACCES),
    ReplyCodeCase(raw: 0x03, named: .networkUnreachable, reason: "network unreachable (0x03)", errno: ENETUNREACH),
    ReplyCodeCase(raw: 0x04, named: .hostUnreachable, reason: "host unreachable (0x04)", errno: EHOSTUNREACH),
    ReplyCodeCase(raw: 0x05, named: .connectionRefused, reason: "connection refused by destination (0x05)", errno: ECONNREFUSED),
    ReplyCodeCase(raw: 0x06, named: .ttlExpired, reason: "TTL expired (0x06)", errno: ETIMEDOUT),
    ReplyCodeCase(raw: 0x07, named: .commandNotSupported, reason: "command not supported (0x07)", errno: EOPNOTSUPP),
    ReplyCodeCase(raw: 0x08, named: .addressTypeNotSupported, reason: "address type not supported (0x08)", errno: EAFNOSUPPORT),
    ReplyCodeCase(raw: 0x09, named: nil, reason: "unassigned reply code 9", errno: ECONNREFUSED),
    ReplyCodeCase(raw: 0x80, named: nil, reason: "unassigned reply code 128", errno: ECONNREFUSED),
    ReplyCodeCase(raw: 0xFF, named: nil, reason: "unassigned reply code 255", errno: ECONNREFUSED),
]

@Suite struct Socks5ReplyTests {
    static let bound = SocksDestination(.ip(.v4(IPv4Address(10, 0, 0, 1))), port: 0x0438)
    static let boundBytes: [UInt8] = [0x01, 10, 0, 0, 1, 0x04, 0x38]

    @Test(arguments: socks5ReplyCodeCases)
    func everyReplyCode(_ row: ReplyCodeCase) {
        let code = Socks5ReplyCode(row.raw)
        if let named = row.named { #expect(code == named) }
        #expect(code.rawValue == row.raw)
        #expect(code.reason == row.reason)
        #expect(code.errno == row.errno, "errno \(ErrnoName.name(code.errno)), expected \(ErrnoName.name(row.errno))")
        expectDecodesExactly([0x05, row.raw, 0x00] + Self.boundBytes,
                             as: Socks5Reply(code: code, bound: Self.bound), decode: Socks5Reply.decode)
    }

    @Test func errnoMappingFromTheBrief() {
        #expect(Socks5ReplyCode.generalFailure.errno == ECONNREFUSED)
        #expect(Socks5ReplyCode.notAllowedByRuleset.errno == EACCES)
        #expect(Socks5ReplyCode.networkUnreachable.errno == ENETUNREACH)
        #expect(Socks5ReplyCode.hostUnreachable.errno == EHOSTUNREACH)
        #expect(Socks5ReplyCode.connectionRefused.errno == ECONNREFUSED)
        #expect(Socks5ReplyCode.ttlExpired.errno == ETIMEDOUT)
        #expect(Socks5ReplyCode.commandNotSupported.errno == EOPNOTSUPP)
        #expect(Socks5ReplyCode.addressTypeNotSupported.errno == EAFNOSUPPORT)
    }

    @Test func boundIPv6() {
        let address: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [0x02]
        expectDecodesExactly([0x05, 0x00, 0x00, 0x04] + address + [0x01, 0xBB],
                             as: Socks5Reply(code: .succeeded, bound: destination("2001:db8::2", 443)),
                             decode: Socks5Reply.decode)
    }

    @Test func boundDomainName() {
        expectDecodesExactly([0x05, 0x00, 0x00, 0x03, 9] + ascii("proxy.lan") + [0x00, 0x50],
                             as: Socks5Reply(code: .succeeded, bound: destination("proxy.lan", 80)),
                             decode: Socks5Reply.decode)
    }

    @Test func shortestPossibleReplyHasAnEmptyName() {
        let bytes: [UInt8] = [0x05, 0x00, 0x00, 0x03, 0, 0x00, 0x00]
        expectDecodesExactly(bytes, as: Socks5Reply(code: .succeeded, bound: SocksDestination(.domain(""), port: 0)),
                             decode: Socks5Reply.decode)
        expectNeedMoreForEveryPrefix(of: bytes, decode: Socks5Reply.decode) { n in n < 5 ? 5 : 7 }
    }

    @Test func truncatedIPv4ReplyAsksForFiveThenTen() {
        let bytes: [UInt8] = [0x05, 0x00, 0x00] + Self.boundBytes
        #expect(bytes.count == 10)
        expectNeedMoreForEveryPrefix(of: bytes, decode: Socks5Reply.decode) { n in n < 5 ? 5 : 10 }
    }

    @Test func truncatedIPv6ReplyAsksForFiveThenTwentyTwo() {
        let bytes: [UInt8] = [0x05, 0x00, 0x00, 0x04] + [UInt8](repeating: 0, count: 16) + [0, 80]
        #expect(bytes.count == 22)
        expectNeedMoreForEveryPrefix(of: bytes, decode: Socks5Reply.decode) { n in n < 5 ? 5 : 22 }
    }

    @Test func truncatedDomainReplyAsksForFiveThenTheExactLength() {
        let bytes: [UInt8] = [0x05, 0x00, 0x00, 0x03, 11] + ascii("example.com") + [0x01, 0xBB]
        #expect(bytes.count == 18)
        expectNeedMoreForEveryPrefix(of: bytes, decode: Socks5Reply.decode) { n in n < 5 ? 5 : 18 }
    }

    @Test func longestDomainReply() {
        let name = [UInt8](repeating: UInt8(ascii: "x"), count: 255)
        let bytes: [UInt8] = [0x05, 0x00, 0x00, 0x03, 255] + name + [0x00, 0x01]
        expectDecodesExactly(bytes, as: Socks5Reply(code: .succeeded, bound: destination(String(repeating: "x", count: 255), 1)),
                             decode: Socks5Reply.decode)
        expectNeedMoreForEveryPrefix(of: bytes, decode: Socks5Reply.decode) { n in n < 5 ? 5 : 262 }
    }

    @Test(arguments: [UInt8(0x00), 0x01, 0x04, 0x06, 0xFF])
    func wrongVersionIsMalformed(version: UInt8) {
        #expect(throws: SocksError.malformedReply("reply has version \(version), expected 5")) {
            try Socks5Reply.decode(([version, 0x00, 0x00] + Self.boundBytes)[...])
        }
    }

    @Test(arguments: [UInt8(0x00), 0x02, 0x05, 0xFF])
    func unknownAddressTypeIsMalformed(atyp: UInt8) {
        #expect(throws: SocksError.malformedReply("unknown address type \(atyp)")) {
            try Socks5Reply.decode([0x05, 0x00, 0x00, atyp, 0, 0, 0, 0, 0, 0][...])
        }
        // Known as soon as the first five bytes are in.
        #expect(throws: SocksError.malformedReply("unknown address type \(atyp)")) {
            try Socks5Reply.decode([0x05, 0x00, 0x00, atyp, 0][...])
        }
    }

    // MARK: refusal(inPartial:)

    @Test func refusalNeedsVersionAndCode() {
        #expect(Socks5Reply.refusal(inPartial: [][...]) == nil)
        #expect(Socks5Reply.refusal(inPartial: [0x05][...]) == nil)
    }

    @Test func successIsNoRefusal() {
        #expect(Socks5Reply.refusal(inPartial: [0x05, 0x00][...]) == nil)
        #expect(Socks5Reply.refusal(inPartial: [0x05, 0x00, 0x00, 0x01][...]) == nil)
    }

    @Test func wrongVersionIsNoRefusal() {
        #expect(Socks5Reply.refusal(inPartial: [0x04, 0x01][...]) == nil)
        #expect(Socks5Reply.refusal(inPartial: [0x00, 0x5B][...]) == nil)
    }

    @Test(arguments: socks5ReplyCodeCases.filter { $0.raw != 0 })
    func everyRefusalCodeIsReadFromTwoBytes(_ row: ReplyCodeCase) {
        #expect(Socks5Reply.refusal(inPartial: [0x05, row.raw][...]) == Socks5ReplyCode(row.raw))
        #expect(Socks5Reply.refusal(inPartial: [0x05, row.raw, 0x00, 0x01, 10][...]) == Socks5ReplyCode(row.raw))
    }

    @Test func refusalInAnOffsetSlice() {
        let bytes: [UInt8] = [0x05, 0x00, 0x05, 0x05]
        #expect(Socks5Reply.refusal(inPartial: bytes[2...]) == .connectionRefused)
        #expect(Socks5Reply.refusal(inPartial: bytes[0...]) == nil)
    }
}
