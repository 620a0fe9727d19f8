import SocksifyLibc
import Testing
@testable import SocksifyCore

/// The pipelined SOCKS5 exchange (`pipeline` on a proxy): the exact bytes of the one write, the
/// answers read in order and exactly to their end, Tor's answer without the method selection,
/// refusals, and the replay after an interruption. docs/async-handshake.md, "Pipelining".
@Suite struct PipelinedHandshakeTests {
    static let chunkSizes = [1, 2, 3, 7, Int.max]
    static let appData = ascii("HTTP/1.1 200 OK\r\n")
    static let web = destination("93.184.216.34", 443)

    static let greetingNoAuth: [UInt8] = [0x05, 0x01, 0x00]
    static let greetingOnlyPassword: [UInt8] = [0x05, 0x01, 0x02]
    static let aliceLogin: [UInt8] = [0x01, 5] + ascii("alice") + [6] + ascii("s3cret")
    static let webRequest: [UInt8] = [0x05, 0x01, 0x00, 0x01, 93, 184, 216, 34, 0x01, 0xBB]
    static let okReply: [UInt8] = [0x05, 0x00, 0x00, 0x01, 10, 0, 0, 1, 0x04, 0x38]
    static let okBound = destination("10.0.0.1", 1080)

    static func proxy(user: String? = nil, password: String = "s3cret", proto: ProxyProtocol = .socks5) -> ProxySpec {
        var spec = ProxySpec(proto: proto, host: "127.0.0.1", port: 1080, pipeline: true)
        if let user { spec.credentials = ProxyCredentials(username: ascii(user), password: ascii(password)) }
        return spec
    }

    static func run(_ proxy: ProxySpec, script: [UInt8], chunkSize: Int = .max)
        -> (result: Result<SocksDestination?, SocksError>, transport: ScriptedTransport) {
        var transport = ScriptedTransport(script, chunkSize: chunkSize)
        do throws(SocksError) {
            return (.success(try ClientHandshake.connect(over: &transport, proxy: proxy, to: web)), transport)
        } catch {
            return (.failure(error), transport)
        }
    }

    static func expectStoppedAtAppData(_ transport: ScriptedTransport, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(Array(transport.remaining) == appData, "left unread", sourceLocation: sourceLocation)
        #expect(!transport.askedPastTheScript, sourceLocation: sourceLocation)
        #expect(!transport.askedForNothing, sourceLocation: sourceLocation)
    }

    // MARK: what is sent, what is read

    @Test(arguments: chunkSizes)
    func withoutCredentialsGreetingAndRequestInOneWrite(chunkSize: Int) {
        let (result, transport) = Self.run(Self.proxy(), script: [0x05, 0x00] + Self.okReply + Self.appData, chunkSize: chunkSize)
        #expect(result == .success(Self.okBound))
        #expect(transport.sent == [Self.greetingNoAuth + Self.webRequest])
        #expect(transport.quickAcks == [1], "TCP_QUICKACK asked for right after the write")
        #expect(transport.receives.map(\.total) == (chunkSize >= 10 ? [2, 5] : [2, 5, 10]), "as in lockstep")
        Self.expectStoppedAtAppData(transport)
    }

    @Test(arguments: chunkSizes)
    func withCredentialsGreetingLoginAndRequestInOneWrite(chunkSize: Int) {
        let (result, transport) = Self.run(Self.proxy(user: "alice"),
                                           script: [0x05, 0x02, 0x01, 0x00] + Self.okReply + Self.appData, chunkSize: chunkSize)
        #expect(result == .success(Self.okBound))
        #expect(transport.sent == [Self.greetingOnlyPassword + Self.aliceLogin + Self.webRequest], "offers 02 alone")
        #expect(transport.receives.map(\.total) == (chunkSize >= 10 ? [2, 2, 5] : [2, 2, 5, 10]))
        Self.expectStoppedAtAppData(transport)
    }

    @Test(arguments: chunkSizes)
    func torsAnswerWithoutTheMethodSelectionIsTolerated(chunkSize: Int) {
        // Tor 0.4.9 answers greeting + login read together with the login's status alone.
        let (result, transport) = Self.run(Self.proxy(user: "alice"), script: [0x01, 0x00] + Self.okReply + Self.appData,
                                           chunkSize: chunkSize)
        #expect(result == .success(Self.okBound))
        #expect(transport.sent.count == 1)
        #expect(transport.receives.map(\.total) == (chunkSize >= 10 ? [2, 5] : [2, 5, 10]))
        Self.expectStoppedAtAppData(transport)
    }

