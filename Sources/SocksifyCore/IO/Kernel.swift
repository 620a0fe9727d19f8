import SocksifyLibc

/// The system calls the tunnel makes, behind one seam: the library runs them on the real
/// kernel (the real libc calls, never the shim's own), tests on a fake one that scripts
/// EINPROGRESS, signals, slow or lying proxies and the clock. Calls answer as libc does (-1 and
/// `errno` on failure); `errno` is the kernel's, so a fake keeps its own.
public protocol Kernel: AnyObject {
    var errno: Int32 { get set }
    func socket(_ domain: Int32, _ type: Int32) -> Int32
    func close(_ fd: Int32) -> Int32
    func dup3(_ fd: Int32, _ copy: Int32, _ flags: Int32) -> Int32
    func connect(_ fd: Int32, _ endpoint: Endpoint) -> Int32
    /// sendto(fd, nothing, MSG_FASTOPEN | MSG_DONTWAIT, endpoint): connect(2) that never waits,
    /// whatever O_NONBLOCK says (-1 and EINPROGRESS while it goes on).
    func connectWithoutWaiting(_ fd: Int32, _ endpoint: Endpoint) -> Int32
    /// connect(AF_UNSPEC): the socket goes back to unconnected.
    func disconnect(_ fd: Int32) -> Int32
    func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ flags: Int32) -> Int
    func receive(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, _ flags: Int32) -> Int
    /// poll(2) on one descriptor: >0 ready, 0 timed out, -1 errno.
    func poll(_ fd: Int32, _ events: Int16, _ milliseconds: Int32) -> Int32
    func statusFlags(_ fd: Int32) -> Int32
    func setStatusFlags(_ fd: Int32, _ flags: Int32) -> Int32
    func descriptorFlags(_ fd: Int32) -> Int32
    func socketDomain(_ fd: Int32) -> Int32
    func isV6Only(_ fd: Int32) -> Bool
    /// Whether the signal that just interrupted a call would end a plain blocking connect
    /// (a handler installed without SA_RESTART).
    func signalInterrupts() -> Bool
    func monotonicNanoseconds() -> UInt64

    // The program's connect, and what the shim knows of a descriptor.
    /// connect(2) with the program's own address, as given.
    func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>?, _ length: socklen_t) -> Int32
    /// SO_TYPE and SO_PROTOCOL; -1 when fd is not a socket.
    func socketType(_ fd: Int32) -> Int32
    func socketProtocol(_ fd: Int32) -> Int32
    /// The descriptor registry's byte (sx_fd_facts) and its update.
    func facts(_ fd: Int32) -> Int32
    func setFacts(_ fd: Int32, _ mask: Int32, _ bits: Int32)
    /// SO_SNDTIMEO in milliseconds; nil when none is set.
    func sendTimeoutMilliseconds(_ fd: Int32) -> Int?

    // The datagram path: the program's UDP socket, its association's control connection.
    /// sendmsg(2) and recvmsg(2), as given.
    func sendMessage(_ fd: Int32, _ message: UnsafePointer<msghdr>, _ flags: Int32) -> Int
    func receiveMessage(_ fd: Int32, _ message: UnsafeMutablePointer<msghdr>, _ flags: Int32) -> Int
    /// bind(2) to a sockaddr given as bytes.
    func bind(_ fd: Int32, _ address: [UInt8]) -> Int32
    /// getsockname(2)'s port; -1 on error.
    func localPort(_ fd: Int32) -> Int32
    /// fstat(2)'s st_ino: one socket, whatever its copies; 0 on error.
    func socketInode(_ fd: Int32) -> UInt64
    /// arc4random_uniform(3).
    func random(below bound: UInt32) -> UInt32

    // The descriptor registry's other facts, and the shim's own descriptors (sx_udp_mark &c.).
    /// Bit 0: a UDP socket with an association; one load for a number never marked.
    func udpMarked(_ fd: Int32) -> Bool
    func setUDPMark(_ fd: Int32, _ on: Bool)
    /// Bit 1: a descriptor the shim owns (a control connection).
    func setOwnMark(_ fd: Int32, _ on: Bool)
    /// fcntl(F_DUPFD_CLOEXEC) from the high base: a copy out of the program's way, or -1.
    func dupHigh(_ fd: Int32) -> Int32
    /// dupHigh, then close(2) of the original; fd itself when already high or there is no room.
    func moveHigh(_ fd: Int32) -> Int32

    // An asynchronous tunnel and the program's epoll sets (sx_epoll_arm, sx_epoll_restore).
    /// The socket's epoll registration, if the program made one, now waits for what the tunnel needs.
    func armWaits(_ fd: Int32, _ need: TunnelNeed)
    /// The program's own registration back.
    func restoreWaits(_ fd: Int32)

    // A pipelined handshake.
    /// setsockopt(TCP_QUICKACK, 1): acknowledge what arrives next at once (Linux turns it off
    /// again by itself, so it is set before each wait it matters for).
    func setQuickAck(_ fd: Int32) -> Int32
}

/// The real kernel, through the real libc calls.
public final class RealKernel: Kernel, @unchecked Sendable {
    public static let shared = RealKernel()

