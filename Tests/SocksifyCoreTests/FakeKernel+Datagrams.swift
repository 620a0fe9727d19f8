import SocksifyLibc
@testable import SocksifyCore

/// What the fake kernel knows of datagrams: what the program's sockets sent and will receive,
/// their local ports and sockets (inodes), and the high numbers the shim keeps its own at.
struct FakeDatagrams {
    struct Datagram: Equatable {
        var fd: Int32
        /// The sockaddr it went to, or came from.
        var address: [UInt8]
        var bytes: [UInt8]
    }

    var sent: [Datagram] = []
    /// Waiting to be received, per descriptor, in order.
    var inbound: [Int32: [Datagram]] = [:]
    /// Bound ports; 0 (no entry) until the socket binds.
    var ports: [Int32: UInt16] = [:]
    /// The next binds that find their port taken.
    var portsInUse = 0
    /// What arc4random_uniform answers, in turn (then 0).
    var randoms: [UInt32] = []
    /// Explicit sockets behind numbers (a new socket at a reused number); otherwise a number is
    /// its own socket, and a dup's copy is the original's.
    var inodes: [Int32: UInt64] = [:]
    /// Where dupHigh and moveHigh put copies; nil: no room (EMFILE).
    var nextHigh: Int32? = 1000

    /// recv(2) on a datagram socket: the next datagram, cut to the buffer.
    mutating func receive(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, _ flags: Int32) -> Int {
        let next = flags & Int32(MSG_PEEK) == 0 ? inbound[fd]!.removeFirst() : inbound[fd]![0]
        let n = min(buffer.count, next.bytes.count)
        for i in 0..<n { buffer[i] = next.bytes[i] }
        return n
    }

    /// A datagram from `source` for the program's socket `fd`.
    mutating func deliver(to fd: Int32, from source: Endpoint, _ bytes: [UInt8]) {
        inbound[fd, default: []].append(Datagram(fd: fd, address: source.sockaddrBytes, bytes: bytes))
    }

    /// A datagram the relay passes on: the RFC 1928 UDP header naming the sender, then the data.
    mutating func relay(to fd: Int32, from relay: Endpoint, sender: Endpoint, _ data: [UInt8]) {
        let header = try! Socks5UDPHeader(address: SocksDestination(sender)).encode()
        deliver(to: fd, from: relay, header + data)
    }
}

extension FakeKernel {
    func sendMessage(_ fd: Int32, _ message: UnsafePointer<msghdr>, _ flags: Int32) -> Int {
        calls.append("sendmsg")
        let header = message.pointee
        let address = header.msg_name.map { Array(UnsafeRawBufferPointer(start: $0, count: Int(header.msg_namelen))) } ?? []
        var bytes: [UInt8] = []
        for i in 0..<Int(header.msg_iovlen) {
            let vector = header.msg_iov[i]
            if let base = vector.iov_base { bytes += UnsafeRawBufferPointer(start: base, count: vector.iov_len) }
        }
        udp.sent.append(FakeDatagrams.Datagram(fd: fd, address: address, bytes: bytes))
        return bytes.count
    }

    func receiveMessage(_ fd: Int32, _ message: UnsafeMutablePointer<msghdr>, _ flags: Int32) -> Int {
        calls.append("recvmsg")
        guard let next = udp.inbound[fd]?.first else { errno = EAGAIN; return -1 }
        if flags & Int32(MSG_PEEK) == 0 { udp.inbound[fd]!.removeFirst() }
        if let name = message.pointee.msg_name {
            let room = Int(message.pointee.msg_namelen)
            next.address.withUnsafeBytes { name.copyMemory(from: $0.baseAddress!, byteCount: min(room, next.address.count)) }
            message.pointee.msg_namelen = socklen_t(next.address.count)
        }
        var copied = 0
        for i in 0..<Int(message.pointee.msg_iovlen) where copied < next.bytes.count {
            let vector = message.pointee.msg_iov[i]
            let n = min(vector.iov_len, next.bytes.count - copied)
            if n > 0, let base = vector.iov_base {
                next.bytes.withUnsafeBytes { base.copyMemory(from: $0.baseAddress! + copied, byteCount: n) }
            }
            copied += n
        }
        message.pointee.msg_controllen = 0
        message.pointee.msg_flags = copied < next.bytes.count ? Int32(MSG_TRUNC) : 0
        return copied
    }

    func bind(_ fd: Int32, _ address: [UInt8]) -> Int32 {
        calls.append("bind")
        if udp.portsInUse > 0 {
            udp.portsInUse -= 1
            errno = EADDRINUSE
            return -1
        }
        guard let endpoint = address.withUnsafeBytes({ Endpoint(sockaddr: $0.baseAddress!, length: $0.count) }) else {
            errno = EINVAL
            return -1
        }
        udp.ports[fd] = endpoint.port == 0 ? 40000 : endpoint.port
        return 0
    }

    func localPort(_ fd: Int32) -> Int32 {
        calls.append("getsockname")
        return Int32(udp.ports[fd] ?? 0)
    }

    func socketInode(_ fd: Int32) -> UInt64 {
        calls.append("fstat")
        if let inode = udp.inodes[fd] { return inode }
        if let dup = dups.last(where: { $0.to == fd }) { return socketInode(dup.from) }
        return 10_000 + UInt64(UInt32(bitPattern: fd))
    }

    func random(below bound: UInt32) -> UInt32 {
        udp.randoms.isEmpty ? 0 : udp.randoms.removeFirst() % bound
    }

    func udpMarked(_ fd: Int32) -> Bool { facts(fd) & 1 != 0 }
    func setUDPMark(_ fd: Int32, _ on: Bool) { setFacts(fd, 1, on ? 1 : 0) }
    func setOwnMark(_ fd: Int32, _ on: Bool) { setFacts(fd, 2, on ? 2 : 0) }

    func dupHigh(_ fd: Int32) -> Int32 {
        calls.append("F_DUPFD_CLOEXEC")
        guard let high = udp.nextHigh else { errno = EMFILE; return -1 }
        udp.nextHigh = high + 1
        flags[high] = flags[fd]
        descriptorFlagsOf[high] = FD_CLOEXEC
        domain[high] = domain[fd]
        if connected.contains(fd) { connected.insert(high) }
        return high
    }

    func moveHigh(_ fd: Int32) -> Int32 {
        guard fd < 1000 else { return fd }
        let moved = dupHigh(fd)
        guard moved >= 0 else { return fd }  // no room: kept where it is
        _ = close(fd)
        return moved
    }
}
