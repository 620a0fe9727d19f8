import Glibc
import SocksifyLibc
import Testing
@testable import SocksifyCore

/// The backstop's policy on the fake kernel: a stopped call, the program's memory as bytes,
/// its socket as the fake's program socket.
@Suite struct ShimBackstopTests {
    static let fd: Int32 = 9

    /// A stopped program: memory at fixed addresses, the copy of any descriptor is `fd`.
    final class FakeProgram: StoppedProgram {
        var memory: [UInt64: [UInt8]] = [:]
        var copyResult: Int32 = ShimBackstopTests.fd
        var waiting = true
        var copies: [Int32] = []
        func read(_ address: UInt64, _ count: Int) -> [UInt8]? {
            guard let bytes = memory[address], bytes.count >= count else { return nil }
            return Array(bytes.prefix(count))
        }
        func copyDescriptor(_ fd: Int32) -> Int32 { copies.append(fd); return copyResult }
        func stillWaiting() -> Bool { waiting }
        func inProgramDirectory(_ body: () -> Int32) -> Int32 { body() }
        var installed: [(fd: Int32, cloexec: Bool)] = []
        func installDescriptor(_ fd: Int32, cloexec: Bool) -> Int32 { installed.append((fd, cloexec)); return 0 }
    }

    static func shim(_ kernel: FakeKernel) -> Shim {
        var settings = ShimSettings(proxy: .success(ProxySpec(proto: .socks5, host: "10.0.0.5", port: 1080)))
        settings.quiet = true
        let shim = Shim(settings: settings, program: RunningProgram(executable: ascii("/usr/bin/test"), argv0: ascii("test")),
                        readFile: { _ in nil }, environment: { _ in nil }, kernel: kernel)
        shim.finishesHandshakes = true
        return shim
    }

    static func connect(_ address: [UInt8]) -> StoppedCall {
        StoppedCall(number: 42, arch: 0xC000_003E, args: [UInt64(fd), 0x1000, UInt64(address.count), 0, 0, 0])
    }

