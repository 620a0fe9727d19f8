import Testing
@testable import SocksifyCore

@Suite struct HandshakeTransportTests {
    @Test(arguments: [1, 2, 3, 100])
    func readAsksTheDecoderForExactTotals(chunkSize: Int) throws {
        let reply: [UInt8] = [0x05, 0x00, 0x00, 0x03, 4] + ascii("host") + [0x00, 0x50]
        var transport = ScriptedTransport(reply + ascii("payload"), chunkSize: chunkSize)
        var buffer: [UInt8] = []
        let message = try transport.read(Socks5Reply.decode, buffer: &buffer)
        #expect(message == Socks5Reply(code: .succeeded, bound: destination("host", 80)))
        #expect(buffer == reply)
        #expect(transport.receives.map(\.total) == [5, 11])
        #expect(transport.receives.map(\.from) == [0, 5])
        #expect(Array(transport.remaining) == ascii("payload"))
        #expect(transport.chunks.allSatisfy { $0 <= chunkSize })
    }

    @Test func readDoesNotReceiveWhenTheBufferAlreadyHoldsAMessage() throws {
        var transport = ScriptedTransport([])
        var buffer: [UInt8] = [0x05, 0x02]
        let selection = try transport.read(Socks5MethodSelection.decode, buffer: &buffer)
        #expect(selection.method == .usernamePassword)
        #expect(transport.receives.isEmpty)
    }

    @Test func readPassesDecoderErrorsOn() {
        var transport = ScriptedTransport([0x04, 0x00])
        var buffer: [UInt8] = []
        #expect(throws: SocksError.malformedReply("method selection has version 4, expected 5")) {
            try transport.read(Socks5MethodSelection.decode, buffer: &buffer)
        }
    }

    @Test func readPassesTransportErrorsOn() {
        var transport = ScriptedTransport([0x05])
        var buffer: [UInt8] = []
        #expect(throws: SocksError.closedByProxy(received: 1, expected: 2)) {
            try transport.read(Socks5MethodSelection.decode, buffer: &buffer)
        }
        #expect(buffer == [0x05])
    }

    // A SOCKS5 reply is read 10 bytes at a time when they are there (the IPv4 reply every proxy
    // sends): one read, never waiting for bytes the reply may not have.
    @Test func aTenByteReplyIsOneRead() throws {
        let reply: [UInt8] = [5, 0, 0, 1, 10, 0, 0, 1, 0x1F, 0x90]
        var transport = ScriptedTransport(reply + ascii("banner"))
        var buffer: [UInt8] = []
        let message = try transport.read(Socks5Reply.decode, buffer: &buffer, likely: 10)
        #expect(message.bound == destination("10.0.0.1", 8080))
        #expect(transport.chunks == [10])
        #expect(Array(transport.remaining) == ascii("banner"), "the destination's bytes stay unread")
    }

    @Test(arguments: [1, 3, 100])
    func anIPv6ReplyIsReadToItsEndAndNoFurther(chunkSize: Int) throws {
        let reply: [UInt8] = [5, 0, 0, 4] + [UInt8](repeating: 0, count: 15) + [1, 0, 80]
        var transport = ScriptedTransport(reply + ascii("banner"), chunkSize: chunkSize)
        var buffer: [UInt8] = []
        let message = try transport.read(Socks5Reply.decode, buffer: &buffer, likely: 10)
        #expect(message.bound == destination("::1", 80))
        #expect(buffer == reply)
        #expect(Array(transport.remaining) == ascii("banner"))
    }

    @Test func aShortNameReplyAloneIsRead() throws {
        let reply: [UInt8] = [5, 0, 0, 3, 1, 0x61, 0, 80]  // 8 bytes: BND.ADDR "a"
        var transport = ScriptedTransport(reply)
        var buffer: [UInt8] = []
        let message = try transport.read(Socks5Reply.decode, buffer: &buffer, likely: 10)
        #expect(message.bound == destination("a", 80))
    }

    /// Only a reply shorter than 10 bytes with the destination's data in the same read can be
    /// read past; those bytes cannot be handed to the program, so the exchange fails, said so.
    @Test func aShortReplyWithDataRightBehindItFails() {
        let reply: [UInt8] = [5, 0, 0, 3, 1, 0x61, 0, 80]
        var transport = ScriptedTransport(reply + ascii("SSH-2.0"))
        var buffer: [UInt8] = []
        #expect(throws: SocksError.malformedReply("a 8-byte reply with the destination's first bytes right behind it")) {
            try transport.read(Socks5Reply.decode, buffer: &buffer, likely: 10)
        }
    }
}
