import Testing
@testable import SocksifyCore

@Suite struct Socks5GreetingTests {
    @Test func noAuthenticationOnly() throws {
        #expect(try Socks5Greeting(methods: [.noAuthentication]).encode() == [0x05, 0x01, 0x00])
    }

    @Test func noAuthenticationAndUsernamePassword() throws {
        let greeting = Socks5Greeting(methods: [.noAuthentication, .usernamePassword])
        #expect(try greeting.encode() == [0x05, 0x02, 0x00, 0x02])
    }

    @Test func methodsAreSentInOrderAndVerbatim() throws {
        let greeting = Socks5Greeting(methods: [.usernamePassword, .gssapi, Socks5AuthMethod(0x80), .noAuthentication])
        #expect(try greeting.encode() == [0x05, 0x04, 0x02, 0x01, 0x80, 0x00])
    }

    @Test func twoHundredFiftyFiveMethodsIsTheMaximum() throws {
        let methods = (0..<255).map { Socks5AuthMethod(UInt8($0)) }
        let bytes = try Socks5Greeting(methods: methods).encode()
        #expect(bytes.count == 257)
        #expect(Array(bytes[0..<2]) == [0x05, 0xFF])
        #expect(Array(bytes[2...]) == (0..<255).map { UInt8($0) })
    }

    @Test(arguments: [0, 256, 300])
    func wrongNumberOfMethodsIsAnInvalidRequest(count: Int) {
        let greeting = Socks5Greeting(methods: Array(repeating: .noAuthentication, count: count))
        #expect(throws: SocksError.invalidRequest("a greeting offers 1 to 255 methods")) {
            try greeting.encode()
        }
    }
}