    @Test func aConnectIsCarriedThroughTheProxyOnTheCopy() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR | O_NONBLOCK)
        let program = FakeProgram()
        let address = Endpoint(ip("93.184.216.34"), port: 443).sockaddrBytes
        program.memory[0x1000] = address
        #expect(Self.shim(kernel).answer(Self.connect(address), program) == .value(0),
                "a non-blocking socket too: the handshake is finished before the answer")
        #expect(program.copies == [Self.fd])
        #expect(kernel.sent.last == [5, 1, 0, 1, 93, 184, 216, 34, 1, 187])
        #expect(kernel.closed.contains(Self.fd), "the copy is closed")
        #expect(kernel.facts(Self.fd) == 0, "nothing left in the registry for the copy's number")
        #expect(!kernel.calls.contains("arm"), "no asynchronous tunnel: the program cannot finish one")
    }

    @Test func aLoopbackConnectGoesDirectWithTheBytesRead() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR)
        let program = FakeProgram()
        let address = Endpoint(ip("127.0.0.1"), port: 8080).sockaddrBytes
        program.memory[0x1000] = address
        #expect(Self.shim(kernel).answer(Self.connect(address), program) == .value(0))
        #expect(kernel.directConnects == [address])
    }

    @Test func unreadableMemoryAndMissingDescriptorsAnswerAsTheKernelWould() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR)
        let program = FakeProgram()
        let address = Endpoint(ip("93.184.216.34"), port: 443).sockaddrBytes
        #expect(Self.shim(kernel).answer(Self.connect(address), program) == .error(EFAULT))
        program.memory[0x1000] = address
        program.copyResult = -EBADF
        #expect(Self.shim(kernel).answer(Self.connect(address), program) == .error(EBADF))
        var tooLong = Self.connect(address)
        tooLong.args[2] = 200
        #expect(Self.shim(kernel).answer(tooLong, program) == .error(EINVAL))
    }

    @Test func aCallThatNoLongerWaitsIsNotCarriedOut() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR)
        let program = FakeProgram()
        let address = Endpoint(ip("93.184.216.34"), port: 443).sockaddrBytes
        program.memory[0x1000] = address
        program.waiting = false
        #expect(Self.shim(kernel).answer(Self.connect(address), program) == .error(EINTR))
        #expect(kernel.sent.isEmpty && kernel.directConnects.isEmpty)
    }

    static func udp(_ kernel: FakeKernel) {
        kernel.socketTypes[fd] = (Int32(SOCK_DGRAM.rawValue), Int32(IPPROTO_UDP))
    }

    @Test func aUDPSendtoOffTheMachineIsRefusedAndOnLoopbackProceeds() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR)
        Self.udp(kernel)
        let program = FakeProgram()
        let shim = Self.shim(kernel)
        let remote = Endpoint(ip("10.200.9.9"), port: 53).sockaddrBytes
        program.memory[0x2000] = remote
        let sendto = StoppedCall(number: 44, arch: 0xC000_003E, args: [UInt64(Self.fd), 0x3000, 1, 0, 0x2000, UInt64(remote.count)])
        #expect(shim.answer(sendto, program) == .error(EPERM))
        program.memory[0x2000] = Endpoint(ip("127.0.0.1"), port: 9).sockaddrBytes
        program.memory[0x3000] = [0x78]
        #expect(shim.answer(sendto, program) == .value(1), "loopback goes direct: sent by the supervisor")
        #expect(kernel.udp.sent.last?.address == Endpoint(ip("127.0.0.1"), port: 9).sockaddrBytes && kernel.udp.sent.last?.bytes == [0x78],
                "to the address read, never the call itself (its address could change under us)")
    }

    /// Records what the shim hands to the supervisor's DNS responder.
    final class FakeNameService: BackstopServices {
        var redirects: [(Int32, Endpoint, Bool)] = []
        var deliveries: [(Int32, [UInt8], Endpoint)] = []
        func redirect(_ copy: Int32, from nameserver: Endpoint, transport: TransportKind, shim: Shim) -> BackstopAnswer {
            redirects.append((copy, nameserver, transport == .tcp))
            return .value(0)
        }
        func deliver(_ copy: Int32, _ query: [UInt8], from nameserver: Endpoint, shim: Shim) -> BackstopAnswer {
            deliveries.append((copy, query, nameserver))
            return .value(Int64(query.count))
        }
        var relays: [(Int32, SocksDestination)] = []
        func relayDatagrams(_ copy: Int32, to asked: SocksDestination, via proxy: ProxySpec, at endpoint: Endpoint, shim: Shim) -> BackstopAnswer {
            relays.append((copy, asked))
            return .value(0)
        }
    }

    @Test func aConnectToPort53GoesToTheNameServiceWhateverTheAddress() {
        for (transportIsUDP, address) in [(true, "10.200.9.9"), (true, "127.0.0.53"), (false, "10.200.9.9"), (false, "::1")] {
            let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR)
            if transportIsUDP { Self.udp(kernel) }
            let program = FakeProgram()
            let nameserver = Endpoint(ip(address), port: 53)
            program.memory[0x1000] = nameserver.sockaddrBytes
            let service = FakeNameService()
            #expect(Self.shim(kernel).answer(Self.connect(nameserver.sockaddrBytes), program, services: service) == .value(0))
            #expect(service.redirects.count == 1 && service.redirects[0].0 == Self.fd && service.redirects[0].1 == nameserver
                    && service.redirects[0].2 == !transportIsUDP, "\(address)")
            #expect(kernel.directConnects.isEmpty && kernel.sent.isEmpty, "nothing towards \(address) itself")
        }
    }

    @Test func aConnectedUDPSocketThroughTheProxyGoesToTheRelay() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR)
        Self.udp(kernel)
        let program = FakeProgram()
        let service = FakeNameService()
        let other = Endpoint(ip("10.200.9.9"), port: 5353).sockaddrBytes
        program.memory[0x1000] = other
        #expect(Self.shim(kernel).answer(Self.connect(other), program, services: service) == .value(0))
        #expect(service.relays.count == 1 && service.relays[0].1 == SocksDestination(.ip(ip("10.200.9.9")), port: 5353))
        #expect(kernel.directConnects.isEmpty, "nothing towards the destination itself")
        #expect(Self.shim(kernel).answer(Self.connect(other), program) == .error(EPERM), "no relay: refused")
    }

    @Test func otherPortsAndMissingServiceKeepTheirVerdict() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR)
        Self.udp(kernel)
        let program = FakeProgram()
        let service = FakeNameService()
        let dns = Endpoint(ip("10.200.9.9"), port: 53).sockaddrBytes
        program.memory[0x1000] = dns
        #expect(Self.shim(kernel).answer(Self.connect(dns), program) == .error(EPERM), "no responder: refused, as before")
        #expect(service.redirects.isEmpty)
    }

    @Test func aSendtoToPort53IsDeliveredFromTheBytesRead() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR)
        Self.udp(kernel)
        let program = FakeProgram()
        let service = FakeNameService()
        let nameserver = Endpoint(ip("10.200.9.9"), port: 53)
        program.memory[0x2000] = nameserver.sockaddrBytes
        program.memory[0x3000] = dnsQuery("a.test")
        let length = UInt64(dnsQuery("a.test").count)
        let sendto = StoppedCall(number: 44, arch: 0xC000_003E, args: [UInt64(Self.fd), 0x3000, length, 0, 0x2000, 16])
        #expect(Self.shim(kernel).answer(sendto, program, services: service) == .value(Int64(length)))
        #expect(service.deliveries.count == 1 && service.deliveries[0].1 == dnsQuery("a.test") && service.deliveries[0].2 == nameserver)
        var unreadable = sendto
        unreadable.args[1] = 0x9000
        #expect(Self.shim(kernel).answer(unreadable, program, services: service) == .error(EFAULT))
        // sendmsg to port 53: not carried, refused with the reason
        program.memory[0x1000] = [0, 0x20, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0] + [UInt8](repeating: 0, count: 44)
        let sendmsg = StoppedCall(number: 46, arch: 0xC000_003E, args: [UInt64(Self.fd), 0x1000, 0, 0, 0, 0])
        #expect(Self.shim(kernel).answer(sendmsg, program, services: service) == .error(EPERM))
        #expect(service.deliveries.count == 1)
    }

    @Test func sendmsgAndSendmmsgNamesAreReadFromTheirHeaders() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR)
        Self.udp(kernel)
        let program = FakeProgram()
        let shim = Self.shim(kernel)
        func header(name: UInt64, length: UInt32, size: Int) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: size)
            for i in 0..<8 { bytes[i] = UInt8(truncatingIfNeeded: name >> (8 * UInt64(i))) }
            for i in 0..<4 { bytes[8 + i] = UInt8(truncatingIfNeeded: length >> (8 * UInt32(i))) }
            return bytes
        }
        let remote = Endpoint(ip("10.1.2.3"), port: 9).sockaddrBytes
        program.memory[0x2000] = remote
        program.memory[0x1000] = header(name: 0x2000, length: UInt32(remote.count), size: 56)
        let sendmsg = StoppedCall(number: 46, arch: 0xC000_003E, args: [UInt64(Self.fd), 0x1000, 0, 0, 0, 0])
        #expect(shim.answer(sendmsg, program) == .error(EPERM))
        // two messages: the first on loopback, the second off the machine: the whole call is refused
        program.memory[0x2100] = Endpoint(ip("127.0.0.1"), port: 9).sockaddrBytes
        program.memory[0x4000] = header(name: 0x2100, length: 16, size: 64) + header(name: 0x2000, length: 16, size: 64)
        let sendmmsg = StoppedCall(number: 307, arch: 0xC000_003E, args: [UInt64(Self.fd), 0x4000, 2, 0, 0, 0])
        #expect(shim.answer(sendmmsg, program) == .error(EPERM))
        var one = sendmmsg
        one.args[2] = 1
        #expect(shim.answer(one, program) == .value(1), "one message, sent by the supervisor")
        // no name: a connected socket's send, decided at its connect. The header is in memory
        // the kernel would read again (another thread could add a name), so the supervisor
        // sends it, with no name, as read
        program.memory[0x1000] = header(name: 0, length: 0, size: 56)
        program.copies = []
        #expect(shim.answer(sendmsg, program) == .value(0))
        #expect(program.copies == [Self.fd])
        // a name rewritten between the check and the send: refused, nothing sent
        program.memory[0x1000] = header(name: 0x2100, length: 16, size: 56)
        let rewriting = RewritingProgram(program, at: 0x1000, after: header(name: 0x2000, length: 16, size: 56))
        #expect(shim.answer(sendmsg, rewriting) == .error(EINVAL))
    }

    /// A program whose memory at `address` changes after its first read there (a second thread).
    final class RewritingProgram: StoppedProgram {
        let inner: FakeProgram
        let address: UInt64
        let later: [UInt8]
        var reads = 0
        init(_ inner: FakeProgram, at address: UInt64, after later: [UInt8]) {
            self.inner = inner
            self.address = address
            self.later = later
        }
        func read(_ at: UInt64, _ count: Int) -> [UInt8]? {
            if at == address {
                reads += 1
                if reads > 1 { return Array(later.prefix(count)) }
            }
            return inner.read(at, count)
        }
        func copyDescriptor(_ fd: Int32) -> Int32 { inner.copyDescriptor(fd) }
        func stillWaiting() -> Bool { inner.stillWaiting() }
        func inProgramDirectory(_ body: () -> Int32) -> Int32 { body() }
        func installDescriptor(_ fd: Int32, cloexec: Bool) -> Int32 { inner.installDescriptor(fd, cloexec: cloexec) }
    }

    @Test func aTCPSendWithAnAddressProceedsUnlessItIsFastOpen() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR)
        let program = FakeProgram()
        let remote = Endpoint(ip("10.1.2.3"), port: 80).sockaddrBytes
        program.memory[0x2000] = remote
        var sendto = StoppedCall(number: 44, arch: 0xC000_003E, args: [UInt64(Self.fd), 0x3000, 1, 0, 0x2000, UInt64(remote.count)])
        #expect(Self.shim(kernel).answer(sendto, program) == .proceed, "TCP ignores the address")
        sendto.args[3] = UInt64(MSG_FASTOPEN)
        #expect(Self.shim(kernel).answer(sendto, program) == .error(EPERM), "Fast Open would connect past the proxy")
    }

    @Test func aDirectSendmsgIsMadeByTheSupervisorWithItsPayloadAndControl() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR)
        Self.udp(kernel)
        let program = FakeProgram()
        func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
        let name = Endpoint(ip("127.0.0.1"), port: 7).sockaddrBytes
        program.memory[0x2000] = name
        program.memory[0x3000] = Array("hel".utf8)
        program.memory[0x3100] = Array("lo".utf8)
        program.memory[0x4000] = le(0x3000, 8) + le(3, 8) + le(0x3100, 8) + le(2, 8)  // two iovecs
        // msghdr: name, namelen, pad, iov, iovlen, control, controllen, flags
        program.memory[0x1000] = le(0x2000, 8) + le(UInt64(name.count), 4) + le(0, 4) + le(0x4000, 8) + le(2, 8) + le(0, 8) + le(0, 8) + le(0, 8)
        let sendmsg = StoppedCall(number: 46, arch: 0xC000_003E, args: [UInt64(Self.fd), 0x1000, 0, 0, 0, 0])
        #expect(Self.shim(kernel).answer(sendmsg, program) == .value(5))
        #expect(kernel.udp.sent.last?.bytes == Array("hello".utf8) && kernel.udp.sent.last?.address == name)
        program.waiting = false
        #expect(Self.shim(kernel).answer(sendmsg, program) == .error(EINTR), "a process gone since: nothing sent for it")
    }

    @Test func ioUringAndOtherABIsAreRefused() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR)
        let program = FakeProgram()
        let shim = Self.shim(kernel)
        #expect(shim.answer(StoppedCall(number: 425, arch: 0xC000_003E, args: [8, 0, 0, 0, 0, 0]), program) == .error(EPERM))
        #expect(shim.answer(StoppedCall(number: 425, arch: 0x4000_0003, args: [8, 0, 0, 0, 0, 0]), program) == .error(EPERM))
        #expect(shim.answer(StoppedCall(number: 0x4000_0000 | 42, arch: 0xC000_003E, args: [3, 0, 16, 0, 0, 0]), program) == .error(EPERM))
        #expect(program.copies.isEmpty, "refused without touching the program")
    }

    static func strictShim(_ kernel: FakeKernel) -> Shim {
        var settings = ShimSettings(proxy: .success(ProxySpec(proto: .socks5, host: "10.0.0.5", port: 1080)))
        settings.quiet = true
        settings.strict = true
        return Shim(settings: settings, program: RunningProgram(executable: ascii("/usr/bin/test"), argv0: ascii("test")),
                    readFile: { _ in nil }, environment: { _ in nil }, kernel: kernel)
    }

    @Test func rawAndPacketSocketsAreTheLibrarysVerdict() {
        let raw = StoppedCall(number: 41, arch: 0xC000_003E, args: [UInt64(AF_INET), 3 | 0x80000, 1, 0, 0, 0])
        let packet = StoppedCall(number: 41, arch: 0xC000_003E, args: [17, 2, 0, 0, 0, 0])
        let raw32 = StoppedCall(number: 359, arch: 0x4000_0003, args: [UInt64(AF_INET6), 3, 58, 0, 0, 0])
        for call in [raw, packet, raw32] {
            let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR)
            #expect(Self.strictShim(kernel).answer(call, FakeProgram()) == .error(EPERM), "strict: refused, \(call.number)")
            #expect(Self.shim(kernel).answer(call, FakeProgram()) == .proceed, "not strict: allowed with a line, \(call.number)")
        }
    }

    @Test func a32BitSocketcallSocketIsMadeByTheSupervisorInStrictMode() {
        // socketcall(SYS_SOCKET, args): the kernel would read the words again after the check
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR)
        let program = FakeProgram()
        program.memory[0x5000] = Self.words([UInt32(AF_INET), 1 | 0x80000, 0])  // SOCK_STREAM | SOCK_CLOEXEC
        let call = StoppedCall(number: 102, arch: 0x4000_0003, args: [1, 0x5000, 0, 0, 0, 0])
        #expect(Self.strictShim(kernel).answer(call, program) == .answered)
        #expect(program.installed.count == 1 && program.installed[0].cloexec, "the socket judged, installed close-on-exec")
        #expect(Self.shim(kernel).answer(call, program) == .proceed, "not strict: raw sockets are allowed anyway")
        program.memory[0x5000] = Self.words([17, 3, 0])  // AF_PACKET
        #expect(Self.strictShim(kernel).answer(call, program) == .error(EPERM))
        #expect(program.installed.count == 1)
    }

    static func words(_ values: [UInt32]) -> [UInt8] {
        values.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }
    }

    @Test func a32BitConnectIsCarriedLikeA64BitOne() {
        // socketcall(SYS_CONNECT, args): args are three 32-bit words in the program's memory
        let address = Endpoint(ip("93.184.216.34"), port: 443).sockaddrBytes
        for call in [StoppedCall(number: 102, arch: 0x4000_0003, args: [3, 0x5000, 0, 0, 0, 0]),
                     StoppedCall(number: 362, arch: 0x4000_0003, args: [UInt64(Self.fd), 0x1000, UInt64(address.count), 0, 0, 0])] {
            let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR)
            let program = FakeProgram()
            program.memory[0x1000] = address
            program.memory[0x5000] = Self.words([UInt32(Self.fd), 0x1000, UInt32(address.count)])
            #expect(Self.shim(kernel).answer(call, program) == .value(0), "call \(call.number)")
            #expect(kernel.sent.last == [5, 1, 0, 1, 93, 184, 216, 34, 1, 187])
        }
    }

    @Test func a32BitSendmsgNameIsReadFromItsSmallerHeader() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR)
        Self.udp(kernel)
        let program = FakeProgram()
        let remote = Endpoint(ip("10.1.2.3"), port: 9).sockaddrBytes
        program.memory[0x2000] = remote
        // i386 msghdr: msg_name (4 bytes) at 0, msg_namelen at 4; 28 bytes
        program.memory[0x1000] = Self.words([0x2000, UInt32(remote.count)]) + [UInt8](repeating: 0, count: 20)
        program.memory[0x5000] = Self.words([UInt32(Self.fd), 0x1000, 0])
        let socketcall = StoppedCall(number: 102, arch: 0x4000_0003, args: [16, 0x5000, 0, 0, 0, 0])
        #expect(Self.shim(kernel).answer(socketcall, program) == .error(EPERM), "UDP off the machine: refused, as in 64 bits")
        program.memory[0x2000] = Endpoint(ip("127.0.0.1"), port: 9).sockaddrBytes
        #expect(Self.shim(kernel).answer(socketcall, program) == .value(0), "an empty datagram, sent by the supervisor")
        #expect(Self.shim(kernel).answer(StoppedCall(number: 102, arch: 0x4000_0003, args: [1, 0x5000, 0, 0, 0, 0]), program) == .proceed,
                "socketcall(SYS_SOCKET): not a way out")
    }

    @Test func relativeUnixPathsAreRecognised() {
        func unix(_ path: String) -> [UInt8] { [UInt8(AF_UNIX), 0] + Array(path.utf8) + [0] }
        #expect(Shim.isRelativeUnixPath(unix("run/socket")))
        #expect(!Shim.isRelativeUnixPath(unix("/run/socket")))
        #expect(!Shim.isRelativeUnixPath([UInt8(AF_UNIX), 0, 0] + Array("abstract".utf8)))
        #expect(!Shim.isRelativeUnixPath(Endpoint(ip("127.0.0.1"), port: 9).sockaddrBytes))
    }
}
