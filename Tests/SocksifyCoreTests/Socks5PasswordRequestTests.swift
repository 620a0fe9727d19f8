import Testing
@testable import SocksifyCore

@Suite struct Socks5PasswordRequestTests {
    @Test func encodesVersionLengthsAndBytes() throws {
        let request = Socks5PasswordRequest(username: ascii("alice"), password: ascii("s3cret"))
        #expect(try request.encode() == [0x01, 5] + ascii("alice") + [6] + ascii("s3cret"))
    }

    @Test func emptyPasswordIsAllowed() throws {
        let request = Socks5PasswordRequest(username: ascii("bob"), password: [])
        #expect(try request.encode() == [0x01, 3] + ascii("bob") + [0])
    }

    @Test func arbitraryBytesAreSentVerbatim() throws {
        let request = Socks5PasswordRequest(username: [0x00, 0xFF, 0x40], password: [0x3A, 0x00, 0xE2, 0x9C, 0x93])
        #expect(try request.encode() == [0x01, 3, 0x00, 0xFF, 0x40, 5, 0x3A, 0x00, 0xE2, 0x9C, 0x93])
    }

    @Test func twoHundredFiftyFiveBytesEachIsTheMaximum() throws {
        let user = [UInt8](repeating: UInt8(ascii: "u"), count: 255)
        let pass = [UInt8](repeating: UInt8(ascii: "p"), count: 255)
        let bytes = try Socks5PasswordRequest(username: user, password: pass).encode()
        #expect(bytes == [0x01, 255] + user + [255] + pass)
        #expect(bytes.count == 1 + 1 + 255 + 1 + 255)
    }

    @Test(arguments: [0, 256, 1000])
    func usernameOutOfRangeIsAnInvalidRequest(length: Int) {
        let request = Socks5PasswordRequest(username: [UInt8](repeating: 0x61, count: length), password: ascii("pw"))
        #expect(throws: SocksError.invalidRequest("username must be 1 to 255 bytes")) { try request.encode() }
    }

    @Test(arguments: [256, 1000])
    func passwordTooLongIsAnInvalidRequest(length: Int) {
        let request = Socks5PasswordRequest(username: ascii("user"), password: [UInt8](repeating: 0x61, count: length))
        #expect(throws: SocksError.invalidRequest("password must be at most 255 bytes")) { try request.encode() }
    }
}
