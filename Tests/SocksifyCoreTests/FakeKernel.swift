import SocksifyLibc
@testable import SocksifyCore

/// A kernel the tunnel can run on without a network: one program socket (and the ones the
/// tunnel makes), a scripted proxy that answers each send with the next reply, a clock that
/// only moves when a poll waits, and a log of every call, so tests can count system calls and
/// see what was left behind.
final class FakeKernel: Kernel, @unchecked Sendable {
    enum ConnectOutcome { case now, inProgress(then: Int32), fails(Int32) }

    var errno: Int32 = 0
    var calls: [String] = []
    /// Status flags (O_NONBLOCK…) and descriptor flags (FD_CLOEXEC) by descriptor.
    var flags: [Int32: Int32] = [:]
    var descriptorFlagsOf: [Int32: Int32] = [:]
    var domain: [Int32: Int32] = [:]
    var nextDescriptor: Int32 = 50
    var closed: [Int32] = []
    var dups: [(from: Int32, to: Int32, flags: Int32)] = []

    /// What connecting to the proxy does: at once, after a wait (then 0 or an errno), or fails.
    var connect: ConnectOutcome = .inProgress(then: 0)
    var connecting: Set<Int32> = []
    var connected: Set<Int32> = []
    /// Whether the proxy accepts the TCP connection before the deadline.
    var proxyAccepts = true
    /// One reply per send, in order; nil: the proxy says nothing more (a silent proxy).
    var replies: [[UInt8]?] = [[0x05, 0x00], [0x05, 0x00, 0x00, 0x01, 10, 0, 0, 1, 0x04, 0x38]]
    var inbox: [UInt8] = []
    /// Replies wait here until `deliver()`: a proxy a round trip away.
    var holdReplies = false
    var held: [UInt8] = []
    func deliver() { inbox += held; held = [] }
    var sent: [[UInt8]] = []
    /// The proxy hangs up once the inbox is read.
    var closesAfterReplies = false
    /// The next polls are interrupted by a signal.
    var signalsDuringPoll = 0
    var handlerWithoutRestart = true

    var nanoseconds: UInt64 = 1_000_000_000
    /// The datagram side and the shim's own descriptors (FakeKernel+Datagrams.swift).
    var udp = FakeDatagrams()

    init(programSocket fd: Int32, statusFlags: Int32, domain: Int32 = AF_INET) {
        flags[fd] = statusFlags
        descriptorFlagsOf[fd] = 0
        self.domain[fd] = domain
    }

    private func fail(_ e: Int32) -> Int32 { errno = e; return -1 }

