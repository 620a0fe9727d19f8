import SocksifyLibc

/// One SOCKS5 UDP association: the TCP control connection that keeps it alive, and the relay
/// the program's datagrams go to, wrapped in the RFC 1928 header.
public final class UDPAssociation: @unchecked Sendable {
    /// The control connection's descriptor: the shim's own, moved when the program takes its number.
    public private(set) var control: Int32
    public let relay: Endpoint
    public let proxyLabel: String
    /// Where its system calls go: the real kernel, or a fake in unit tests.
    let kernel: Kernel
    /// The program socket's family (AF_INET or AF_INET6), asked once rather than per datagram.
    public let family: Int32
    /// The relay as the program's socket addresses it, as sockaddr bytes.
    let relayAddress: [UInt8]
    /// When the control connection was last found alive: checked at most every 50 ms.
    private var checkedAt: UInt64 = 0
    /// For a connected UDP socket: where send/write go, as the program named it and as asked.
    /// Read and written under the process lock: threads share sockets.
    public var peer: (endpoint: Endpoint, asked: SocksDestination)? {
        get { sx_lock(); defer { sx_unlock() }; return storedPeer }
        set { sx_lock(); storedPeer = newValue; sx_unlock() }
    }
    private var storedPeer: (endpoint: Endpoint, asked: SocksDestination)? = nil
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
        return directPeers.contains { Endpoint.sameHost($0, source) }
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

    init(control: Int32, relay: Endpoint, proxyLabel: String, family: Int32, kernel: Kernel) {
        self.kernel = kernel
        self.control = kernel.moveHigh(control)
        kernel.setOwnMark(self.control, true)
        self.relay = relay
        self.proxyLabel = proxyLabel
        self.family = family
        relayAddress = (family == AF_INET6 ? relay.asIPv6 : relay).sockaddrBytes
    }

    /// False once the proxy has closed the control connection (it ends the association).
    func isAlive() -> Bool {
        let now = kernel.monotonicNanoseconds()
        sx_lock()
        let skip = dead || now &- checkedAt < 50_000_000
        let fd = control
        if !skip { checkedAt = now }
        let known = !dead
        sx_unlock()
        if skip { return known }
        guard kernel.poll(fd, Int16(POLLIN), 0) > 0 else { return true }
        var byte: UInt8 = 0
        let n = withUnsafeMutableBytes(of: &byte) { kernel.receive(fd, $0, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT)) }
        guard n == 0 || (n < 0 && kernel.errno != EAGAIN && kernel.errno != EINTR) else { return true }
        sx_lock()
        dead = true
        sx_unlock()
        return false
    }

    /// Moves the control connection to another high number (called under the lock).
    fileprivate func relocate() {
        let moved = kernel.dupHigh(control)
        kernel.setOwnMark(control, false)
        guard moved >= 0 else { dead = true; control = -1; return }  // no room: the association ends
        control = moved
        kernel.setOwnMark(moved, true)
    }
}

/// The associations of a process, by socket (inode) and by descriptor number; the descriptor
/// marks in C let the read/write/recv interposers skip everything else with one load.
public final class UDPAssociations: @unchecked Sendable {
    private var bySocket: [UInt64: UDPAssociation] = [:]
    private var byDescriptor: [Int32: UDPAssociation] = [:]
    let kernel: Kernel

    public init(kernel: Kernel = RealKernel.shared) { self.kernel = kernel }

    public func of(_ fd: Int32) -> UDPAssociation? {
        guard kernel.udpMarked(fd) else { return nil }
        sx_lock()
        defer { sx_unlock() }
        return byDescriptor[fd]
    }

    /// The association of the socket behind `fd` if another descriptor of it has one (a dup).
    public func ofSocket(_ fd: Int32) -> UDPAssociation? {
        let inode = kernel.socketInode(fd)
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
        kernel.setUDPMark(fd, true)
    }

    /// close(2), or dup2/dup3 over it: the descriptor no longer refers to the socket.
    public func detach(_ fd: Int32) {
        kernel.setUDPMark(fd, false)
        sx_lock()
        var closing: UDPAssociation? = nil
        if let association = byDescriptor.removeValue(forKey: fd) {
            association.descriptors -= 1
            if association.descriptors == 0 {
                closing = association
                for (inode, other) in bySocket where other === association { bySocket.removeValue(forKey: inode) }
            }
        }
        let control = closing?.control ?? -1
        if control >= 0 { kernel.setOwnMark(control, false) }
        sx_unlock()
        if control >= 0 { _ = kernel.close(control) }
    }

    /// The program is about to close or replace `fd`, which the shim owns: move it first.
    public func relocateControl(_ fd: Int32) {
        sx_lock()
        for association in byDescriptor.values where association.control == fd {
            association.relocate()
            break
        }
        sx_unlock()
    }

    /// dup2/dup3/F_DUPFD: the copy shares the association.
    public func duplicate(_ fd: Int32, to copy: Int32) {
        sx_lock()
        let association = byDescriptor[fd]
        sx_unlock()
        if let association { attach(association, to: copy, inode: kernel.socketInode(copy)) }
    }
}
