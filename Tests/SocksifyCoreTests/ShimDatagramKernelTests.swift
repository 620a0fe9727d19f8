import SocksifyLibc
import Testing
@testable import SocksifyCore

/// The shim's datagram path on the fake kernel: a UDP association set up on the first send
/// (control connection, UDP ASSOCIATE), datagrams wrapped on the way out and unwrapped on the
/// way in, strangers dropped, and the association's end when the proxy closes its control
/// connection.
@Suite struct ShimDatagramKernelTests {
    static let fd: Int32 = 9
    /// The proxy's UDP ASSOCIATE reply: relay 0.0.0.0:5000, "the proxy's own address, port 5000".
    static let associateReply: [UInt8] = [0x05, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0x13, 0x88]
    static let relay = Endpoint(ip("10.0.0.5"), port: 5000)
    static let dns = Endpoint(ip("93.184.216.34"), port: 53)

    /// A kernel with the program's UDP socket, noted as socket() notes it, and a proxy that
    /// grants a UDP association.
    static func udpKernel(statusFlags: Int32 = O_RDWR) -> FakeKernel {
        let kernel = FakeKernel(programSocket: fd, statusFlags: statusFlags)
        kernel.socketTypes[fd] = (Int32(SOCK_DGRAM.rawValue), Int32(IPPROTO_UDP))
        kernel.replies = [[0x05, 0x00], associateReply]
        kernel.connect = .now
        return kernel
    }

    static func shim(_ kernel: FakeKernel, rules: String? = nil) -> Shim {
        let shim = ShimConnectKernelTests.shim(kernel, rules: rules)
        shim.noteSocket(fd, type: Int32(SOCK_DGRAM.rawValue), protocol: 0)
        return shim
    }

    /// sendto(2)/send(2) as the sendmsg hook hands it over: returns the result and errno.
    static func send(_ shim: Shim, _ fd: Int32 = fd, to destination: Endpoint?, _ payload: [UInt8], flags: Int32 = 0) -> (Int, Int32) {
        var payload = payload
        var name = destination?.sockaddrBytes ?? []
        shim.kernel.errno = 0
        let result = payload.withUnsafeMutableBytes { data in
            name.withUnsafeMutableBytes { nameBytes in
                var vector = iovec(iov_base: data.baseAddress, iov_len: data.count)
                return withUnsafeMutablePointer(to: &vector) { vectors in
                    var message = msghdr()
                    message.msg_name = destination == nil ? nil : nameBytes.baseAddress
                    message.msg_namelen = socklen_t(nameBytes.count)
                    message.msg_iov = vectors
                    message.msg_iovlen = 1
                    return shim.sendDatagram(fd, &message, flags: flags)
                }
            }
        }
        return (result, shim.kernel.errno)
    }

    struct Received {
        var result: Int
        var errno: Int32
        var data: [UInt8]
        var source: Endpoint?
    }

    /// recvfrom(2) as the recvmsg hook hands it over.
    static func receive(_ shim: Shim, _ fd: Int32 = fd, room: Int = 512, flags: Int32 = 0) -> Received {
        var buffer = [UInt8](repeating: 0, count: room)
        var name = [UInt8](repeating: 0, count: 128)
        shim.kernel.errno = 0
        var nameLength = 0
        let result = buffer.withUnsafeMutableBytes { data in
            name.withUnsafeMutableBytes { nameBytes in
                var vector = iovec(iov_base: data.baseAddress, iov_len: data.count)
                return withUnsafeMutablePointer(to: &vector) { vectors in
                    var message = msghdr()
                    message.msg_name = nameBytes.baseAddress
                    message.msg_namelen = socklen_t(nameBytes.count)
                    message.msg_iov = vectors
                    message.msg_iovlen = 1
                    let n = shim.receiveDatagram(fd, &message, flags: flags)
                    nameLength = Int(message.msg_namelen)
                    return n
                }
            }
        }
        let source = result >= 0 ? name.withUnsafeBytes { Endpoint(sockaddr: $0.baseAddress!, length: nameLength) } : nil
        return Received(result: result, errno: shim.kernel.errno, data: result > 0 ? Array(buffer[0..<result]) : [], source: source)
    }

    static func header(_ destination: Endpoint) -> [UInt8] {
        try! Socks5UDPHeader(address: SocksDestination(destination)).encode()
    }

