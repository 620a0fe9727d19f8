import SocksifyLibc

/// One SOCKS5 UDP association: the TCP control connection that keeps it alive, and the relay
/// the program's datagrams go to, wrapped in the RFC 1928 header.
public final class UDPAssociation: @unchecked Sendable {
    public let control: Int32
    public let relay: Endpoint
    public let proxyLabel: String
    /// The program socket's family (AF_INET or AF_INET6), asked once rather than per datagram.
    public let family: Int32
    /// The relay as the program's socket addresses it, as sockaddr bytes.
    let relayAddress: [UInt8]
    /// When the control connection was last found alive: checked at most every 50 ms.
    private var checkedAt: UInt64 = 0
    /// For a connected UDP socket: where send/write go, as the program named it and as asked.
    public var peer: (endpoint: Endpoint, asked: SocksDestination)? = nil
    /// Descriptors that refer to the socket; the control connection closes with the last.
    var descriptors = 0
    var dead = false
    /// Peers the socket sends to directly (rules say direct): their replies are not wrapped.
    private var directPeers: [Endpoint] = []
    /// Names sent to through the proxy, by port: replies, which the proxy reports from the
    /// address it resolved, are shown as coming from the synthetic address the program used.
    private var namedPeers: [(port: UInt16, endpoint: Endpoint)] = []

    public func noteDirectPeer(_ peer: Endpoint) {
        sx_lock()
        if !directPeers.contains(peer) {
            if directPeers.count >= 16 { directPeers.removeFirst() }
            directPeers.append(peer)
        }
        sx_unlock()
    }

    public func isDirectPeer(_ source: Endpoint) -> Bool {
        sx_lock()
        defer { sx_unlock() }
        return directPeers.contains { ConnectDecision.sameHost($0, source) }
    }

    public func noteNamedPeer(_ peer: Endpoint) {
        sx_lock()
        namedPeers.removeAll { $0.port == peer.port }
        if namedPeers.count >= 16 { namedPeers.removeFirst() }
        namedPeers.append((peer.port, peer))
        sx_unlock()
    }

    public func namedPeer(port: UInt16) -> Endpoint? {
        sx_lock()
        defer { sx_unlock() }
        return namedPeers.first { $0.port == port }?.endpoint
    }

    init(control: Int32, relay: Endpoint, proxyLabel: String, family: Int32) {
        self.control = control
        self.relay = relay
        self.proxyLabel = proxyLabel
        self.family = family
        relayAddress = (family == AF_INET6 ? relay.asIPv6 : relay).sockaddrBytes
    }

    /// False once the proxy has closed the control connection (it ends the association).
    func isAlive() -> Bool {
        if dead { return false }
        let now = sx_monotonic_ns()
        if now &- checkedAt < 50_000_000 { return true }
        checkedAt = now
        var descriptor = pollfd(fd: control, events: Int16(POLLIN), revents: 0)
        guard sx_real_poll(&descriptor, 1, 0) > 0 else { return true }
        var byte: UInt8 = 0
        let n = sx_real_recv(control, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
        if n == 0 || (n < 0 && sx_errno() != EAGAIN && sx_errno() != EINTR) { dead = true }
        return !dead
    }
}

/// The associations of a process, by socket (inode) and by descriptor number; the descriptor
/// marks in C let the read/write/recv interposers skip everything else with one load.
public final class UDPAssociations: @unchecked Sendable {
    private var bySocket: [UInt64: UDPAssociation] = [:]
    private var byDescriptor: [Int32: UDPAssociation] = [:]

    public init() {}

    public func of(_ fd: Int32) -> UDPAssociation? {
        guard sx_udp_marked(fd) != 0 else { return nil }
        sx_lock()
        defer { sx_unlock() }
        return byDescriptor[fd]
    }

    /// The association of the socket behind `fd` if another descriptor of it has one (a dup).
    public func ofSocket(_ fd: Int32) -> UDPAssociation? {
        let inode = sx_socket_inode(fd)
        sx_lock()
        let found = bySocket[inode]
        sx_unlock()
        if let found { attach(found, to: fd, inode: inode) }
        return found
    }

    public func attach(_ association: UDPAssociation, to fd: Int32, inode: UInt64) {
        sx_lock()
        if byDescriptor[fd] == nil {
            byDescriptor[fd] = association
            association.descriptors += 1
        }
        bySocket[inode] = association
        sx_unlock()
        _ = sx_udp_mark(fd, 1)
    }

    /// close(2), or dup2/dup3 over it: the descriptor no longer refers to the socket.
    public func detach(_ fd: Int32) {
        _ = sx_udp_mark(fd, 0)
        sx_lock()
        var closing: UDPAssociation? = nil
        if let association = byDescriptor.removeValue(forKey: fd) {
            association.descriptors -= 1
            if association.descriptors == 0 {
                closing = association
                for (inode, other) in bySocket where other === association { bySocket.removeValue(forKey: inode) }
            }
        }
        sx_unlock()
        if let closing { _ = sx_real_close(closing.control) }
    }

    /// dup2/dup3/F_DUPFD: the copy shares the association.
    public func duplicate(_ fd: Int32, to copy: Int32) {
        sx_lock()
        let association = byDescriptor[fd]
        sx_unlock()
        if let association { attach(association, to: copy, inode: sx_socket_inode(copy)) }
    }
}
