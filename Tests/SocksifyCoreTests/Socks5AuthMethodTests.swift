import Testing
@testable import SocksifyCore

@Suite struct Socks5AuthMethodTests {
    @Test func assignedNumbers() {
        #expect(Socks5AuthMethod.noAuthentication.rawValue == 0x00)
        #expect(Socks5AuthMethod.gssapi.rawValue == 0x01)
        #expect(Socks5AuthMethod.usernamePassword.rawValue == 0x02)
        #expect(Socks5AuthMethod.noAcceptableMethods.rawValue == 0xFF)
    }

    @Test func equalityIsByNumber() {
        #expect(Socks5AuthMethod(0x02) == .usernamePassword)
        #expect(Socks5AuthMethod(0x03) != .usernamePassword)
    }
}