    func socket(_ domain: Int32, _ type: Int32) -> Int32 {
        calls.append("socket")
        let fd = nextDescriptor
        nextDescriptor += 1
        flags[fd] = type & Int32(SOCK_NONBLOCK.rawValue) != 0 ? O_NONBLOCK | O_RDWR : O_RDWR
        descriptorFlagsOf[fd] = type & Int32(SOCK_CLOEXEC.rawValue) != 0 ? FD_CLOEXEC : 0
        self.domain[fd] = domain
        return fd
    }
    func close(_ fd: Int32) -> Int32 { calls.append("close"); closed.append(fd); return 0 }
    func dup3(_ fd: Int32, _ copy: Int32, _ flags: Int32) -> Int32 {
        calls.append("dup3")
        dups.append((fd, copy, flags))
        self.flags[copy] = self.flags[fd]
        if connected.contains(fd) { connected.insert(copy) }
        return copy
    }
    /// net.ipv4.tcp_fastopen without its client bit: MSG_FASTOPEN says EOPNOTSUPP.
    var fastOpenOff = false
    func connectWithoutWaiting(_ fd: Int32, _ endpoint: Endpoint) -> Int32 {
        calls.append("connect(fastopen)")
        if fastOpenOff { return fail(EOPNOTSUPP) }
        if connected.contains(fd) { return fail(EISCONN) }
        return startConnect(fd, waits: false)
    }
    /// A first connect: at once, failed, or (never waiting) in progress.
    private func startConnect(_ fd: Int32, waits: Bool) -> Int32 {
        switch connect {
        case .now:
            connected.insert(fd)
            return 0
        case .fails(let e): return fail(e)
        case .inProgress:
            guard !waits else { return fail(EINVAL) }  // a blocking connect would hang the test
            connecting.insert(fd)
            return fail(EINPROGRESS)
        }
    }
    func connect(_ fd: Int32, _ endpoint: Endpoint) -> Int32 {
        calls.append("connect")
        if connected.contains(fd) { return fail(EISCONN) }
        if connecting.contains(fd) {
            guard proxyAccepts else { return fail(EALREADY) }
            connecting.remove(fd)
            if case .inProgress(let then) = connect, then != 0 { return fail(then) }
            connected.insert(fd)
            return 0
        }
        return startConnect(fd, waits: (flags[fd] ?? 0) & O_NONBLOCK == 0)
    }
    func disconnect(_ fd: Int32) -> Int32 {
        calls.append("disconnect")
        connected.remove(fd)
        connecting.remove(fd)
        return 0
    }
    func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ flags: Int32) -> Int {
        calls.append("send")
        if connecting.contains(fd) {
            // As the kernel: a finished handshake makes the socket connected (or gives its error);
            // one still in flight cannot send yet.
            guard proxyAccepts else { return Int(fail(EAGAIN)) }
            connecting.remove(fd)
            if case .inProgress(let then) = connect, then != 0 { return Int(fail(then)) }
            connected.insert(fd)
        }
        guard connected.contains(fd) else { return Int(fail(ENOTCONN)) }
        sent.append(Array(bytes))
        if !replies.isEmpty, let reply = replies.removeFirst() {
            if holdReplies { held += reply } else { inbox += reply }
        }
        return bytes.count
    }
    func receive(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, _ flags: Int32) -> Int {
        calls.append("recv")
        if udp.inbound[fd]?.isEmpty == false { return udp.receive(fd, buffer, flags) }
        if inbox.isEmpty { return closesAfterReplies ? 0 : Int(fail(EAGAIN)) }
        let n = min(buffer.count, inbox.count)
        for i in 0..<n { buffer[i] = inbox[i] }
        inbox.removeFirst(n)
        return n
    }
    func poll(_ fd: Int32, _ events: Int16, _ milliseconds: Int32) -> Int32 {
        calls.append("poll")
        if signalsDuringPoll > 0 {
            signalsDuringPoll -= 1
            nanoseconds += 1_000_000
            return fail(EINTR)
        }
        let ready = events == Int16(POLLOUT) ? (connected.contains(fd) || (connecting.contains(fd) && proxyAccepts))
                                             : (!inbox.isEmpty || closesAfterReplies)
        if ready { return 1 }
        nanoseconds += UInt64(milliseconds) * 1_000_000  // waited the whole time for nothing
        return 0
    }
    func statusFlags(_ fd: Int32) -> Int32 { calls.append("F_GETFL"); return flags[fd] ?? fail(EBADF) }
    func setStatusFlags(_ fd: Int32, _ flags: Int32) -> Int32 { calls.append("F_SETFL"); self.flags[fd] = flags; return 0 }
    func descriptorFlags(_ fd: Int32) -> Int32 { calls.append("F_GETFD"); return descriptorFlagsOf[fd] ?? fail(EBADF) }
    func socketDomain(_ fd: Int32) -> Int32 { calls.append("SO_DOMAIN"); return domain[fd] ?? fail(EBADF) }
    func isV6Only(_ fd: Int32) -> Bool { calls.append("IPV6_V6ONLY"); return false }
    func signalInterrupts() -> Bool { handlerWithoutRestart }
    func monotonicNanoseconds() -> UInt64 { nanoseconds }

    // The program's side: its own connect (direct), what getsockopt says, the registry byte.
    var socketTypes: [Int32: (type: Int32, proto: Int32)] = [:]
    var factsOf: [Int32: Int32] = [:]
    var directConnects: [[UInt8]] = []

    func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>?, _ length: socklen_t) -> Int32 {
        calls.append("connect(direct)")
        if let address { directConnects.append(Array(UnsafeRawBufferPointer(start: address, count: Int(length)))) }
        return 0
    }
    func socketType(_ fd: Int32) -> Int32 {
        calls.append("SO_TYPE")
        return socketTypes[fd]?.type ?? Int32(SOCK_STREAM.rawValue)
    }
    func socketProtocol(_ fd: Int32) -> Int32 {
        calls.append("SO_PROTOCOL")
        return socketTypes[fd]?.proto ?? Int32(IPPROTO_TCP)
    }
    var sendTimeout: [Int32: Int] = [:]
    func sendTimeoutMilliseconds(_ fd: Int32) -> Int? { calls.append("SO_SNDTIMEO"); return sendTimeout[fd] }
    func facts(_ fd: Int32) -> Int32 { factsOf[fd] ?? 0 }
    func setFacts(_ fd: Int32, _ mask: Int32, _ bits: Int32) { factsOf[fd] = ((factsOf[fd] ?? 0) & ~mask) | (bits & mask) }

    /// The tunnel's epoll interest, by descriptor, as sx_epoll_arm would set it (nil: the program's own).
    var armed: [Int32: TunnelNeed] = [:]
    func armWaits(_ fd: Int32, _ need: TunnelNeed) { calls.append("arm"); armed[fd] = need }
    func restoreWaits(_ fd: Int32) { calls.append("restore"); armed[fd] = nil }
    func setQuickAck(_ fd: Int32) -> Int32 { calls.append("TCP_QUICKACK"); return 0 }
}
