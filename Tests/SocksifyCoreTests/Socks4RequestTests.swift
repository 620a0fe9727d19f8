import Testing
@testable import SocksifyCore

@Suite struct Socks4RequestTests {
    // MARK: SOCKS4

    @Test func connectToIPv4WithoutUserID() throws {
        let request = Socks4Request(destination: destination("10.1.2.3", 8080))
        #expect(try request.encode() == [0x04, 0x01, 0x1F, 0x90, 10, 1, 2, 3, 0x00])
    }

    @Test func connectToIPv4WithUserID() throws {
        let request = Socks4Request(destination: destination("192.0.2.7", 80), userID: ascii("alice"))
        #expect(try request.encode() == [0x04, 0x01, 0x00, 0x50, 192, 0, 2, 7] + ascii("alice") + [0x00])
    }

    @Test func defaultsAreConnectAndNoUserID() {
        let request = Socks4Request(destination: destination("10.0.0.1", 1))
        #expect(request.command == .connect)
        #expect(request.userID == [])
    }

    @Test func bindCommand() throws {
        #expect(Socks4Request.Command.connect.rawValue == 1)
        #expect(Socks4Request.Command.bind.rawValue == 2)
        let request = Socks4Request(command: .bind, destination: destination("10.0.0.1", 21))
        #expect(try request.encode() == [0x04, 0x02, 0x00, 21, 10, 0, 0, 1, 0x00])
    }

    static let ports: [(UInt16, [UInt8])] = [(0, [0, 0]), (1, [0, 1]), (0xABCD, [0xAB, 0xCD]), (65535, [0xFF, 0xFF])]

    @Test(arguments: ports)
    func portIsBigEndian(port: UInt16, expected: [UInt8]) throws {
        let bytes = try Socks4Request(destination: destination("10.0.0.1", port)).encode()
        #expect(Array(bytes[2..<4]) == expected)
    }

    @Test func ipv6IsUnsupported() {
        for address in ["::1", "2001:db8::1", "::ffff:10.0.0.1"] {
            let request = Socks4Request(destination: destination(address, 80))
            #expect(throws: SocksError.unsupportedDestination("SOCKS4 cannot carry an IPv6 destination")) {
                try request.encode()
            }
        }
    }

    @Test func userIDWithNULIsAnInvalidRequest() {
        let request = Socks4Request(destination: destination("10.0.0.1", 80), userID: [0x61, 0x00, 0x62])
        #expect(throws: SocksError.invalidRequest("a SOCKS4 user id cannot contain NUL")) { try request.encode() }
    }

    // MARK: SOCKS4a

    @Test func socks4aDomainWithoutUserID() throws {
        let request = Socks4Request(destination: destination("example.com", 443))
        #expect(try request.encode()
                == [0x04, 0x01, 0x01, 0xBB, 0, 0, 0, 1, 0x00] + ascii("example.com") + [0x00])
    }

    @Test func socks4aDomainWithUserID() throws {
        let request = Socks4Request(destination: destination("onion.example", 80), userID: ascii("bob"))
        #expect(try request.encode()
                == [0x04, 0x01, 0x00, 0x50, 0, 0, 0, 1] + ascii("bob") + [0x00] + ascii("onion.example") + [0x00])
    }

    @Test func socks4aHasNoNameLengthLimit() throws {
        let name = String(repeating: "a", count: 300)
        let bytes = try Socks4Request(destination: destination(name, 80)).encode()
        #expect(bytes.count == 8 + 1 + 300 + 1)
        #expect(bytes.last == 0)
    }

    @Test func socks4aEmptyOrNULNameIsAnInvalidRequest() {
        for name in ["", "a\u{0}b"] {
            let request = Socks4Request(destination: SocksDestination(.domain(name), port: 80))
            #expect(throws: SocksError.invalidRequest("invalid SOCKS4a host name")) { try request.encode() }
        }
    }

    @Test func userIDIsCheckedBeforeTheName() {
        let request = Socks4Request(destination: SocksDestination(.domain(""), port: 80), userID: [0])
        #expect(throws: SocksError.invalidRequest("a SOCKS4 user id cannot contain NUL")) { try request.encode() }
    }
}
