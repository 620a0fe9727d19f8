import Glibc
import SocksifyCore
import SocksifyLibc

/// The kernel backstop's DNS responder (docs/kernel-backstop.md): a program that resolves names
/// itself (Go) has its port-53 connects and sendtos pointed here, on loopback, by the
/// supervisor. Each query is answered with the shim's policy (`Shim.answerNameQuery`): a
/// synthetic address for a name the proxy resolves, or the nameserver's own reply for a name
/// the rules resolve locally. UDP and TCP (a resolver retries over TCP after a truncated reply).
/// Started at the first query of the run; one thread per transport, one per forwarded query.
final class NameService: @unchecked Sendable {
    private struct Route {
        var nameserver: Endpoint
        var shim: Shim
    }

    private struct Key: Hashable {
        var tcp: Bool
        var port: UInt16
    }

    /// Guarded by `lock`.
    private var routes: [Key: Route] = [:]
    private var sockets: (udp: Int32, tcp: Int32, udpPort: UInt16, tcpPort: UInt16)? = nil
    private var failure: String? = nil
    private let lock = Mutex()

    /// How long a forwarded query waits for the nameserver.
    static let forwardTimeoutMilliseconds: Int32 = 5_000

    func redirect(_ copy: Int32, from nameserver: Endpoint, transport: TransportKind, shim: Shim) -> BackstopAnswer {
        let tcp = transport == .tcp
        guard let responder = responder(tcp: tcp, for: copy, nameserver: nameserver, shim: shim) else { return .error(EPERM) }
        let connected = responder.withSockaddr { connect(copy, $0, $1) }
        let error = connected == 0 ? 0 : errno
        guard error == 0 || error == EINPROGRESS else { return .error(error) }
        // The program is stopped until it has the answer: its first query cannot come before the route.
        note(copy, tcp: tcp, Route(nameserver: nameserver, shim: shim))
        return error == 0 ? .value(0) : .error(error)
    }

