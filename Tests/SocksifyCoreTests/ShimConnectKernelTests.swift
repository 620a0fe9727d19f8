import Glibc
import SocksifyLibc
import Testing
@testable import SocksifyCore

/// The shim's connect on the fake kernel: the verdict carried out, with exactly the system
/// calls it needs, and what it leaves on the program's socket.
@Suite struct ShimConnectKernelTests {
    static let fd: Int32 = 9
    static let proxyURL = "socks5://10.0.0.5:1080"

    static func shim(_ kernel: FakeKernel, strict: Bool = false, rules: String? = nil) -> Shim {
        var settings = ShimSettings(proxy: .success(ProxySpec(proto: .socks5, host: "10.0.0.5", port: 1080)))
        settings.quiet = true
        settings.strict = strict
        if let rules {
            // The library reads its rules file itself (one reader, one size limit).
            let path = "/tmp/socksify-shim-kernel-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).conf"
            let file = fopen(path, "w")
            fputs(rules, file)
            fclose(file)
            defer { unlink(path) }
            settings.proxy = .failure(ProxyURLError("rules"))
            settings.configPath = path
            return Shim(settings: settings, program: RunningProgram(executable: ascii("/usr/bin/test"), argv0: ascii("test")),
                        readFile: { _ in nil }, environment: { _ in nil }, kernel: kernel)
        }
        return Shim(settings: settings, program: RunningProgram(executable: ascii("/usr/bin/test"), argv0: ascii("test")),
                    readFile: { _ in nil }, environment: { _ in nil }, kernel: kernel)
    }

    static func connect(_ shim: Shim, _ host: String, _ port: UInt16, length: Int? = nil) -> (Int32, Int32) {
        let bytes = Endpoint(ip(host), port: port).sockaddrBytes
        let result = bytes.withUnsafeBytes {
            shim.connect(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(length ?? $0.count))
        }
        return (result, shim.kernel.errno)
    }

