import Testing
@testable import SocksifyCore

@Suite struct Socks5AddressCodecTests {
    @Test func addressTypeNumbers() {
        #expect(Socks5AddressCodec.ipv4 == 0x01)
        #expect(Socks5AddressCodec.domain == 0x03)
        #expect(Socks5AddressCodec.ipv6 == 0x04)
    }

    @Test func encodeIPv4() throws {
        #expect(try Socks5AddressCodec.encode(destination("192.168.1.2", 0x1F90)) == [0x01, 192, 168, 1, 2, 0x1F, 0x90])
    }

    @Test func encodeIPv6() throws {
        #expect(try Socks5AddressCodec.encode(destination("::1", 22))
                == [0x04] + [UInt8](repeating: 0, count: 15) + [1] + [0x00, 22])
        #expect(try Socks5AddressCodec.encode(destination("::ffff:1.2.3.4", 1))
                == [0x04] + [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF, 1, 2, 3, 4] + [0x00, 0x01])
    }

    @Test func encodeDomain() throws {
        #expect(try Socks5AddressCodec.encode(destination("a.b", 65535)) == [0x03, 3] + ascii("a.b") + [0xFF, 0xFF])
    }

    @Test(arguments: [0, 256, 1024])
    func encodeDomainOutOfRangeThrows(length: Int) {
        let destination = SocksDestination(.domain(String(repeating: "n", count: length)), port: 1)
        #expect(throws: SocksError.invalidRequest("a domain name must be 1 to 255 bytes")) {
            try Socks5AddressCodec.encode(destination)
        }
    }

    static let roundTrips: [SocksDestination] = [
        destination("0.0.0.0", 0),
        destination("10.0.0.1", 80),
        destination("255.255.255.255", 65535),
        destination("::", 1),
        destination("::1", 443),
        destination("2001:db8:1:2:3:4:5:6", 8443),
        destination("::ffff:127.0.0.1", 1080),
        destination("example.com", 443),
        destination("x", 1),
        SocksDestination(.domain(String(repeating: "z", count: 255)), port: 9),
    ]

    @Test(arguments: roundTrips)
    func roundTrip(_ destination: SocksDestination) throws {
        let bytes = try Socks5AddressCodec.encode(destination)
        expectDecodesExactly(bytes, as: destination, decode: Socks5AddressCodec.decode)
    }

    @Test func decodeIPv4NeedsTwoThenSeven() {
        expectNeedMoreForEveryPrefix(of: [0x01, 1, 2, 3, 4, 0, 80], decode: Socks5AddressCodec.decode) { n in n < 2 ? 2 : 7 }
    }

    @Test func decodeIPv6NeedsTwoThenNineteen() {
        let bytes: [UInt8] = [0x04] + [UInt8](repeating: 0xAB, count: 16) + [0, 80]
        expectNeedMoreForEveryPrefix(of: bytes, decode: Socks5AddressCodec.decode) { n in n < 2 ? 2 : 19 }
    }

    @Test func decodeDomainNeedsTwoThenLengthPlusFour() {
        let bytes: [UInt8] = [0x03, 5] + ascii("hello") + [0, 80]
        expectNeedMoreForEveryPrefix(of: bytes, decode: Socks5AddressCodec.decode) { n in n < 2 ? 2 : 9 }
    }

    @Test func decodeEmptyDomainAsProxiesMaySendIt() {
        expectDecodesExactly([0x03, 0, 0x00, 0x50], as: SocksDestination(.domain(""), port: 80),
                             decode: Socks5AddressCodec.decode)
        expectNeedMoreForEveryPrefix(of: [0x03, 0, 0x00, 0x50], decode: Socks5AddressCodec.decode) { n in n < 2 ? 2 : 4 }
    }

    @Test(arguments: [UInt8(0x00), 0x02, 0x05, 0x06, 0xFF])
    func unknownAddressTypeIsMalformed(atyp: UInt8) {
        #expect(throws: SocksError.malformedReply("unknown address type \(atyp)")) {
            try Socks5AddressCodec.decode([atyp, 0, 0, 0, 0, 0, 0, 0, 0, 0][...])
        }
    }

    @Test func unknownAddressTypeInAnOffsetSlice() {
        let bytes: [UInt8] = [0x01, 0x01, 0x07, 0x00]
        #expect(throws: SocksError.malformedReply("unknown address type 7")) {
            try Socks5AddressCodec.decode(bytes[2...])
        }
    }
}
