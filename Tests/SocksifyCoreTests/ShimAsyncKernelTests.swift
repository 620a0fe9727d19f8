import SocksifyLibc
import Testing
@testable import SocksifyCore

/// Asynchronous tunnels on the fake kernel: a non-blocking socket's connect never waits; the
/// exchange moves on step by step as the socket becomes ready, and the program's calls on the
/// socket meanwhile answer as on a plain connecting socket.
@Suite struct ShimAsyncKernelTests {
    static let fd: Int32 = 9

    static func shim(_ kernel: FakeKernel) -> Shim {
        let settings = ShimSettings(proxy: .success(ProxySpec(proto: .socks5, host: "10.0.0.5", port: 1080)))
        let shim = Shim(settings: settings, program: RunningProgram(executable: ascii("/usr/bin/test"), argv0: ascii("test")),
                        readFile: { _ in nil }, environment: { _ in nil }, kernel: kernel)
        shim.noteSocket(fd, type: Int32(SOCK_STREAM.rawValue), protocol: 0)
        return shim
    }

    static func connect(_ shim: Shim) -> (Int32, Int32) {
        let bytes = Endpoint(ip("93.184.216.34"), port: 443).sockaddrBytes
        let result = bytes.withUnsafeBytes { shim.connect(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count)) }
        return (result, shim.kernel.errno)
    }

    /// A proxy still accepting the TCP connection, whose replies come a round trip later.
    static func slowProxy() -> FakeKernel {
        let kernel = FakeKernel(programSocket: fd, statusFlags: O_RDWR | O_NONBLOCK)
        kernel.proxyAccepts = false
        kernel.holdReplies = true
        return kernel
    }

    static func need(_ shim: Shim) -> Int32 {
        var deadline: UInt64 = 0
        return shim.asyncNeed(fd, deadline: &deadline)
    }

    @Test func connectAnswersEINPROGRESSWithoutWaiting() {
        let kernel = Self.slowProxy()
        let shim = Self.shim(kernel)
        let (result, errno) = Self.connect(shim)
        #expect(result == -1 && errno == EINPROGRESS)
        #expect(!kernel.calls.contains("poll"), "never waits: the program's loop goes on")
        #expect(kernel.facts(Self.fd) & 4 != 0)
        #expect(Self.need(shim) == 1, "waits to write: the TCP connect to the proxy")
        #expect(kernel.armed[Self.fd] == .writable, "the program's epoll registration waits for that")
    }

    @Test func eachReadinessTakesOneStepToTheTunnel() {
        let kernel = Self.slowProxy()
        let shim = Self.shim(kernel)
        _ = Self.connect(shim)
        kernel.proxyAccepts = true
        #expect(shim.asyncStepCode(Self.fd) == 1)
        #expect(kernel.sent == [[5, 1, 0]], "the greeting, once connected")
        #expect(Self.need(shim) == 2 && kernel.armed[Self.fd] == .readable)
        kernel.deliver()
        #expect(shim.asyncStepCode(Self.fd) == 1)
        #expect(kernel.sent.last == [5, 1, 0, 1, 93, 184, 216, 34, 1, 187])
        kernel.deliver()
        #expect(shim.asyncStepCode(Self.fd) == 0, "up")
        #expect(kernel.facts(Self.fd) & 4 == 0)
        #expect(kernel.facts(Self.fd) & SX_FACT_PEER != 0)
        #expect(kernel.armed[Self.fd] == nil, "the program's registration is back")
        #expect(Self.need(shim) == 0)
    }

    @Test func meanwhileTheSocketAnswersAsAConnectingOne() {
        let kernel = Self.slowProxy()
        let shim = Self.shim(kernel)
        _ = Self.connect(shim)
        #expect(shim.socketError(Self.fd) == 0, "SO_ERROR: no error yet")
        #expect(shim.settleBeforeIO(Self.fd) == EAGAIN, "send and receive: not yet")
        let (again, errno) = Self.connect(shim)
        #expect(again == -1 && errno == EALREADY)
        var peer = sockaddr_in6()
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let named = withUnsafeMutablePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { shim.getpeername(Self.fd, $0, &length) }
        }
        #expect(named == -1 && kernel.errno == ENOTCONN, "no peer yet, and never the proxy's address")
        #expect(!kernel.calls.contains("poll"))
    }

    @Test func aRefusalIsReportedOnceAsTheConnectsError() {
        let kernel = Self.slowProxy()
        kernel.replies = [[0x05, 0x00], [0x05, 0x05, 0x00, 0x01, 0, 0, 0, 0, 0, 0]]  // connection refused
        let shim = Self.shim(kernel)
        _ = Self.connect(shim)
        kernel.proxyAccepts = true
        _ = shim.asyncStepCode(Self.fd)
        kernel.deliver()
        _ = shim.asyncStepCode(Self.fd)
        kernel.deliver()
        #expect(shim.asyncStepCode(Self.fd) == 3)
        #expect(kernel.calls.last == "restore")
        #expect(kernel.calls.contains("disconnect"), "left as a failed plain connect")
        #expect(Self.need(shim) == 3, "waits report it until the program reads it")
        #expect(shim.socketError(Self.fd) == ECONNREFUSED)
        #expect(shim.socketError(Self.fd) == 0, "once, as the kernel")
        #expect(kernel.facts(Self.fd) & 4 == 0)
    }

    @Test func aSilentProxyFailsAtItsDeadline() {
        let kernel = Self.slowProxy()
        let shim = Self.shim(kernel)
        _ = Self.connect(shim)
        #expect(shim.asyncSoonestDeadline() != UInt64.max)
        kernel.nanoseconds = shim.asyncSoonestDeadline() + 1
        shim.asyncExpire()
        #expect(Self.need(shim) == 3)
        #expect(shim.socketError(Self.fd) == ETIMEDOUT)
        #expect(shim.asyncSoonestDeadline() == UInt64.max)
    }

    @Test func closingForgetsIt() {
        let kernel = Self.slowProxy()
        let shim = Self.shim(kernel)
        _ = Self.connect(shim)
        shim.forgetInterrupted(Self.fd)
        #expect(Self.need(shim) == 0)
        #expect(kernel.facts(Self.fd) & 4 == 0)
        #expect(shim.asyncSoonestDeadline() == UInt64.max)
    }

    /// Two threads on one socket: while one steps the tunnel, the other's calls answer "still
    /// going" (never "up", which would let its bytes into the exchange), and waits still see it.
    @Test func anotherThreadsStepIsWaitedOutNotTakenForDone() throws {
        let kernel = Self.slowProxy()
        let shim = Self.shim(kernel)
        _ = Self.connect(shim)
        let held = try #require(shim.interrupted.begin(Self.fd))  // a step in another thread
        #expect(shim.asyncStepCode(Self.fd) == 1)
        #expect(shim.settleBeforeIO(Self.fd) == EAGAIN)
        #expect(shim.socketError(Self.fd) == 0)
        #expect(Self.need(shim) == 1, "waits still see the tunnel")
        #expect(kernel.facts(Self.fd) & 4 != 0)
        shim.interrupted.update(held)
        kernel.proxyAccepts = true
        #expect(shim.asyncStepCode(Self.fd) == 1, "the next step is this thread's")
        #expect(kernel.sent == [[5, 1, 0]])
    }

    @Test func aStepWithNoTunnelSaysSo() {
        let kernel = Self.slowProxy()
        let shim = Self.shim(kernel)
        #expect(shim.asyncStepCode(Self.fd) == 2, "a stale tag: the wait quiets it")
    }
}
