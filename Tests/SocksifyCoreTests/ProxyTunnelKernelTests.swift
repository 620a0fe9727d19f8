import SocksifyLibc
import Testing
@testable import SocksifyCore

/// ProxyTunnel on the fake kernel: which system calls one proxied connect makes, what a signal,
/// a timeout or a refusal leaves behind on the program's socket.
@Suite struct ProxyTunnelKernelTests {
    static let fd: Int32 = 7
    static let proxy = ProxySpec(proto: .socks5, host: "10.0.0.5", port: 1080)
    static let proxyEndpoint = Endpoint(ip("10.0.0.5"), port: 1080)
    static let web = destination("93.184.216.34", 443)
    static let timeouts = Timeouts(connectMilliseconds: 2000, handshakeMilliseconds: 3000)
    static let blocking = O_RDWR
    static let nonBlocking = O_RDWR | O_NONBLOCK

    static func open(_ kernel: FakeKernel, chain: [ProxySpec] = [proxy]) throws(SocksError) {
        try ProxyTunnel.open(fd: fd, chain: chain, firstEndpoint: proxyEndpoint, destination: web, timeouts: timeouts,
                             socketFamily: AF_INET, kernel: kernel)
    }

    static func failure(_ kernel: FakeKernel) -> SocksError? {
        do throws(SocksError) {
            try open(kernel)
            return nil
        } catch {
            return error
        }
    }