    func deliver(_ copy: Int32, _ query: [UInt8], from nameserver: Endpoint, shim: Shim) -> BackstopAnswer {
        guard let responder = responder(tcp: false, for: copy, nameserver: nameserver, shim: shim) else { return .error(EPERM) }
        // An unbound socket gets its port now, so the route exists before the query arrives.
        if NameService.localPort(copy) == 0 {
            let any = Endpoint(responder.family == AF_INET6 ? .v6(IPv6Address(high: 0, low: 0)) : .v4(IPv4Address(0)), port: 0)
            guard any.withSockaddr({ bind(copy, $0, $1) }) == 0 else { return .error(errno) }
        }
        note(copy, tcp: false, Route(nameserver: nameserver, shim: shim))
        let sent = query.withUnsafeBytes { bytes in
            responder.withSockaddr { sendto(copy, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), $0, $1) }
        }
        return sent >= 0 ? .value(Int64(sent)) : .error(errno)
    }

    // MARK: - the responder's sockets

    /// The responder's address as `copy`'s family sees it; starts the responder the first time.
    /// nil (after a log line) when it cannot run: the query is refused, never sent out.
    private func responder(tcp: Bool, for copy: Int32, nameserver: Endpoint, shim: Shim) -> Endpoint? {
        lock.lock()
        if sockets == nil && failure == nil { start() }
        let ports = sockets.map { tcp ? $0.tcpPort : $0.udpPort }
        let why = failure
        lock.unlock()
        guard let port = ports else {
            shim.log.error("DNS query to " + nameserver.text + " refused: socksify's name service cannot run (" + (why ?? "?") + "); program sees EPERM")
            return nil
        }
        var domain: Int32 = 0
        var length = socklen_t(4)
        _ = getsockopt(copy, SOL_SOCKET, SO_DOMAIN, &domain, &length)
        let loopback = IPv4Address(127, 0, 0, 1)
        return Endpoint(domain == AF_INET6 ? .v6(IPv6Address(mapping: loopback)) : .v4(loopback), port: port)
    }

    /// Called with `lock` held.
    private func start() {
        let udp = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        let tcp = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        let loopback = Endpoint(.v4(IPv4Address(127, 0, 0, 1)), port: 0)
        guard udp >= 0, tcp >= 0,
              loopback.withSockaddr({ bind(udp, $0, $1) }) == 0,
              loopback.withSockaddr({ bind(tcp, $0, $1) }) == 0,
              listen(tcp, 64) == 0 else {
            failure = "loopback sockets: " + String(cString: strerror(errno))
            if udp >= 0 { close(udp) }
            if tcp >= 0 { close(tcp) }
            return
        }
        sockets = (udp, tcp, NameService.localPort(udp), NameService.localPort(tcp))
        guard Detached.run({ self.serveDatagrams(udp) }), Detached.run({ self.acceptStreams(tcp) }) else {
            failure = "no thread for the responder"
            sockets = nil
            return
        }
    }

    private func note(_ copy: Int32, tcp: Bool, _ route: Route) {
        let port = NameService.localPort(copy)
        lock.lock()
        routes[Key(tcp: tcp, port: port)] = route
        lock.unlock()
    }

    /// The route for a query from loopback port `port`; nil for anything the run did not send.
    private func route(tcp: Bool, from peer: Endpoint?) -> Route? {
        guard let peer, peer.address.isLoopback else { return nil }
        lock.lock()
        defer { lock.unlock() }
        return routes[Key(tcp: tcp, port: peer.port)]
    }

    // MARK: - UDP

    private func serveDatagrams(_ udp: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            var from = sockaddr_storage()
            var fromLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = withUnsafeMutablePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(udp, &buffer, buffer.count, 0, $0, &fromLength) }
            }
            guard n >= 0 else { continue }  // EINTR; a datagram error is the sender's
            let peer = withUnsafeBytes(of: &from) { Endpoint(sockaddr: $0.baseAddress!, length: Int(fromLength)) }
            guard let peer, let route = route(tcp: false, from: peer) else { continue }
            let query = Array(buffer[0..<n])
            switch route.shim.answerNameQuery(query) {
            case .ignore: continue
            case .reply(let reply): NameService.sendDatagram(reply, on: udp, to: peer)
            case .forward:
                let job = {
                    guard let reply = NameService.askOverUDP(query, route.nameserver) else { return }
                    route.shim.noteForwardedAnswer(query: query, reply: reply)
                    NameService.sendDatagram(reply, on: udp, to: peer)
                }
                if !Detached.run(job) { job() }
            }
        }
    }

    static func sendDatagram(_ bytes: [UInt8], on fd: Int32, to peer: Endpoint) {
        _ = bytes.withUnsafeBytes { raw in peer.withSockaddr { sendto(fd, raw.baseAddress, raw.count, 0, $0, $1) } }
    }

    /// The nameserver's reply to `query`, or nil (no answer in time: the program's resolver
    /// times out as it would have).
    static func askOverUDP(_ query: [UInt8], _ nameserver: Endpoint) -> [UInt8]? {
        let fd = socket(nameserver.family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard nameserver.withSockaddr({ connect(fd, $0, $1) }) == 0,
              query.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == query.count else { return nil }
        var reply = [UInt8](repeating: 0, count: 65_536)
        guard wait(fd) else { return nil }
        let n = recv(fd, &reply, reply.count, 0)
        return n > 0 ? Array(reply[0..<n]) : nil
    }

    static func wait(_ fd: Int32) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        var result: Int32
        repeat { result = poll(&p, 1, forwardTimeoutMilliseconds) } while result < 0 && errno == EINTR
        return result > 0
    }

    // MARK: - TCP (two-byte length before each message, RFC 1035 §4.2.2)

    private func acceptStreams(_ tcp: Int32) {
        while true {
            var from = sockaddr_storage()
            var fromLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let conn = withUnsafeMutablePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(tcp, $0, &fromLength) }
            }
            guard conn >= 0 else { continue }
            _ = fcntl(conn, F_SETFD, FD_CLOEXEC)
            let peer = withUnsafeBytes(of: &from) { Endpoint(sockaddr: $0.baseAddress!, length: Int(fromLength)) }
            if !Detached.run({ self.serveStream(conn, from: peer) }) { close(conn) }
        }
    }

    private func serveStream(_ conn: Int32, from peer: Endpoint?) {
        defer { close(conn) }
        var idle = timeval(tv_sec: 30, tv_usec: 0)
        _ = setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &idle, socklen_t(MemoryLayout<timeval>.size))
        var upstream: Int32 = -1
        defer { if upstream >= 0 { close(upstream) } }
        // The route is looked up once the first query is in: the loopback connection is accepted
        // before the supervisor has noted it, but no query can come before the connect's answer.
        guard let first = NameService.readMessage(conn), let route = route(tcp: true, from: peer) else { return }
        let (shim, nameserver) = (route.shim, route.nameserver)
        var next: [UInt8]? = first
        while let query = next {
            switch shim.answerNameQuery(query) {
            case .ignore: return
            case .reply(let reply): guard NameService.writeMessage(conn, reply) else { return }
            case .forward:
                if upstream < 0 { upstream = NameService.connectStream(nameserver) }
                guard upstream >= 0, NameService.writeMessage(upstream, query), NameService.wait(upstream),
                      let reply = NameService.readMessage(upstream) else { return }
                shim.noteForwardedAnswer(query: query, reply: reply)
                guard NameService.writeMessage(conn, reply) else { return }
            }
            next = NameService.readMessage(conn)
        }
    }

    static func connectStream(_ nameserver: Endpoint) -> Int32 {
        let fd = socket(nameserver.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var limit = timeval(tv_sec: time_t(forwardTimeoutMilliseconds / 1000), tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard nameserver.withSockaddr({ connect(fd, $0, $1) }) == 0 else {
            close(fd)
            return -1
        }
        return fd
    }

    static func readMessage(_ fd: Int32) -> [UInt8]? {
        guard let prefix = readExactly(fd, 2) else { return nil }
        let length = Int(prefix[0]) << 8 | Int(prefix[1])
        return length == 0 ? nil : readExactly(fd, length)
    }

    static func readExactly(_ fd: Int32, _ count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = bytes.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, count - got, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            got += n
        }
        return bytes
    }

    static func writeMessage(_ fd: Int32, _ message: [UInt8]) -> Bool {
        let framed = [UInt8(message.count >> 8), UInt8(truncatingIfNeeded: message.count)] + message
        var sent = 0
        while sent < framed.count {
            let n = framed.withUnsafeBytes { send(fd, $0.baseAddress! + sent, framed.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            sent += n
        }
        return true
    }

    /// 0 when the socket has none (or is no socket).
    static func localPort(_ fd: Int32) -> UInt16 {
        let port = RealKernel.shared.localPort(fd)
        return port > 0 ? UInt16(port) : 0
    }
}