    public var errno: Int32 {
        get { sx_errno() }
        set { sx_set_errno(newValue) }
    }
    public func socket(_ domain: Int32, _ type: Int32) -> Int32 { sx_real_socket(domain, type, 0) }
    public func close(_ fd: Int32) -> Int32 { sx_real_close(fd) }
    public func dup3(_ fd: Int32, _ copy: Int32, _ flags: Int32) -> Int32 { sx_real_dup3(fd, copy, flags) }
    public func connectWithoutWaiting(_ fd: Int32, _ endpoint: Endpoint) -> Int32 {
        Int32(truncatingIfNeeded: endpoint.withSockaddr { sx_real_sendto(fd, nil, 0, Int32(bitPattern: 0x2000_0000) /* MSG_FASTOPEN */ | Int32(MSG_DONTWAIT), $0, $1) })
    }
    public func connect(_ fd: Int32, _ endpoint: Endpoint) -> Int32 {
        endpoint.withSockaddr { sx_real_connect(fd, $0, $1) }
    }
    public func disconnect(_ fd: Int32) -> Int32 { sx_disconnect(fd) }
    public func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ flags: Int32) -> Int {
        sx_real_send(fd, bytes.baseAddress, bytes.count, flags)
    }
    public func receive(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, _ flags: Int32) -> Int {
        sx_real_recv(fd, buffer.baseAddress, buffer.count, flags)
    }
    public func poll(_ fd: Int32, _ events: Int16, _ milliseconds: Int32) -> Int32 {
        var descriptor = pollfd(fd: fd, events: events, revents: 0)
        return sx_real_poll(&descriptor, 1, milliseconds)
    }
    public func statusFlags(_ fd: Int32) -> Int32 { sx_get_status_flags(fd) }
    public func setStatusFlags(_ fd: Int32, _ flags: Int32) -> Int32 { sx_set_status_flags(fd, flags) }
    public func descriptorFlags(_ fd: Int32) -> Int32 { sx_get_descriptor_flags(fd) }
    public func socketDomain(_ fd: Int32) -> Int32 { sx_socket_domain(fd) }
    public func isV6Only(_ fd: Int32) -> Bool { sx_socket_v6only(fd) != 0 }
    public func signalInterrupts() -> Bool { sx_signal_interrupts() != 0 }
    public func monotonicNanoseconds() -> UInt64 { sx_monotonic_ns() }
    public func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>?, _ length: socklen_t) -> Int32 {
        sx_real_connect(fd, address, length)
    }
    public func socketType(_ fd: Int32) -> Int32 { sx_socket_type(fd) }
    public func socketProtocol(_ fd: Int32) -> Int32 { sx_socket_protocol(fd) }
    public func facts(_ fd: Int32) -> Int32 { sx_fd_facts(fd) }
    public func setFacts(_ fd: Int32, _ mask: Int32, _ bits: Int32) { _ = sx_fd_facts_set(fd, mask, bits) }
    public func sendTimeoutMilliseconds(_ fd: Int32) -> Int? {
        let ms = sx_socket_send_timeout_ms(fd)
        return ms > 0 ? Int(ms) : nil
    }
    public func sendMessage(_ fd: Int32, _ message: UnsafePointer<msghdr>, _ flags: Int32) -> Int {
        sx_real_sendmsg(fd, message, flags)
    }
    public func receiveMessage(_ fd: Int32, _ message: UnsafeMutablePointer<msghdr>, _ flags: Int32) -> Int {
        sx_real_recvmsg(fd, message, flags)
    }
    public func bind(_ fd: Int32, _ address: [UInt8]) -> Int32 {
        address.withUnsafeBytes { sx_real_bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count)) }
    }
    public func localPort(_ fd: Int32) -> Int32 { sx_socket_local_port(fd) }
    public func socketInode(_ fd: Int32) -> UInt64 { sx_socket_inode(fd) }
    public func random(below bound: UInt32) -> UInt32 { arc4random_uniform(bound) }
    public func udpMarked(_ fd: Int32) -> Bool { sx_udp_marked(fd) != 0 }
    public func setUDPMark(_ fd: Int32, _ on: Bool) { _ = sx_udp_mark(fd, on ? 1 : 0) }
    public func setOwnMark(_ fd: Int32, _ on: Bool) { _ = sx_own_mark(fd, on ? 1 : 0) }
    public func dupHigh(_ fd: Int32) -> Int32 { sx_dup_high(fd) }
    public func moveHigh(_ fd: Int32) -> Int32 { sx_move_high(fd) }
    public func armWaits(_ fd: Int32, _ need: TunnelNeed) { sx_epoll_arm(fd, need == .writable ? 1 : 2) }
    public func restoreWaits(_ fd: Int32) { sx_epoll_restore(fd) }
    public func setQuickAck(_ fd: Int32) -> Int32 {
        var on: Int32 = 1
        return sx_real_setsockopt(fd, Int32(IPPROTO_TCP), TCP_QUICKACK, &on, socklen_t(MemoryLayout<Int32>.size))
    }
}
