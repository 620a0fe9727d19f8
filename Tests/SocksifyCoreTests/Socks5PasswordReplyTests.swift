import Testing
@testable import SocksifyCore

@Suite struct Socks5PasswordReplyTests {
    @Test func statusZeroIsSuccess() {
        expectDecodesExactly([0x01, 0x00], as: Socks5PasswordReply(status: 0), decode: Socks5PasswordReply.decode)
        #expect(Socks5PasswordReply(status: 0).succeeded)
    }

    @Test(arguments: [UInt8(0x01), 0x02, 0x7F, 0xFF])
    func anyOtherStatusIsFailure(status: UInt8) {
        expectDecodesExactly([0x01, status], as: Socks5PasswordReply(status: status), decode: Socks5PasswordReply.decode)
        #expect(!Socks5PasswordReply(status: status).succeeded)
    }

    @Test func versionFiveIsAcceptedForServersThatEchoTheSocksVersion() {
        expectDecodesExactly([0x05, 0x00], as: Socks5PasswordReply(status: 0), decode: Socks5PasswordReply.decode)
        expectDecodesExactly([0x05, 0x01], as: Socks5PasswordReply(status: 1), decode: Socks5PasswordReply.decode)
    }

    @Test func truncatedReplyNeedsTwoBytes() {
        expectNeedMoreForEveryPrefix(of: [0x01, 0x00], decode: Socks5PasswordReply.decode) { _ in 2 }
    }

    @Test(arguments: [UInt8(0x00), 0x02, 0x04, 0x06, 0xFF])
    func otherVersionsAreMalformed(version: UInt8) {
        #expect(throws: SocksError.malformedReply("authentication reply has version \(version), expected 1")) {
            try Socks5PasswordReply.decode([version, 0x00][...])
        }
    }
}
