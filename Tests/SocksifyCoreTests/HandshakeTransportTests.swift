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
}