    @Test func nonBlockingSocketCallBudget() throws {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: Self.nonBlocking)
        try Self.open(kernel)
        // The floor for a SOCKS5 exchange over a non-blocking connect, and nothing more.
        #expect(kernel.calls == ["F_GETFL", "connect", "poll", "connect", "send", "poll", "recv", "send", "poll", "recv"])
        #expect(kernel.sent == [[5, 1, 0], [5, 1, 0, 1, 93, 184, 216, 34, 1, 187]])
        #expect(kernel.flags[Self.fd] == Self.nonBlocking)
    }

    @Test func blockingSocketIsNonBlockingOnlyAroundTheConnectCall() throws {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: Self.blocking)
        try Self.open(kernel)
        #expect(Array(kernel.calls.prefix(5)) == ["F_GETFL", "F_SETFL", "connect", "F_SETFL", "poll"])
        #expect(kernel.flags[Self.fd] == Self.blocking)
    }

    @Test func signalWithoutRestartEndsTheWaitWithEINTR() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: Self.blocking)
        kernel.signalsDuringPoll = 1
        #expect(Self.failure(kernel) == .socketState(errno: EINTR))
        #expect(kernel.calls.last == "disconnect", "left as an interrupted plain connect: may connect again")
        #expect(kernel.flags[Self.fd] == Self.blocking)
    }

    @Test func signalWithRestartIsWaitedThrough() throws {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: Self.blocking)
        kernel.signalsDuringPoll = 3
        kernel.handlerWithoutRestart = false
        try Self.open(kernel)
        #expect(kernel.calls.filter { $0 == "poll" }.count == 6)
        #expect(!kernel.calls.contains("disconnect"))
    }

    @Test func signalDuringTheReplyWaitEndsItToo() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: Self.nonBlocking)
        kernel.replies = [nil]
        kernel.signalsDuringPoll = 0
        // Connected, greeting sent, then a signal while the proxy is silent.
        kernel.connect = .now
        kernel.signalsDuringPoll = 1
        #expect(Self.failure(kernel) == .socketState(errno: EINTR))
        #expect(kernel.calls.last == "disconnect")
    }

    @Test func refusedByTheProxyHostLeavesAnUnconnectedSocket() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: Self.nonBlocking)
        kernel.connect = .inProgress(then: ECONNREFUSED)
        #expect(Self.failure(kernel) == .proxyUnreachable(errno: ECONNREFUSED))
        #expect(kernel.calls.last == "disconnect")
        #expect(!kernel.connected.contains(Self.fd))
    }

    @Test func immediateFailureIsTheProxysUnreachability() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: Self.blocking)
        kernel.connect = .fails(ENETUNREACH)
        #expect(Self.failure(kernel) == .proxyUnreachable(errno: ENETUNREACH))
        #expect(kernel.flags[Self.fd] == Self.blocking)
    }

    @Test func aProxyThatNeverAcceptsTimesOutOnTheConnectClock() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: Self.nonBlocking)
        kernel.proxyAccepts = false
        let start = kernel.nanoseconds
        #expect(Self.failure(kernel) == .timedOut(phase: "connecting to the proxy"))
        #expect(kernel.nanoseconds - start == 2_000_000_000)
        #expect(kernel.calls.last == "disconnect")
    }

    @Test func aSilentProxyTimesOutOnTheHandshakeClock() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: Self.nonBlocking)
        kernel.replies = [nil]
        let start = kernel.nanoseconds
        #expect(Self.failure(kernel) == .timedOut(phase: "waiting for the proxy's reply"))
        #expect(kernel.nanoseconds - start == 3_000_000_000)
    }

    @Test func aProxyThatHangsUpMidReply() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: Self.nonBlocking)
        kernel.replies = [[0x05, 0x00], [0x05, 0x00, 0x00]]
        kernel.closesAfterReplies = true
        #expect(Self.failure(kernel) == .closedByProxy(received: 3, expected: 5))
    }

    @Test func theProgramsOwnMisuseIsLeftAlone() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: Self.nonBlocking)
        kernel.connected.insert(Self.fd)
        #expect(Self.failure(kernel) == .socketState(errno: EISCONN))
        #expect(!kernel.calls.contains("disconnect"), "a connected socket stays connected")
    }

    @Test func replacementSocketKeepsCloseOnExecAndFlags() throws {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: Self.blocking)
        kernel.descriptorFlagsOf[Self.fd] = FD_CLOEXEC
        try ProxyTunnel.openOnReplacementSocket(fd: Self.fd, chain: [Self.proxy], firstEndpoint: Self.proxyEndpoint,
                                                destination: Self.web, timeouts: Self.timeouts, kernel: kernel)
        #expect(kernel.dups.count == 1)
        #expect(kernel.dups.first?.to == Self.fd)
        #expect(kernel.dups.first?.flags == O_CLOEXEC)
        #expect(kernel.flags[Self.fd] == Self.blocking, "the program's flags, not the tunnel's O_NONBLOCK")
        #expect(kernel.closed == [kernel.dups.first!.from])
    }

    @Test func failedReplacementLeavesTheProgramsSocketUntouched() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: Self.blocking)
        kernel.connect = .inProgress(then: ECONNREFUSED)
        #expect(throws: SocksError.proxyUnreachable(errno: ECONNREFUSED)) {
            try ProxyTunnel.openOnReplacementSocket(fd: Self.fd, chain: [Self.proxy], firstEndpoint: Self.proxyEndpoint,
                                                    destination: Self.web, timeouts: Self.timeouts, kernel: kernel)
        }
        #expect(kernel.dups.isEmpty)
        #expect(kernel.closed.count == 1, "the tunnel socket is closed")
        #expect(kernel.flags[Self.fd] == Self.blocking)
    }

    @Test func anIPv4SocketToAnIPv6ProxyGetsAReplacement() throws {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: Self.nonBlocking)
        try ProxyTunnel.open(fd: Self.fd, chain: [Self.proxy], firstEndpoint: Endpoint(ip("2001:db8::5"), port: 1080),
                             destination: Self.web, timeouts: Self.timeouts, socketFamily: AF_INET, kernel: kernel)
        #expect(kernel.calls.contains("socket"))
        #expect(kernel.dups.count == 1)
    }

    /// POSIX: an interrupted connect goes on. Kept, the progress finishes at the program's next
    /// call without sending anything twice and without reading past the reply.
    @Test func anInterruptedExchangeIsKeptAndFinishedLater() throws {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: Self.blocking)
        kernel.signalsDuringPoll = 2  // the connect wait, then (after one retry) the first reply
        kernel.handlerWithoutRestart = true
        var kept: TunnelProgress? = nil
        #expect(throws: SocksError.socketState(errno: EINTR)) {
            try ProxyTunnel.open(fd: Self.fd, chain: [Self.proxy], firstEndpoint: Self.proxyEndpoint, destination: Self.web,
                                 timeouts: Self.timeouts, socketFamily: AF_INET, kernel: kernel) { progress in
                kept = progress
                return true
            }
        }
        #expect(!kernel.calls.contains("disconnect"), "left connecting, as a plain interrupted connect")
        var progress = try #require(kept)
        kernel.signalsDuringPoll = 0
        try progress.finish(fd: Self.fd, kernel: kernel)
        #expect(kernel.sent == [[5, 1, 0], [5, 1, 0, 1, 93, 184, 216, 34, 1, 187]], "each message sent once")
        #expect(kernel.inbox.isEmpty)
        #expect(progress.hop == 1)
    }

    @Test func anInterruptionNobodyKeepsDisconnects() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: Self.blocking)
        kernel.signalsDuringPoll = 1
        #expect(Self.failure(kernel) == .socketState(errno: EINTR))
        #expect(kernel.calls.last == "disconnect")
    }

    // A loopback proxy (ssh -D, Tor, a local relay): the kernel has finished the TCP handshake
    // before connect returns, so the greeting goes at once and tells the outcome.

    static let loopbackEndpoint = Endpoint(ip("127.0.0.1"), port: 1080)

    static func openOnLoopback(_ kernel: FakeKernel) throws(SocksError) {
        try ProxyTunnel.open(fd: fd, chain: [ProxySpec(proto: .socks5, host: "127.0.0.1", port: 1080)],
                             firstEndpoint: loopbackEndpoint, destination: web, timeouts: timeouts,
                             socketFamily: AF_INET, kernel: kernel)
    }

    static func failureOnLoopback(_ kernel: FakeKernel) -> SocksError? {
        do throws(SocksError) {
            try openOnLoopback(kernel)
            return nil
        } catch {
            return error
        }
    }

    @Test func aLoopbackProxyIsNotWaitedForBeforeTheGreeting() throws {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: Self.blocking)
        try Self.openOnLoopback(kernel)
        #expect(kernel.calls == ["F_GETFL", "connect(fastopen)", "send", "poll", "recv", "send", "poll", "recv"],
                "no F_SETFL: the connect that never waits leaves the socket's flags alone")
        #expect(kernel.flags[Self.fd] == Self.blocking)
    }

    @Test func withoutFastOpenTheSocketIsNonBlockingAroundTheConnectOnly() throws {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: Self.blocking)
        kernel.fastOpenOff = true
        try Self.openOnLoopback(kernel)
        #expect(Array(kernel.calls.prefix(5)) == ["F_GETFL", "connect(fastopen)", "F_SETFL", "connect", "F_SETFL"])
        #expect(kernel.flags[Self.fd] == Self.blocking)
    }

    @Test func aLoopbackProxyRefusingAtOnceIsUnreachable() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: Self.blocking)
        kernel.connect = .fails(ECONNREFUSED)
        #expect(Self.failureOnLoopback(kernel) == .proxyUnreachable(errno: ECONNREFUSED))
    }

    @Test func aLoopbackProxyThatRefusesIsUnreachable() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: Self.blocking)
        kernel.connect = .inProgress(then: ECONNREFUSED)
        #expect(Self.failureOnLoopback(kernel) == .proxyUnreachable(errno: ECONNREFUSED))
        #expect(kernel.calls.last == "disconnect", "left as a failed plain connect")
    }

    @Test func aLoopbackProxyThatNeverAcceptsTimesOutConnecting() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: Self.blocking)
        kernel.proxyAccepts = false  // a full listen backlog: the SYN is dropped
        #expect(Self.failureOnLoopback(kernel) == .timedOut(phase: "connecting to the proxy"))
    }
}
