import Testing
import SocksifyLibc
@testable import SocksifyCore

@Suite struct Socks4ReplyTests {
    struct CodeCase: Sendable, CustomTestStringConvertible {
        var raw: UInt8
        var named: Socks4ReplyCode
        var reason: String
        var errno: Int32
        var testDescription: String { String(raw) }
    }

    static let codes: [CodeCase] = [
        CodeCase(raw: 90, named: .granted, reason: "request granted (90)", errno: ECONNREFUSED),
        CodeCase(raw: 91, named: .rejected, reason: "request rejected or failed (91)", errno: ECONNREFUSED),
        CodeCase(raw: 92, named: .identdUnreachable, reason: "rejected: proxy cannot reach our identd (92)", errno: ECONNREFUSED),
        CodeCase(raw: 93, named: .identdMismatch, reason: "rejected: identd user id mismatch (93)", errno: EACCES),
    ]

    @Test(arguments: codes)
    func everyReplyCode(_ row: CodeCase) {
        let code = Socks4ReplyCode(row.raw)
        #expect(code == row.named)
        #expect(code.reason == row.reason)
        #expect(code.errno == row.errno)
        expectDecodesExactly([0x00, row.raw, 0x1F, 0x90, 10, 0, 0, 1],
                             as: Socks4Reply(code: code, port: 8080, address: IPv4Address(10, 0, 0, 1)),
                             decode: Socks4Reply.decode)
    }

    @Test func refusalsMapToErrno() {
        #expect(Socks4ReplyCode.rejected.errno == ECONNREFUSED)
        #expect(Socks4ReplyCode.identdUnreachable.errno == ECONNREFUSED)
        #expect(Socks4ReplyCode.identdMismatch.errno == EACCES)
    }

    @Test func unknownCodeReason() {
        #expect(Socks4ReplyCode(94).reason == "unknown SOCKS4 reply code 94")
        #expect(Socks4ReplyCode(0).reason == "unknown SOCKS4 reply code 0")
    }

    @Test func versionFourIsAcceptedToo() {
        expectDecodesExactly([0x04, 90, 0, 0, 0, 0, 0, 0],
                             as: Socks4Reply(code: .granted, port: 0, address: IPv4Address(0)),
                             decode: Socks4Reply.decode)
    }

    @Test func truncatedReplyNeedsEightBytes() {
        expectNeedMoreForEveryPrefix(of: [0x00, 90, 0x1F, 0x90, 10, 0, 0, 1], decode: Socks4Reply.decode) { _ in 8 }
    }

    @Test(arguments: [UInt8(1), 3, 5, 0x5A, 0xFF])
    func wrongVersionIsMalformed(version: UInt8) {
        #expect(throws: SocksError.malformedReply("SOCKS4 reply has version \(version), expected 0")) {
            try Socks4Reply.decode([version, 90, 0, 0, 0, 0, 0, 0][...])
        }
    }

    @Test(arguments: [UInt8(0), 1, 89, 94, 0x5F, 0xFF])
    func unknownCodeIsMalformed(code: UInt8) {
        #expect(throws: SocksError.malformedReply("unknown SOCKS4 reply code \(code)")) {
            try Socks4Reply.decode([0x00, code, 0, 0, 0, 0, 0, 0][...])
        }
    }

    @Test func garbageInAnOffsetSlice() {
        let bytes: [UInt8] = [0x00, 90, 0x00, 0x07, 90, 0, 0, 0, 0, 0, 0]
        #expect(throws: SocksError.malformedReply("SOCKS4 reply has version 7, expected 0")) {
            try Socks4Reply.decode(bytes[3...])
        }
    }
}
