import Testing
@testable import SocksifyCore

@Suite struct Socks5MethodSelectionTests {
    static let methods: [(UInt8, Socks5AuthMethod)] = [
        (0x00, .noAuthentication),
        (0x01, .gssapi),
        (0x02, .usernamePassword),
        (0xFF, .noAcceptableMethods),
        (0x80, Socks5AuthMethod(0x80)),  // private method numbers are passed through as-is
    ]

    @Test(arguments: methods)
    func decodesTheChosenMethod(byte: UInt8, method: Socks5AuthMethod) {
        expectDecodesExactly([0x05, byte], as: Socks5MethodSelection(method: method),
                             decode: Socks5MethodSelection.decode)
    }

    @Test func truncatedSelectionNeedsTwoBytes() {
        expectNeedMoreForEveryPrefix(of: [0x05, 0x00], decode: Socks5MethodSelection.decode) { _ in 2 }
    }

    @Test(arguments: [UInt8(0x00), 0x01, 0x04, 0x06, 0xFF])
    func wrongVersionIsMalformed(version: UInt8) {
        #expect(throws: SocksError.malformedReply("method selection has version \(version), expected 5")) {
            try Socks5MethodSelection.decode([version, 0x00][...])
        }
    }

    @Test func wrongVersionIsSeenInAnOffsetSlice() {
        let bytes: [UInt8] = [0x05, 0x05, 0x04, 0x00]
        #expect(throws: SocksError.malformedReply("method selection has version 4, expected 5")) {
            try Socks5MethodSelection.decode(bytes[2...])
        }
    }
}
