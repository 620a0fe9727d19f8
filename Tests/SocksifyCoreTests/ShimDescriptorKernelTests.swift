import SocksifyLibc
import Testing
@testable import SocksifyCore

/// close and dup of the sockets the shim knows on the fake kernel: the registry (the descriptor
/// byte, the associations, the proxied peers) follows every number that is closed, copied or
/// reused. The hooks themselves are C (Sources/CShim/close.c); `close` and `dup` below make the
/// same calls into the core, in the same order, for the same registry bits.
@Suite struct ShimDescriptorKernelTests {
    static let fd = ShimDatagramKernelTests.fd
    static let dns = ShimDatagramKernelTests.dns
    static let io = SX_FACT_KIND | SX_FACT_PEER | SX_FACT_SNDTIMEO

    /// close.c's forget(), then the real close.
    static func close(_ shim: Shim, _ fd: Int32) {
        forget(shim, fd)
        _ = shim.kernel.close(fd)
    }

    static func forget(_ shim: Shim, _ fd: Int32) {
        let facts = shim.kernel.facts(fd)
        if facts & 2 != 0 { shim.associations.relocateControl(fd) }
        if facts & 1 != 0 { shim.associations.detach(fd) }
        if facts & 4 != 0 { shim.forgetInterrupted(fd) }
        if facts & io != 0 { shim.kernel.setFacts(fd, io, 0) }
    }

    /// close.c's dup2: forget what `copy` was, the real dup, then follow().
    static func dup2(_ shim: Shim, _ fd: Int32, _ copy: Int32) {
        if fd != copy { forget(shim, copy) }
        _ = shim.kernel.dup3(fd, copy, 0)
        let facts = shim.kernel.facts(fd)
        if facts & 1 != 0 { shim.associations.duplicate(fd, to: copy) }
        if facts & SX_FACT_PEER != 0 { shim.copyPeer(from: fd, to: copy) }
        if facts & (SX_FACT_KIND | SX_FACT_SNDTIMEO) != 0 { shim.kernel.setFacts(copy, SX_FACT_KIND | SX_FACT_SNDTIMEO, facts) }
    }

    /// A UDP socket with an association (control connection at 1000).
    static func associated() -> (FakeKernel, Shim) {
        let kernel = ShimDatagramKernelTests.udpKernel()
        let shim = ShimDatagramKernelTests.shim(kernel)
        _ = ShimDatagramKernelTests.send(shim, to: dns, ascii("hello"))
        return (kernel, shim)
    }

    /// A TCP socket connected through the proxy.
    static func proxied() -> (FakeKernel, Shim) {
        let kernel = FakeKernel(programSocket: fd, statusFlags: O_RDWR | O_NONBLOCK)
        let shim = ShimConnectKernelTests.shim(kernel)
        shim.noteSocket(fd, type: Int32(SOCK_STREAM.rawValue), protocol: 0)
        _ = ShimConnectKernelTests.connect(shim, "93.184.216.34", 443)
        return (kernel, shim)
    }

    @Test func closingAnAssociatedSocketEndsTheAssociation() {
        let (kernel, shim) = Self.associated()
        #expect(shim.associations.of(Self.fd)?.control == 1000)
        Self.close(shim, Self.fd)
        #expect(kernel.closed.suffix(2) == [1000, Self.fd], "the control connection first, then the program's own close")
        #expect(kernel.facts(Self.fd) == 0, "association and transport marks cleared")
        #expect(kernel.facts(1000) == 0, "no longer the shim's own")
        #expect(shim.associations.of(Self.fd) == nil)
    }

    @Test func aCopyKeepsTheAssociationUntilTheLastDescriptorCloses() {
        let (kernel, shim) = Self.associated()
        let copy: Int32 = 12
        Self.dup2(shim, Self.fd, copy)
        #expect(kernel.facts(copy) & 1 != 0)
        #expect(kernel.facts(copy) & SX_FACT_KIND == kernel.facts(Self.fd) & SX_FACT_KIND, "the transport is copied")
        #expect(shim.associations.of(copy) === shim.associations.of(Self.fd))
        Self.close(shim, Self.fd)
        #expect(!kernel.closed.contains(1000), "the copy still uses it")
        let (sent, _) = ShimDatagramKernelTests.send(shim, copy, to: Self.dns, ascii("still"))
        #expect(sent == 5)
        #expect(kernel.udp.sent.last?.fd == copy)
        #expect(kernel.udp.sent.last?.bytes.prefix(4) == [0, 0, 0, 1], "wrapped, through the same association")
        #expect(kernel.sent.count == 2, "no second UDP ASSOCIATE")
        Self.close(shim, copy)
        #expect(kernel.closed.contains(1000))
        #expect(kernel.facts(copy) == 0)
    }

