import Testing
@testable import SocksifyCore

@Suite struct Socks5RequestTests {
    @Test func connectToIPv4() throws {
        let request = Socks5Request(command: .connect, destination: destination("93.184.216.34", 443))
        #expect(try request.encode() == [0x05, 0x01, 0x00, 0x01, 93, 184, 216, 34, 0x01, 0xBB])
    }

    @Test func connectToIPv6() throws {
        let request = Socks5Request(command: .connect, destination: destination("2001:db8::1", 8080))
        let address: [UInt8] = [0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01]
        #expect(try request.encode() == [0x05, 0x01, 0x00, 0x04] + address + [0x1F, 0x90])
    }

    @Test func connectToDomainName() throws {
        let request = Socks5Request(command: .connect, destination: destination("example.com", 80))
        #expect(try request.encode() == [0x05, 0x01, 0x00, 0x03, 11] + ascii("example.com") + [0x00, 0x50])
    }

    static let commands: [(Socks5Command, UInt8)] = [(.connect, 0x01), (.bind, 0x02), (.udpAssociate, 0x03)]

    @Test(arguments: commands)
    func commandByte(command: Socks5Command, byte: UInt8) throws {
        #expect(command.rawValue == byte)
        let bytes = try Socks5Request(command: command, destination: destination("10.0.0.1", 1)).encode()
        #expect(Array(bytes[0..<3]) == [0x05, byte, 0x00])
    }

    static let ports: [(UInt16, [UInt8])] = [(0, [0x00, 0x00]), (1, [0x00, 0x01]), (0x1234, [0x12, 0x34]), (65535, [0xFF, 0xFF])]

    @Test(arguments: ports)
    func portIsBigEndianAndLast(port: UInt16, expected: [UInt8]) throws {
        let bytes = try Socks5Request(command: .connect, destination: destination("10.0.0.1", port)).encode()
        #expect(Array(bytes.suffix(2)) == expected)
        #expect(bytes.count == 10)
    }

    @Test func longestDomainName() throws {
        let name = String(repeating: "a", count: 255)
        let bytes = try Socks5Request(command: .connect, destination: destination(name, 443)).encode()
        #expect(bytes.count == 3 + 1 + 1 + 255 + 2)
        #expect(bytes[4] == 255)
    }

    @Test(arguments: [0, 256])
    func domainNameOutOfRangeIsAnInvalidRequest(length: Int) {
        let request = Socks5Request(command: .connect,
                                    destination: SocksDestination(.domain(String(repeating: "a", count: length)), port: 80))
        #expect(throws: SocksError.invalidRequest("a domain name must be 1 to 255 bytes")) { try request.encode() }
    }

    @Test func domainLengthCountsUTF8Bytes() throws {
        // "bücher.de" is 9 characters but 10 bytes.
        let bytes = try Socks5Request(command: .connect, destination: destination("bücher.de", 80)).encode()
        #expect(bytes[4] == 10)
        #expect(Array(bytes[5..<15]) == Array("bücher.de".utf8))
    }
}