    @Test func throughTheProxyWithTheTransportAlreadyKnown() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR | O_NONBLOCK)
        let shim = Self.shim(kernel)
        shim.noteSocket(Self.fd, type: Int32(SOCK_STREAM.rawValue), protocol: 0)  // as the socket() hook does
        let (result, _) = Self.connect(shim, "93.184.216.34", 443)
        #expect(result == 0, "a proxy that answers at once: the tunnel is up before connect returns")
        #expect(kernel.calls == ["F_GETFL", "connect", "connect", "send", "recv", "send", "recv", "recv"],
                "no getsockopt: socket() said TCP; no wait: the socket is non-blocking")
        #expect(kernel.sent.last == [5, 1, 0, 1, 93, 184, 216, 34, 1, 187])
        #expect(kernel.facts(Self.fd) & SX_FACT_PEER != 0, "getpeername will answer the destination")
    }

    @Test func aTunnelAnswersEISCONNWithoutAskingTheKernel() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR | O_NONBLOCK)
        let shim = Self.shim(kernel)
        shim.noteSocket(Self.fd, type: Int32(SOCK_STREAM.rawValue), protocol: 0)
        #expect(Self.connect(shim, "93.184.216.34", 443).0 == 0)
        let before = kernel.calls.count
        let (result, errno) = Self.connect(shim, "93.184.216.34", 443)
        #expect(result == -1 && errno == EISCONN)
        #expect(kernel.calls.count == before, "no second handshake, no system call")
    }

    @Test func afUnspecEndsTheTunnelAndTheSocketMayConnectAgain() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR | O_NONBLOCK)
        let shim = Self.shim(kernel)
        shim.noteSocket(Self.fd, type: Int32(SOCK_STREAM.rawValue), protocol: 0)
        #expect(Self.connect(shim, "93.184.216.34", 443).0 == 0)
        var unspec = sockaddr()
        unspec.sa_family = sa_family_t(AF_UNSPEC)
        #expect(shim.connect(Self.fd, &unspec, socklen_t(MemoryLayout<sockaddr>.size)) == 0)
        #expect(kernel.facts(Self.fd) & SX_FACT_PEER == 0, "no longer a tunnel")
        kernel.connected.remove(Self.fd)  // as the kernel's AF_UNSPEC connect does
        kernel.replies = [[0x05, 0x00], [0x05, 0x00, 0x00, 0x01, 10, 0, 0, 1, 0x04, 0x38]]
        #expect(Self.connect(shim, "93.184.216.34", 443).0 == 0, "through the proxy again")
    }

    @Test func anUnknownSocketIsAskedOnce() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR | O_NONBLOCK)
        let (result, _) = Self.connect(Self.shim(kernel), "93.184.216.34", 443)
        #expect(result == 0)
        #expect(Array(kernel.calls.prefix(2)) == ["SO_TYPE", "SO_PROTOCOL"])
    }

    @Test func loopbackGoesDirectWithTheProgramsOwnAddress() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR)
        let (result, _) = Self.connect(Self.shim(kernel), "127.0.0.1", 8080)
        #expect(result == 0)
        #expect(kernel.calls == ["SO_TYPE", "SO_PROTOCOL", "connect(direct)"])
        #expect(kernel.directConnects == [Endpoint(ip("127.0.0.1"), port: 8080).sockaddrBytes])
    }

    @Test func strictRefusesADirectRuleWithoutTouchingTheSocket() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR)
        let shim = Self.shim(kernel, strict: true, rules: "proxy p socks5://10.0.0.5:1080\nrule to 10.0.0.0/8 direct\ndefault via p\n")
        let (result, errno) = Self.connect(shim, "10.1.2.3", 80)
        #expect(result == -1)
        #expect(errno == EPERM, "\(errno)")
        #expect(!kernel.calls.contains { $0.hasPrefix("connect") })
    }

    @Test func aProtocolNoProxyCarriesIsRefused() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR)
        kernel.socketTypes[Self.fd] = (Int32(SOCK_DGRAM.rawValue), 136)  // UDP-Lite
        let (result, errno) = Self.connect(Self.shim(kernel), "93.184.216.34", 5000)
        #expect(result == -1 && errno == EPERM)
        #expect(!kernel.calls.contains { $0.hasPrefix("connect") })
    }

    @Test func anAddressItCannotReadIsInvalid() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR)
        let (result, errno) = Self.connect(Self.shim(kernel), "93.184.216.34", 443, length: 8)
        #expect(result == -1 && errno == EINVAL)
        #expect(kernel.calls.isEmpty)
    }

    @Test func blockedByARule() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR)
        let shim = Self.shim(kernel, rules: "proxy p socks5://10.0.0.5:1080\nrule to 192.0.2.0/24 block\ndefault via p\n")
        let (result, errno) = Self.connect(shim, "192.0.2.7", 80)
        #expect(result == -1 && errno == ECONNREFUSED)
        #expect(!kernel.calls.contains { $0.hasPrefix("connect") })
    }

    @Test func anInterruptedConnectGoesOnAtTheNextConnect() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR)
        kernel.signalsDuringPoll = 1
        let shim = Self.shim(kernel)
        let (first, errno) = Self.connect(shim, "93.184.216.34", 443)
        #expect(first == -1 && errno == EINTR)
        #expect(kernel.facts(Self.fd) & 4 != 0, "kept for the program's next call")
        #expect(!kernel.calls.contains("disconnect"))
        let (second, _) = Self.connect(shim, "93.184.216.34", 443)
        #expect(second == 0, "as the kernel: the second connect waits for the outcome")
        #expect(kernel.sent == [[5, 1, 0], [5, 1, 0, 1, 93, 184, 216, 34, 1, 187]])
        #expect(kernel.facts(Self.fd) & 4 == 0)
        #expect(kernel.facts(Self.fd) & SX_FACT_PEER != 0)
    }


    @Test func anInterruptedTunnelThatFailsReportsItOnce() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR)
        kernel.signalsDuringPoll = 1
        kernel.replies = [[0x05, 0x00], [0x05, 0x05, 0x00, 0x01, 0, 0, 0, 0, 0, 0]]  // connection refused
        let shim = Self.shim(kernel)
        _ = Self.connect(shim, "93.184.216.34", 443)
        #expect(shim.socketError(Self.fd) == ECONNREFUSED)
        #expect(shim.socketError(Self.fd) == 0, "once, as the kernel")
        #expect(kernel.calls.last == "disconnect")
    }

    /// A blocking socket's SO_SNDTIMEO bounds its connect, as without socksify: EINPROGRESS when
    /// it passes, and the exchange goes on (SO_ERROR, or connect again, gives the outcome).
    @Test func theProgramsSendTimeoutBoundsABlockingConnect() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR)
        kernel.replies = [nil]  // a proxy that never answers the greeting
        kernel.sendTimeout[Self.fd] = 1500
        kernel.setFacts(Self.fd, SX_FACT_SNDTIMEO, SX_FACT_SNDTIMEO)  // as the setsockopt hook does
        let shim = Self.shim(kernel)
        let start = kernel.nanoseconds
        let (result, errno) = Self.connect(shim, "93.184.216.34", 443)
        #expect(result == -1 && errno == EINPROGRESS)
        #expect(kernel.nanoseconds - start == 1_500_000_000, "the program's 1.5 s, not the 3 s handshake timeout")
        #expect(kernel.facts(Self.fd) & 4 != 0, "kept, as a connect in progress")
        kernel.inbox = [0x05, 0x00]  // the proxy answers the greeting at last, then the request
        kernel.replies = [[0x05, 0x00, 0x00, 0x01, 10, 0, 0, 1, 0x04, 0x38]]
        #expect(shim.socketError(Self.fd) == 0, "goes on to the end when the program asks")
    }

    @Test func noSendTimeoutNoQuestion() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR)
        _ = Self.connect(Self.shim(kernel), "93.184.216.34", 443)
        #expect(!kernel.calls.contains("SO_SNDTIMEO"))
    }
}