    @Test func torsAnswerWithAFailedLogin() {
        let (result, transport) = Self.run(Self.proxy(user: "alice"), script: [0x01, 0x01] + Self.appData)
        #expect(result == .failure(.authenticationFailed(status: 1)))
        Self.expectStoppedAtAppData(transport)
    }

    @Test func withoutCredentialsAnAnswerStartingWith01IsNotTolerated() {
        // Only 00 was offered: nothing explains a 01 there.
        let (result, transport) = Self.run(Self.proxy(), script: [0x01, 0x00] + Self.appData)
        #expect(result == .failure(.malformedReply("method selection has version 1, expected 5")))
        Self.expectStoppedAtAppData(transport)
    }

    @Test func udpAssociateIsPipelinedToo() throws {
        var transport = ScriptedTransport([0x05, 0x00] + Self.okReply + Self.appData)
        let relay = try ClientHandshake.associate(over: &transport, proxy: Self.proxy(), family: AF_INET)
        #expect(relay == Self.okBound)
        #expect(transport.sent == [Self.greetingNoAuth + [0x05, 0x03, 0x00, 0x01, 0, 0, 0, 0, 0, 0]])
        Self.expectStoppedAtAppData(transport)
    }

    @Test func socks4IsOneMessageAnyway() {
        var transport = ScriptedTransport([0x00, 0x5A, 0, 80, 10, 0, 0, 1] + Self.appData)
        #expect(throws: Never.self) {
            try ClientHandshake.connect(over: &transport, proxy: Self.proxy(proto: .socks4), to: Self.web)
        }
        #expect(transport.sent.count == 1 && transport.quickAcks.isEmpty)
        Self.expectStoppedAtAppData(transport)
    }

    @Test func lockstepIsUnchangedWithoutTheOption() {
        var proxy = Self.proxy(user: "alice")
        proxy.pipeline = false
        let (result, transport) = Self.run(proxy, script: [0x05, 0x02, 0x01, 0x00] + Self.okReply + Self.appData)
        #expect(result == .success(Self.okBound))
        #expect(transport.sent == [[0x05, 0x02, 0x00, 0x02], Self.aliceLogin, Self.webRequest])
        #expect(transport.quickAcks.isEmpty)
    }

    // MARK: refusals

    @Test(arguments: [false, true])
    func noAcceptableMethodIsTheUsualError(withCredentials: Bool) {
        // A wrong guess (the proxy wants the other method): 05 FF and a close, as in lockstep.
        let (result, transport) = Self.run(withCredentials ? Self.proxy(user: "alice") : Self.proxy(), script: [0x05, 0xFF] + Self.appData)
        #expect(result == .failure(.noAcceptableMethod))
        #expect(transport.sent.count == 1)
        Self.expectStoppedAtAppData(transport)
    }

    @Test func aMethodThatWasNotOfferedIsMalformed() {
        let (withLogin, _) = Self.run(Self.proxy(user: "alice"), script: [0x05, 0x00] + Self.appData)
        #expect(withLogin == .failure(.malformedReply("proxy chose method 0, but only 2 was offered")))
        let (without, _) = Self.run(Self.proxy(), script: [0x05, 0x02] + Self.appData)
        #expect(without == .failure(.malformedReply("proxy chose method 2, but only 0 was offered")))
    }

    @Test func aFailedLoginIsReportedBeforeTheRequestReply() {
        let (result, transport) = Self.run(Self.proxy(user: "alice"), script: [0x05, 0x02, 0x01, 0x01] + Self.appData)
        #expect(result == .failure(.authenticationFailed(status: 1)))
        Self.expectStoppedAtAppData(transport)
    }

    @Test func aRefusedRequestIsTheUsualRefusal() {
        let (result, transport) = Self.run(Self.proxy(), script: [0x05, 0x00, 0x05, 0x05, 0x00, 0x01, 0, 0, 0, 0, 0, 0] + Self.appData)
        #expect(result == .failure(.socks5Refused(.connectionRefused)))
        Self.expectStoppedAtAppData(transport)
    }

    @Test func aProxyThatClosesAfterTheGreetingAnswer() {
        // microsocks with a login: 05 02, then nothing (here: closed, not silent).
        let (result, _) = Self.run(Self.proxy(user: "alice"), script: [0x05, 0x02])
        #expect(result == .failure(.closedByProxy(received: 0, expected: 2)))
    }

    // MARK: replay (an exchange resumed after a signal)

    @Test func replayStepByStepSendsTheOneWriteOnce() {
        var h = ResumableHandshake(proxy: Self.proxy(user: "alice"), destination: Self.web)
        guard case .waiting(let s1, 2) = h.step() else { Issue.record("step 1"); return }
        #expect(s1 == [Self.greetingOnlyPassword + Self.aliceLogin + Self.webRequest])
        h.receive([0x05, 0x02])
        guard case .waiting(let s2, 4) = h.step() else { Issue.record("step 2"); return }
        #expect(s2.isEmpty, "everything went in the first write")
        h.receive([0x01, 0x00] + Self.okReply[0..<3])
        guard case .waiting(let s3, 9) = h.step() else { Issue.record("step 3"); return }  // 4 + the reply's first 5
        #expect(s3.isEmpty)
        h.receive(Self.okReply[3...])
        guard case .done(let s4, let bound) = h.step() else { Issue.record("step 4"); return }
        #expect(s4.isEmpty)
        #expect(bound == Self.okBound)
    }

    @Test func replayOfTorsAnswer() {
        var h = ResumableHandshake(proxy: Self.proxy(user: "alice"), destination: Self.web)
        _ = h.step()
        h.receive([0x01, 0x00])
        guard case .waiting(let none, 7) = h.step() else { Issue.record("reply"); return }
        #expect(none.isEmpty)
        h.receive(Self.okReply[...])
        guard case .done(_, let bound) = h.step() else { Issue.record("done"); return }
        #expect(bound == Self.okBound)
    }

    @Test func replayAfterAnInterruptionMidExchange() {
        // The live exchange made its one write and read the selection before the signal came.
        var h = ResumableHandshake(proxy: Self.proxy(), destination: Self.web, received: [0x05, 0x00], sendsMade: 1)
        guard case .waiting(let sends, 7) = h.step() else { Issue.record("waiting"); return }
        #expect(sends.isEmpty, "not written twice")
        #expect(h.replyStart == 2)
        h.receive(Self.okReply[...])
        guard case .done(let more, let bound) = h.step() else { Issue.record("done"); return }
        #expect(more.isEmpty && bound == Self.okBound)
    }

    // MARK: on the (fake) kernel

    static let fd: Int32 = 7
    static let proxyEndpoint = Endpoint(ip("127.0.0.1"), port: 1080)

    static func kernel(_ flags: Int32 = O_RDWR | O_NONBLOCK) -> FakeKernel {
        let kernel = FakeKernel(programSocket: fd, statusFlags: flags)
        kernel.replies = [[0x05, 0x00] + okReply + appData]  // all answers to the one write
        return kernel
    }

    @Test func oneSendAndQuickAcksBeforeEachWait() throws {
        let kernel = Self.kernel()
        try ProxyTunnel.open(fd: Self.fd, chain: [Self.proxy()], firstEndpoint: Self.proxyEndpoint, destination: Self.web,
                             timeouts: .defaults, socketFamily: AF_INET, kernel: kernel)
        #expect(kernel.sent == [Self.greetingNoAuth + Self.webRequest])
        let afterConnect = Array(kernel.calls.drop { $0 != "send" })
        #expect(afterConnect == ["send", "TCP_QUICKACK", "poll", "recv", "TCP_QUICKACK", "poll", "recv"])
        #expect(kernel.inbox == Self.appData, "the destination's bytes are the program's")
    }

    @Test func lockstepNeverSetsQuickAck() throws {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR | O_NONBLOCK)
        try ProxyTunnel.open(fd: Self.fd, chain: [ProxySpec(proto: .socks5, host: "127.0.0.1", port: 1080)],
                             firstEndpoint: Self.proxyEndpoint, destination: Self.web, timeouts: .defaults,
                             socketFamily: AF_INET, kernel: kernel)
        #expect(!kernel.calls.contains("TCP_QUICKACK"))
    }

    @Test func anInterruptedPipelinedExchangeFinishesWithoutWritingTwice() throws {
        let kernel = Self.kernel(O_RDWR)
        kernel.connect = .now
        kernel.signalsDuringPoll = 1  // while waiting for the first answer
        var kept: TunnelProgress? = nil
        #expect(throws: SocksError.socketState(errno: EINTR)) {
            try ProxyTunnel.open(fd: Self.fd, chain: [Self.proxy()], firstEndpoint: Self.proxyEndpoint, destination: Self.web,
                                 timeouts: .defaults, socketFamily: AF_INET, kernel: kernel) { progress in
                kept = progress
                return true
            }
        }
        var progress = try #require(kept)
        try progress.finish(fd: Self.fd, kernel: kernel)
        #expect(kernel.sent == [Self.greetingNoAuth + Self.webRequest], "the one write, once")
        #expect(kernel.inbox == Self.appData, "replies read exactly to their end")
        #expect(progress.hop == 1)
    }
}