    @Test func aCopyMadeWithoutTheHookFindsTheAssociationByItsSocket() {
        let (kernel, shim) = Self.associated()
        let copy: Int32 = 13
        _ = kernel.dup3(Self.fd, copy, 0)  // say, by a raw syscall: the registry never saw it
        shim.noteSocket(copy, type: Int32(SOCK_DGRAM.rawValue), protocol: 0)
        let (sent, _) = ShimDatagramKernelTests.send(shim, copy, to: Self.dns, ascii("x"))
        #expect(sent == 1)
        #expect(kernel.sent.count == 2, "the same socket (inode): the same association")
        #expect(kernel.facts(copy) & 1 != 0)
    }

    @Test func dupOntoAnAssociatedSocketDetachesTheOldOne() {
        let (kernel, shim) = Self.associated()
        let other: Int32 = 20
        kernel.flags[other] = O_RDWR
        Self.dup2(shim, other, Self.fd)  // the program replaces fd 9 with a copy of a plain descriptor
        #expect(kernel.closed.contains(1000), "fd 9 was the association's only descriptor")
        #expect(kernel.facts(Self.fd) == 0)
        #expect(shim.associations.of(Self.fd) == nil)
    }

    @Test func theShimsOwnDescriptorMovesWhenTheProgramTakesItsNumber() {
        let (kernel, shim) = Self.associated()
        let plain: Int32 = 21
        kernel.flags[plain] = O_RDWR
        Self.dup2(shim, plain, 1000)  // the program dup2s onto the number the control connection has
        let association = shim.associations.of(Self.fd)
        #expect(association?.control == 1001, "moved to the next high number")
        #expect(kernel.facts(1001) & 2 != 0 && kernel.facts(1000) & 2 == 0)
        #expect(!kernel.closed.contains(1000), "the program's dup2 replaces it; the shim does not close it")
        #expect(association?.isAlive() == true)
    }

    @Test func noRoomToMoveEndsTheAssociation() {
        let (kernel, shim) = Self.associated()
        kernel.udp.nextHigh = nil
        Self.close(shim, 1000)  // closefrom() in a program that did not open it
        let association = shim.associations.of(Self.fd)
        #expect(association?.control == -1)
        kernel.nanoseconds += 100_000_000
        #expect(ShimDatagramKernelTests.send(shim, to: Self.dns, ascii("x")).1 == ECONNRESET)
    }

    @Test func aReusedNumberStartsAfresh() {
        let (kernel, shim) = Self.associated()
        Self.close(shim, Self.fd)
        // The program's next socket gets the same number: a new socket, not yet associated.
        kernel.udp.inodes[Self.fd] = 77
        shim.noteSocket(Self.fd, type: Int32(SOCK_DGRAM.rawValue), protocol: 0)
        #expect(ShimDatagramKernelTests.receive(shim).result == passToLibc, "nothing of the old association is left")
        kernel.replies = [[0x05, 0x00], ShimDatagramKernelTests.associateReply]
        let (sent, _) = ShimDatagramKernelTests.send(shim, to: Self.dns, ascii("new"))
        #expect(sent == 3)
        #expect(kernel.sent.count == 4, "a second UDP ASSOCIATE, for the new socket")
        #expect(shim.associations.of(Self.fd)?.control == 1001)
    }

    @Test func aCopyOfAProxiedSocketAnswersTheSamePeer() {
        let (kernel, shim) = Self.proxied()
        #expect(kernel.facts(Self.fd) & SX_FACT_PEER != 0)
        let copy: Int32 = 14
        Self.dup2(shim, Self.fd, copy)
        #expect(kernel.facts(copy) & SX_FACT_PEER != 0)
        #expect(kernel.facts(copy) & SX_FACT_KIND == 1 << SX_FACT_KIND_SHIFT, "still known as TCP")
        #expect(shim.peers.destination(ofSocket: UInt64(copy)) == Endpoint(ip("93.184.216.34"), port: 443))
    }

    @Test func closingAProxiedSocketForgetsItsPeer() {
        let (kernel, shim) = Self.proxied()
        Self.close(shim, Self.fd)
        #expect(kernel.facts(Self.fd) == 0, "getpeername no longer looks the number up")
        #expect(kernel.closed.last == Self.fd)
        // Reused by a socket the program connects to the loopback, directly.
        kernel.socketTypes[Self.fd] = (Int32(SOCK_STREAM.rawValue), Int32(IPPROTO_TCP))
        let (result, _) = ShimConnectKernelTests.connect(shim, "127.0.0.1", 8080)
        #expect(result == 0)
        #expect(kernel.facts(Self.fd) & SX_FACT_PEER == 0)
    }

    @Test func closingAnInterruptedTunnelForgetsIt() {
        let kernel = FakeKernel(programSocket: Self.fd, statusFlags: O_RDWR)
        kernel.signalsDuringPoll = 1
        let shim = ShimConnectKernelTests.shim(kernel)
        _ = ShimConnectKernelTests.connect(shim, "93.184.216.34", 443)
        #expect(kernel.facts(Self.fd) & 4 != 0)
        Self.close(shim, Self.fd)
        #expect(kernel.facts(Self.fd) == 0)
        #expect(shim.interrupted.begin(Self.fd) == nil, "nothing left to finish on the number")
    }
}