    @Test func theFirstSendSetsUpTheAssociationAndWrapsTheDatagram() {
        let kernel = Self.udpKernel()
        kernel.udp.randoms = [1000]
        let shim = Self.shim(kernel)
        let (result, _) = Self.send(shim, to: Self.dns, ascii("hello"))
        #expect(result == 5, "the program sees its own bytes sent, not the header")
        #expect(kernel.sent == [[5, 1, 0], [5, 3, 0, 1, 0, 0, 0, 0, 0, 0]], "greeting, then UDP ASSOCIATE from 0.0.0.0:0")
        #expect(kernel.udp.sent == [FakeDatagrams.Datagram(fd: Self.fd, address: Self.relay.sockaddrBytes,
                                                            bytes: [0, 0, 0, 1, 93, 184, 216, 34, 0, 53] + ascii("hello"))],
                "to the relay at the proxy's own address, behind the RFC 1928 header")
        #expect(kernel.udp.ports[Self.fd] == UInt16(32768 + 1000), "bound to an explicit port before the relay answers")
        // The control connection: made non-blocking and close-on-exec, then moved out of the
        // program's way and marked as the shim's own.
        #expect(kernel.calls == ["fstat", "socket", "connect", "send", "poll", "recv", "send", "poll", "recv", "recv",
                                 "SO_DOMAIN", "getsockname", "SO_DOMAIN", "bind", "SO_DOMAIN", "F_DUPFD_CLOEXEC", "close", "fstat",
                                 "poll", "sendmsg"])
        #expect(kernel.closed == [50], "only the low number the control connection started at")
        #expect(kernel.facts(1000) & 2 != 0, "the control connection is the shim's own")
        #expect(kernel.facts(Self.fd) & 1 != 0, "the program's socket is marked for its send/recv hooks")
        #expect(shim.associations.of(Self.fd)?.control == 1000)
    }

    @Test func laterSendsReuseTheAssociationWithTwoCalls() {
        let kernel = Self.udpKernel()
        let shim = Self.shim(kernel)
        _ = Self.send(shim, to: Self.dns, ascii("one"))
        kernel.calls = []
        let (result, _) = Self.send(shim, to: Endpoint(ip("198.51.100.9"), port: 123), ascii("two"))
        #expect(result == 3)
        #expect(kernel.calls == ["sendmsg"], "within 50 ms of the last check the control connection is not polled")
        #expect(kernel.udp.sent.last?.bytes == [0, 0, 0, 1, 198, 51, 100, 9, 0, 123] + ascii("two"))
        #expect(kernel.sent.count == 2, "no second UDP ASSOCIATE")
    }

    @Test func aBusyPortIsTriedAgainWithAnother() {
        let kernel = Self.udpKernel()
        kernel.udp.portsInUse = 1
        kernel.udp.randoms = [1, 2]
        _ = Self.send(Self.shim(kernel), to: Self.dns, ascii("x"))
        #expect(kernel.calls.filter { $0 == "bind" }.count == 2)
        #expect(kernel.udp.ports[Self.fd] == UInt16(32768 + 2))
    }

    @Test func aProxyThatRefusesUDPFailsTheSendAndClosesTheControlConnection() {
        let kernel = Self.udpKernel()
        kernel.replies = [[0x05, 0x00], [0x05, 0x07, 0x00, 0x01, 0, 0, 0, 0, 0, 0]]  // command not supported
        let shim = Self.shim(kernel)
        let (result, _) = Self.send(shim, to: Self.dns, ascii("x"))
        #expect(result == -1)
        #expect(kernel.closed == [50])
        #expect(kernel.udp.sent.isEmpty, "nothing leaves directly")
        #expect(kernel.facts(Self.fd) & 1 == 0)
        #expect(shim.associations.of(Self.fd) == nil)
    }

    @Test func aDirectDestinationGoesToLibcUntouched() {
        let kernel = Self.udpKernel()
        let (result, _) = Self.send(Self.shim(kernel), to: Endpoint(ip("127.0.0.1"), port: 53), ascii("x"))
        #expect(result == passToLibc)
        #expect(kernel.calls.isEmpty, "the transport was noted by socket(): no system call at all")
    }

    @Test func aRelayedDatagramIsUnwrappedAndShownFromItsSender() {
        let kernel = Self.udpKernel()
        let shim = Self.shim(kernel)
        _ = Self.send(shim, to: Self.dns, ascii("query"))
        kernel.udp.relay(to: Self.fd, from: Self.relay, sender: Self.dns, ascii("answer"))
        let got = Self.receive(shim)
        #expect(got.result == 6)
        #expect(got.data == ascii("answer"))
        #expect(got.source == Self.dns, "the sender the header names, not the relay")
    }

    @Test func aStrangersDatagramIsDroppedAndTheNextOneRead() {
        let kernel = Self.udpKernel()
        let shim = Self.shim(kernel)
        _ = Self.send(shim, to: Self.dns, ascii("query"))
        kernel.udp.deliver(to: Self.fd, from: Endpoint(ip("203.0.113.66"), port: 5000), Self.header(Self.dns) + ascii("forged"))
        kernel.udp.relay(to: Self.fd, from: Self.relay, sender: Self.dns, ascii("real"))
        let got = Self.receive(shim)
        #expect(got.data == ascii("real"), "a blocking socket waits past the stranger's datagram")
        #expect(kernel.udp.inbound[Self.fd]?.isEmpty == true)
    }

    @Test func aNonBlockingReceiveOfAStrangersDatagramIsEAGAIN() {
        let kernel = Self.udpKernel(statusFlags: O_RDWR | O_NONBLOCK)
        let shim = Self.shim(kernel)
        _ = Self.send(shim, to: Self.dns, ascii("query"))
        kernel.udp.deliver(to: Self.fd, from: Endpoint(ip("203.0.113.66"), port: 53), ascii("not wrapped"))
        let got = Self.receive(shim)
        #expect(got.result == -1 && got.errno == EAGAIN)
        #expect(kernel.udp.inbound[Self.fd]?.isEmpty == true, "consumed: the program never sees it")
    }

    @Test func aPeekedStrangerIsConsumedNotSeenAgain() {
        let kernel = Self.udpKernel()
        let shim = Self.shim(kernel)
        _ = Self.send(shim, to: Self.dns, ascii("query"))
        kernel.udp.deliver(to: Self.fd, from: Endpoint(ip("203.0.113.66"), port: 53), ascii("junk"))
        let got = Self.receive(shim, flags: Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
        #expect(got.result == -1 && got.errno == EAGAIN)
        #expect(kernel.udp.inbound[Self.fd]?.isEmpty == true)
        #expect(kernel.calls.suffix(2) == ["recvmsg", "recv"], "the peeked datagram read once more, without MSG_PEEK")
    }

    @Test func aSocketWithoutAnAssociationReceivesThroughLibc() {
        let kernel = Self.udpKernel()
        #expect(Self.receive(Self.shim(kernel)).result == passToLibc)
        #expect(kernel.calls.isEmpty)
    }

    @Test func theAssociationDiesWithItsControlConnection() {
        let kernel = Self.udpKernel()
        let shim = Self.shim(kernel)
        _ = Self.send(shim, to: Self.dns, ascii("one"))
        kernel.closesAfterReplies = true  // the proxy hangs up the control connection
        kernel.nanoseconds += 10_000_000
        #expect(Self.send(shim, to: Self.dns, ascii("two")).0 == 3, "checked at most every 50 ms")
        kernel.nanoseconds += 60_000_000
        let (result, errno) = Self.send(shim, to: Self.dns, ascii("three"))
        #expect(result == -1 && errno == ECONNRESET)
        #expect(kernel.udp.sent.count == 2, "nothing sent once the association is gone")
        kernel.calls = []
        #expect(Self.send(shim, to: Self.dns, ascii("four")).1 == ECONNRESET)
        #expect(kernel.calls.isEmpty, "known dead: not asked again")
    }

    @Test func aConnectedUDPSocketTalksToTheRelayAndHearsOnlyItsPeer() {
        let kernel = Self.udpKernel()
        let shim = Self.shim(kernel)
        let (connected, _) = ShimConnectKernelTests.connect(shim, "93.184.216.34", 53)
        #expect(connected == 0)
        #expect(kernel.directConnects == [Self.relay.sockaddrBytes], "the kernel connects the socket to the relay")
        #expect(shim.datagramPeer(Self.fd) == Self.dns, "getpeername answers the destination")
        let (sent, _) = Self.send(shim, to: nil, ascii("hi"))
        #expect(sent == 2)
        #expect(kernel.udp.sent.last?.bytes == Self.header(Self.dns) + ascii("hi"), "send() without a name goes to the peer")
        kernel.udp.relay(to: Self.fd, from: Self.relay, sender: Endpoint(ip("8.8.8.8"), port: 53), ascii("other"))
        kernel.udp.relay(to: Self.fd, from: Self.relay, sender: Self.dns, ascii("peer"))
        let got = Self.receive(shim)
        #expect(got.data == ascii("peer"), "as the kernel filters a connected socket")
    }

    @Test func connectAFUnspecDissolvesThePeerAndKeepsTheAssociation() {
        let kernel = Self.udpKernel()
        let shim = Self.shim(kernel)
        _ = ShimConnectKernelTests.connect(shim, "93.184.216.34", 53)
        var unspec = sockaddr()
        unspec.sa_family = sa_family_t(AF_UNSPEC)
        #expect(shim.connect(Self.fd, &unspec, socklen_t(MemoryLayout<sockaddr>.size)) == 0)
        #expect(shim.datagramPeer(Self.fd) == nil)
        #expect(shim.associations.of(Self.fd) != nil)
        #expect(kernel.sent.count == 2, "one association")
    }
}
