import SocksifyLibc
@testable import SocksifyCore

import Testing

/// ProxyTunnel against FakeProxy on loopback: the socket the program gave ends up connected
/// through the proxy, with its flags as they were, and nothing after the reply read.
@Suite struct ProxyTunnelTests {
    static let web = destination("93.184.216.34", 443)
    static let webRequest: [UInt8] = [0x05, 0x01, 0x00, 0x01, 93, 184, 216, 34, 0x01, 0xBB]
    static let okReply: [UInt8] = [0x05, 0x00, 0x00, 0x01, 10, 0, 0, 1, 0x04, 0x38]
    static let socks5Steps = [FakeProxy.Step(read: 3, reply: [0x05, 0x00]), FakeProxy.Step(read: 10, reply: okReply)]
    static let timeouts = Timeouts(connectMilliseconds: 2000, handshakeMilliseconds: 2000)

    static func tcpSocket(_ family: Int32, flags: Int32 = 0) throws -> Int32 {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | flags, 0)
        try #require(fd >= 0)
        return fd
    }

    static func readAll(_ fd: Int32, _ count: Int) -> [UInt8] { FakeProxy.read(fd, exactly: count) }

    static func send(_ fd: Int32, _ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { SocksifyLibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// getsockopt(SO_ERROR), as the program would read it.
    static func socketError(_ fd: Int32) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard sx_real_getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) == 0 else { return sx_errno() }
        return value
    }

    static func connectAgain(_ fd: Int32, _ endpoint: Endpoint) -> Int32 {
        let bytes = endpoint.sockaddrBytes
        let result = bytes.withUnsafeBytes { sx_real_connect(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count)) }
        return result == 0 ? 0 : sx_errno()
    }

    @Test func blockingIPv4Socket() throws {
        let proxy = try FakeProxy()
        let server = proxy.serve(Self.socks5Steps, after: ascii("hello"))
        let fd = try Self.tcpSocket(AF_INET)
        let flags = sx_get_status_flags(fd)
        try ProxyTunnel.open(fd: fd, chain: [proxy.spec], firstEndpoint: proxy.endpoint, destination: Self.web, timeouts: Self.timeouts)
        #expect(sx_get_status_flags(fd) == flags, "still blocking")
        #expect(Self.readAll(fd, 5) == ascii("hello"), "the destination's first bytes are left for the program")
        // The kernel may still call a tunnel to a loopback proxy "connecting" (its connect
        // answers 0, not EISCONN); the shim answers EISCONN itself (ShimConnectKernelTests).
        #expect([0, EISCONN].contains(Self.connectAgain(fd, proxy.endpoint)), "connected")
        #expect(Self.send(fd, ascii("ping")) == 4)
        _ = close(fd)
        #expect(server.join() == [0x05, 0x01, 0x00] + Self.webRequest + ascii("ping"))
    }

    @Test func nonBlockingSocketStaysNonBlocking() throws {
        let proxy = try FakeProxy()
        let server = proxy.serve(Self.socks5Steps)
        let fd = try Self.tcpSocket(AF_INET, flags: Int32(SOCK_NONBLOCK.rawValue))
        let flags = sx_get_status_flags(fd)
        #expect(flags & O_NONBLOCK != 0)
        try ProxyTunnel.open(fd: fd, chain: [proxy.spec], firstEndpoint: proxy.endpoint, destination: Self.web, timeouts: Self.timeouts)
        #expect(sx_get_status_flags(fd) == flags)
        _ = close(fd)
        #expect(server.join() == [0x05, 0x01, 0x00] + Self.webRequest)
    }

    @Test func ipv6SocketReachesAnIPv4ProxyThroughAMappedAddress() throws {
        let proxy = try FakeProxy()
        let server = proxy.serve(Self.socks5Steps, after: ascii("hi"))
        let fd = try Self.tcpSocket(AF_INET6)
        try ProxyTunnel.open(fd: fd, chain: [proxy.spec], firstEndpoint: proxy.endpoint, destination: Self.web, timeouts: Self.timeouts)
        #expect(sx_socket_domain(fd) == AF_INET6)
        #expect(Self.readAll(fd, 2) == ascii("hi"))
        _ = close(fd)
        #expect(server.join() == [0x05, 0x01, 0x00] + Self.webRequest)
    }

    @Test(arguments: [0, Int32(SOCK_CLOEXEC.rawValue)])
    func ipv4SocketReachesAnIPv6ProxyOnAReplacementSocket(extraFlags: Int32) throws {
        let proxy = try FakeProxy(family: AF_INET6)
        let server = proxy.serve(Self.socks5Steps, after: ascii("hi"))
        let fd = try Self.tcpSocket(AF_INET, flags: extraFlags)
        let statusFlags = sx_get_status_flags(fd)
        let descriptorFlags = sx_get_descriptor_flags(fd)
        try ProxyTunnel.open(fd: fd, chain: [proxy.spec], firstEndpoint: proxy.endpoint, destination: Self.web, timeouts: Self.timeouts)
        #expect(sx_socket_domain(fd) == AF_INET6, "the same descriptor number now holds the tunnel")
        #expect(sx_get_status_flags(fd) == statusFlags)
        #expect(sx_get_descriptor_flags(fd) == descriptorFlags, "close-on-exec kept as it was")
        #expect(Self.readAll(fd, 2) == ascii("hi"))
        #expect(Self.send(fd, ascii("x")) == 1)
        _ = close(fd)
        #expect(server.join() == [0x05, 0x01, 0x00] + Self.webRequest + ascii("x"))
    }

    @Test func chainOfTwoSocks5Proxies() throws {
        let proxy = try FakeProxy()
        let second = ProxySpec(proto: .socks5, host: "10.9.9.9", port: 1081)
        let toSecond: [UInt8] = [0x05, 0x01, 0x00, 0x01, 10, 9, 9, 9, 0x04, 0x39]
        let server = proxy.serve(Self.socks5Steps + Self.socks5Steps, after: ascii("hi"))
        let fd = try Self.tcpSocket(AF_INET)
        try ProxyTunnel.open(fd: fd, chain: [proxy.spec, second], firstEndpoint: proxy.endpoint, destination: Self.web,
                             timeouts: Self.timeouts)
        #expect(Self.readAll(fd, 2) == ascii("hi"))
        _ = close(fd)
        #expect(server.join() == [0x05, 0x01, 0x00] + toSecond + [0x05, 0x01, 0x00] + Self.webRequest)
    }

    @Test func chainNamesTheNextHopForTheProxyToResolve() throws {
        let proxy = try FakeProxy()
        let second = ProxySpec(proto: .socks4a, host: "proxy2.lan", port: 1080, credentials: ProxyCredentials(username: ascii("bob"), password: []))
        let toSecond: [UInt8] = [0x05, 0x01, 0x00, 0x03, 10] + ascii("proxy2.lan") + [0x04, 0x38]
        let socks4Request: [UInt8] = [0x04, 0x01, 0x01, 0xBB, 93, 184, 216, 34] + ascii("bob") + [0x00]
        let server = proxy.serve([FakeProxy.Step(read: 3, reply: [0x05, 0x00]),
                                  FakeProxy.Step(read: toSecond.count, reply: Self.okReply),
                                  FakeProxy.Step(read: socks4Request.count, reply: [0x00, 90, 0, 0, 0, 0, 0, 0])])
        let fd = try Self.tcpSocket(AF_INET)
        try ProxyTunnel.open(fd: fd, chain: [proxy.spec, second], firstEndpoint: proxy.endpoint, destination: Self.web,
                             timeouts: Self.timeouts)
        _ = close(fd)
        #expect(server.join() == [0x05, 0x01, 0x00] + toSecond + socks4Request)
    }

    @Test func chainFailsAtTheSecondHop() throws {
        let proxy = try FakeProxy()
        let second = ProxySpec(proto: .socks5, host: "10.9.9.9", port: 1081)
        let server = proxy.serve(Self.socks5Steps + [FakeProxy.Step(read: 3, reply: [0x05, 0xFF])])
        let fd = try Self.tcpSocket(AF_INET)
        #expect(throws: SocksError.noAcceptableMethod) {
            try ProxyTunnel.open(fd: fd, chain: [proxy.spec, second], firstEndpoint: proxy.endpoint, destination: Self.web,
                                 timeouts: Self.timeouts)
        }
        #expect(Self.send(fd, ascii("x")) == -1, "shut down")
        _ = close(fd)
        _ = server.join()
    }

    @Test func nextHopAddress() {
        #expect(ProxyTunnel.address(of: ProxySpec(proto: .socks5, host: "10.0.0.1", port: 1080)) == destination("10.0.0.1", 1080))
        #expect(ProxyTunnel.address(of: ProxySpec(proto: .socks5, host: "::1", port: 9050)) == destination("::1", 9050))
        #expect(ProxyTunnel.address(of: ProxySpec(proto: .socks4a, host: "proxy.lan", port: 1)) == SocksDestination(.domain("proxy.lan"), port: 1))
    }

    @Test func replacementSocketOnRequestLeavesNothingOnFailure() throws {
        // Failover opens each attempt on a replacement socket: a failed one leaves the program's
        // socket untouched (unconnected, same flags), ready for the next proxy.
        let proxy = try FakeProxy()
        let server = proxy.serve([FakeProxy.Step(read: 3, reply: [0x05, 0xFF])])
        let fd = try Self.tcpSocket(AF_INET)
        let flags = sx_get_status_flags(fd)
        #expect(throws: SocksError.noAcceptableMethod) {
            try ProxyTunnel.openOnReplacementSocket(fd: fd, chain: [proxy.spec], firstEndpoint: proxy.endpoint,
                                                    destination: Self.web, timeouts: Self.timeouts)
        }
        #expect(sx_get_status_flags(fd) == flags)
        #expect(Self.socketError(fd) == 0)
        _ = server.join()
        // Still usable: the next attempt succeeds on the same descriptor.
        let next = try FakeProxy()
        let nextServer = next.serve(Self.socks5Steps, after: ascii("ok"))
        try ProxyTunnel.openOnReplacementSocket(fd: fd, chain: [next.spec], firstEndpoint: next.endpoint,
                                                destination: Self.web, timeouts: Self.timeouts)
        #expect(Self.readAll(fd, 2) == ascii("ok"))
        _ = close(fd)
        #expect(nextServer.join() == [0x05, 0x01, 0x00] + Self.webRequest)
    }

    @Test func refusalShutsTheSocketDown() throws {
        let proxy = try FakeProxy()
        let server = proxy.serve([FakeProxy.Step(read: 3, reply: [0x05, 0x00]),
                                  FakeProxy.Step(read: 10, reply: [0x05, 0x05, 0x00, 0x01, 0, 0, 0, 0, 0, 0])])
        let fd = try Self.tcpSocket(AF_INET)
        #expect(throws: SocksError.socks5Refused(.connectionRefused)) {
            try ProxyTunnel.open(fd: fd, chain: [proxy.spec], firstEndpoint: proxy.endpoint, destination: Self.web, timeouts: Self.timeouts)
        }
        #expect(Self.send(fd, ascii("x")) == -1, "no half-open tunnel to write into")
        _ = close(fd)
        #expect(server.join() == [0x05, 0x01, 0x00] + Self.webRequest)
    }

    @Test func nothingListeningIsProxyUnreachable() throws {
        let port: UInt16
        do {
            let probe = try FakeProxy()
            port = probe.endpoint.port
        }  // closed again: nothing listens on the port now
        let fd = try Self.tcpSocket(AF_INET)
        defer { _ = close(fd) }
        let endpoint = Endpoint(ip("127.0.0.1"), port: port)
        #expect(throws: SocksError.proxyUnreachable(errno: ECONNREFUSED)) {
            try ProxyTunnel.open(fd: fd, chain: [ProxySpec(proto: .socks5, host: "127.0.0.1", port: port)],
                                 firstEndpoint: endpoint, destination: Self.web, timeouts: Self.timeouts)
        }
    }

    @Test func silentProxyTimesOut() throws {
        let proxy = try FakeProxy()
        let server = proxy.serve([FakeProxy.Step(read: 3, reply: [])])
        let fd = try Self.tcpSocket(AF_INET)
        let start = sx_monotonic_ns()
        #expect(throws: SocksError.timedOut(phase: "waiting for the proxy's reply")) {
            try ProxyTunnel.open(fd: fd, chain: [proxy.spec], firstEndpoint: proxy.endpoint, destination: Self.web,
                                 timeouts: Timeouts(connectMilliseconds: 2000, handshakeMilliseconds: 100))
        }
        #expect(sx_monotonic_ns() - start >= 90_000_000)
        _ = close(fd)
        #expect(server.join() == [0x05, 0x01, 0x00])
    }

    @Test func alreadyConnectedSocketIsTheProgramsMistake() throws {
        let proxy = try FakeProxy()
        let server = proxy.serve([])
        let fd = try Self.tcpSocket(AF_INET)
        #expect(Self.connectAgain(fd, proxy.endpoint) == 0)
        #expect(throws: SocksError.socketState(errno: EISCONN)) {
            try ProxyTunnel.open(fd: fd, chain: [proxy.spec], firstEndpoint: proxy.endpoint, destination: Self.web, timeouts: Self.timeouts)
        }
        _ = close(fd)
        #expect(server.join() == [])
    }
}
