import SocksifyLibc

/// Returned to the C interposers: "not ours, call libc with the program's own arguments".
public let passToLibc = Int(SX_PASS)

extension Shim {
    enum DatagramRoute {
        case direct
        case refuse(errno: Int32, String)
        /// Through the first working one of these proxies; `asked` is what the header names.
        case proxy([Int], asked: SocksDestination)
    }

    /// Where a datagram to `destination` goes: the verdict, with what the proxy is asked for.
    /// Also for protocols no proxy carries (the verdict refuses them where it would proxy).
    func routeDatagram(to destination: Endpoint, transport: TransportKind = .udp) -> DatagramRoute {
        let attempt = trafficAttempt(transport, to: destination)
        switch TrafficVerdict.decide(attempt, policy) {
        case .direct: return .direct
        case .refuse(let errno, let why): return .refuse(errno: errno, why)
        case .proxy(let action, _):
            let asked = askedFor(attempt, destination)
            switch action {
            case .via(let proxy): return .proxy([proxy], asked: asked)
            case .failover(let candidates): return .proxy(candidates, asked: asked)
            case .chain, .direct, .block: return .refuse(errno: EPERM, "not a datagram route")  // not reached
            }
        }
    }

    /// sendto, sendmsg, send, write on a socket: wraps datagrams for an association, lets
    /// direct ones go (passToLibc), refuses the rest. Returns bytes sent or -1 with errno.
    public func sendDatagram(_ fd: Int32, _ message: UnsafePointer<msghdr>, flags: Int32) -> Int {
        let named = message.pointee.msg_name
        var association = associations.of(fd)
        let asked: SocksDestination
        let candidates: [Int]
        var namedDestination: Endpoint? = nil
        if let named {
            let nameLength = socklen_t(message.pointee.msg_namelen)
            guard let destination = Endpoint(sockaddr: UnsafeRawPointer(named), length: Int(nameLength))
                ?? unspecifiedAsIPv4(fd, named, nameLength) else {
                guard let family = Shim.internetFamily(named.assumingMemoryBound(to: sockaddr.self), nameLength) else { return passToLibc }
                log.error("send refused: an " + family + " address socksify cannot read (" + String(nameLength) + " bytes); program sees EINVAL")
                return Int(fail(EINVAL))
            }
            if association == nil, let other = sendOnOtherSocket(fd, destination: destination, message: message, flags: flags) {
                return other
            }
            switch routeDatagram(to: destination) {
            case .direct:
                association?.noteDirectPeer(destination)
                return passToLibc
            case .refuse(let errno, let why):
                log.error("send to " + destination.text + " refused: " + why + "; program sees " + ErrnoName.name(errno))
                return Int(fail(errno))
            case .proxy(let list, let target):
                asked = target
                candidates = list
                if case .domain = target.address { namedDestination = destination }
            }
        } else {
            guard let association, let peer = association.peer else { return passToLibc }
            asked = peer.asked
            candidates = []
        }
        if association == nil {
            association = associations.ofSocket(fd) ?? openAssociation(fd, candidates: candidates, for: asked)
            guard association != nil else { return -1 }
        }
        if let namedDestination { association!.noteNamedPeer(namedDestination) }
        return sendWrapped(fd, association!, asked: asked, message: message, flags: flags)
    }

    /// AF_UNSPEC with a sockaddr_in's length, on an IPv4 socket that is not a stream: Linux's
    /// UDP (and UDP-Lite, raw) send reads it as AF_INET, so it is routed as that address.
    func unspecifiedAsIPv4(_ fd: Int32, _ name: UnsafeMutableRawPointer, _ length: socklen_t) -> Endpoint? {
        guard length >= 16, Int32(name.load(as: sa_family_t.self)) == AF_UNSPEC,
              kernel.socketDomain(fd) == AF_INET, kernel.socketType(fd) != Int32(SOCK_STREAM.rawValue) else { return nil }
        var bytes = [UInt8](repeating: 0, count: 16)
        bytes.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(start: name, count: 16)) }
        withUnsafeBytes(of: sa_family_t(AF_INET)) { bytes[0] = $0[0]; bytes[1] = $0[1] }
        return bytes.withUnsafeBytes { Endpoint(sockaddr: $0.baseAddress!, length: 16) }
    }

    /// A send with a destination on a socket that is not UDP: TCP Fast Open connects (through
    /// the proxy, as connect would) and then sends; a stream ignores the name otherwise; other
    /// protocols get the verdict for protocols no proxy carries. nil: a UDP socket, routed by
    /// the caller.
    func sendOnOtherSocket(_ fd: Int32, destination: Endpoint, message: UnsafePointer<msghdr>, flags: Int32) -> Int? {
        guard let kind = transport(of: fd) else { return passToLibc }  // not a socket: the kernel says so
        switch kind {
        case .udp: return nil
        case .tcp:
            let fastOpen = Int32(bitPattern: 0x2000_0000)  // MSG_FASTOPEN
            guard flags & fastOpen != 0 else { return passToLibc }  // a connected stream ignores the name
            return sendFastOpen(fd, message: message, flags: flags & ~fastOpen)
        case .otherDatagram, .otherStream:
            switch routeDatagram(to: destination, transport: kind) {
            case .direct: return passToLibc
            case .refuse(let errno, let why):
                log.error("send to " + destination.text + " refused: " + why + "; program sees " + ErrnoName.name(errno))
                return Int(fail(errno))
            case .proxy: return Int(fail(EPERM))  // not reached
            }
        }
    }

    /// TCP Fast Open (sendto/sendmsg with MSG_FASTOPEN): connect, through the proxy where the
    /// rules say so, then send the data; the SYN no longer carries it, the data still arrives.
    func sendFastOpen(_ fd: Int32, message: UnsafePointer<msghdr>, flags: Int32) -> Int {
        let connected = connect(fd, message.pointee.msg_name.assumingMemoryBound(to: sockaddr.self), message.pointee.msg_namelen)
        guard connected == 0 else { return -1 }  // errno from connect (EINPROGRESS included, as TFO gives it)
        var unnamed = message.pointee
        unnamed.msg_name = nil
        unnamed.msg_namelen = 0
        return kernel.sendMessage(fd, &unnamed, flags)
    }

    func sendWrapped(_ fd: Int32, _ association: UDPAssociation, asked: SocksDestination,
                     message: UnsafePointer<msghdr>, flags: Int32) -> Int {
        guard association.isAlive() else {
            log.error("send to " + asked.text + " failed: " + association.proxyLabel + " closed the UDP association; program sees ECONNRESET")
            return Int(fail(ECONNRESET))
        }
        var header: [UInt8]
        do throws(SocksError) {
            header = try Socks5UDPHeader(address: asked).encode()
        } catch {
            return Int(fail(error.errno))
        }
        let count = Int(message.pointee.msg_iovlen)
        var payload = 0
        for i in 0..<count { payload += message.pointee.msg_iov[i].iov_len }
        // The largest UDP payload over the relay's family (IPv4 65507, IPv6 65527).
        guard payload + header.count <= (association.relay.family == AF_INET6 ? 65527 : 65507) else { return Int(fail(EMSGSIZE)) }

        var relayBytes = association.relayAddress
        return header.withUnsafeMutableBytes { headerBytes in
            relayBytes.withUnsafeMutableBytes { relayRaw in
                var vectors = [iovec](repeating: iovec(), count: count + 1)
                vectors[0] = iovec(iov_base: headerBytes.baseAddress, iov_len: headerBytes.count)
                for i in 0..<count { vectors[i + 1] = message.pointee.msg_iov[i] }
                return vectors.withUnsafeMutableBufferPointer { vectorBuffer in
                    var wrapped = msghdr()
                    wrapped.msg_name = relayRaw.baseAddress
                    wrapped.msg_namelen = socklen_t(relayRaw.count)
                    wrapped.msg_iov = vectorBuffer.baseAddress
                    wrapped.msg_iovlen = vectorBuffer.count
                    wrapped.msg_control = message.pointee.msg_control
                    wrapped.msg_controllen = message.pointee.msg_controllen
                    let sent = kernel.sendMessage(fd, &wrapped, flags)
                    return sent < 0 ? -1 : max(0, sent - headerBytes.count)
                }
            }
        }
    }

    /// Opens the association for `fd` with the first candidate proxy that works.
    func openAssociation(_ fd: Int32, candidates: [Int], for asked: SocksDestination) -> UDPAssociation? {
        let now = kernel.monotonicNanoseconds()
        var order = candidates.filter { !roster.isDead($0, now: now) }
        if order.isEmpty { order = candidates }
        var lastErrno = EHOSTUNREACH
        for candidate in order {
            let label = roster.label(candidate)
            let what = "udp " + asked.text + " via " + label
            let start = kernel.monotonicNanoseconds()
            switch associate(fd, proxy: candidate, label: label) {
            case .success(let association):
                if log.verbose {
                    log.info(what + " association ok (relay " + association.relay.text + ") " + Log.milliseconds(kernel.monotonicNanoseconds() - start))
                }
                return association
            case .failure(let error):
                log.error(what + " failed: " + error.reason + "; program sees " + ErrnoName.name(error.errno))
                lastErrno = error.errno
                guard error.isProxyFailure, candidates.count > 1 else { return fail(lastErrno) == 0 ? nil : nil }
                roster.markDead(candidate, until: kernel.monotonicNanoseconds() + UInt64(router.rules.options.failoverRetryMilliseconds) * 1_000_000)
            }
        }
        _ = fail(lastErrno)
        return nil
    }

    func associate(_ fd: Int32, proxy index: Int, label: String) -> Result<UDPAssociation, SocksError> {
        let spec = roster.proxies[index].spec
        guard spec.proto.carriesUDP else {
            let why = spec.proto == .http ? "HTTP CONNECT cannot carry UDP" : "SOCKS4 cannot carry UDP"
            return .failure(.unsupportedDestination(why + " (the proxy is " + spec.proto.scheme + ")"))
        }
        if let missing = roster.proxies[index].missingSecret { return .failure(.missingPassword(missing)) }
        let endpoint: Endpoint
        switch roster.endpoint(index) {
        case .success(let found): endpoint = found
        case .failure(let problem): return .failure(.invalidRequest(problem.message))
        }
        let control = kernel.socket(endpoint.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
        guard control >= 0 else { return .failure(.io(errno: kernel.errno)) }
        let relay: Endpoint
        do throws(SocksError) {
            relay = try ProxyTunnel.associate(control: control, proxy: spec, at: endpoint, timeouts: settings.timeouts, kernel: kernel)
            if kernel.socketDomain(fd) == AF_INET && relay.family == AF_INET6 {
                throw SocksError.unsupportedDestination("the UDP relay is IPv6 and the socket IPv4")
            }
            try bindIfNeeded(fd)
        } catch {
            _ = kernel.close(control)
            if case .socks5Refused(let code) = error, code == .commandNotSupported {
                return .failure(.socks5Refused(code))  // microsocks: "command not supported"
            }
            return .failure(error)
        }
        let association = UDPAssociation(control: control, relay: relay, proxyLabel: label, family: kernel.socketDomain(fd), kernel: kernel)
        associations.attach(association, to: fd, inode: kernel.socketInode(fd))
        return .success(association)
    }

    /// A socket that has not sent yet has no port; datagrams from the relay need one to reach it.
    /// The port is chosen here rather than by bind(0): Linux keeps only an explicitly bound
    /// port when the program later dissolves a UDP "connection" (connect AF_UNSPEC), and the
    /// relay knows the socket by its port.
    func bindIfNeeded(_ fd: Int32) throws(SocksError) {
        guard kernel.localPort(fd) == 0 else { return }
        for _ in 0..<32 {
            let port = UInt16(32768 + kernel.random(below: 28232))  // Linux's default ephemeral range
            if bind(fd, port: port) == 0 { return }
            if kernel.errno != EADDRINUSE { break }
        }
        if bind(fd, port: 0) != 0 && kernel.errno != EINVAL { throw .io(errno: kernel.errno) }
    }

    func bind(_ fd: Int32, port: UInt16) -> Int32 {
        let any = kernel.socketDomain(fd) == AF_INET6 ? Endpoint(.v6(IPv6Address(high: 0, low: 0)), port: port) : Endpoint(.v4(IPv4Address(0)), port: port)
        return kernel.bind(fd, any.sockaddrBytes)
    }

    /// connect(2) on a UDP socket whose destination goes through a proxy: the socket is
    /// connected to the relay (so only the relay's datagrams arrive) and send/write use `peer`.
    func connectDatagram(_ fd: Int32, destination: Endpoint, address: UnsafePointer<sockaddr>, length: socklen_t) -> Int32 {
        switch routeDatagram(to: destination) {
        case .direct:
            if let association = associations.of(fd) {
                association.peer = nil
                association.noteDirectPeer(destination)
            }
            return kernel.connect(fd, address, length)
        case .refuse(let errno, let why):
            log.error("connect udp " + destination.text + " refused: " + why + "; program sees " + ErrnoName.name(errno))
            return fail(errno)
        case .proxy(let candidates, let asked):
            guard kernel.socketProtocol(fd) == Int32(IPPROTO_UDP) else { return kernel.connect(fd, address, length) }
            guard let association = associations.of(fd) ?? associations.ofSocket(fd) ?? openAssociation(fd, candidates: candidates, for: asked) else {
                return -1
            }
            association.peer = (destination, asked)
            let relay = kernel.socketDomain(fd) == AF_INET6 ? association.relay.asIPv6 : association.relay
            let bytes = relay.sockaddrBytes
            return bytes.withUnsafeBytes { kernel.connect(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count)) }
        }
    }

    /// recvfrom, recvmsg, recv, read on a socket with an association: unwraps one datagram from
    /// the relay, dropping anything else (other senders, fragments, malformed headers).
    public func receiveDatagram(_ fd: Int32, _ message: UnsafeMutablePointer<msghdr>, flags: Int32) -> Int {
        guard let association = associations.of(fd) else { return passToLibc }
        let count = Int(message.pointee.msg_iovlen)
        var room = 0
        for i in 0..<count { room += message.pointee.msg_iov[i].iov_len }
        // Not zero-filled: the kernel writes what is read, and this runs for every datagram.
        let capacity = min(room, 65535) + Socks5UDPHeader.maximumLength
        var buffer = [UInt8](unsafeUninitializedCapacity: capacity) { _, count in count = capacity }
        let controlLength = message.pointee.msg_controllen
        while true {
            var from = [UInt8](repeating: 0, count: 128)
            let (received, fromLength, controlUsed, receivedFlags): (Int, Int, Int, Int32) = buffer.withUnsafeMutableBytes { raw in
                from.withUnsafeMutableBytes { fromRaw in
                    var vector = iovec(iov_base: raw.baseAddress, iov_len: raw.count)
                    var ours = msghdr()
                    ours.msg_name = fromRaw.baseAddress
                    ours.msg_namelen = socklen_t(fromRaw.count)
                    ours.msg_iov = withUnsafeMutablePointer(to: &vector) { $0 }
                    ours.msg_iovlen = 1
                    ours.msg_control = message.pointee.msg_control
                    ours.msg_controllen = controlLength
                    let n = kernel.receiveMessage(fd, &ours, flags)
                    return (n, Int(ours.msg_namelen), Int(ours.msg_controllen), ours.msg_flags)
                }
            }
            if received < 0 { return -1 }
            let source = from.withUnsafeBytes { Endpoint(sockaddr: $0.baseAddress!, length: min(fromLength, 128)) }
            let fromRelay = source.map { Endpoint.sameHost($0, association.relay) } ?? false
            var payloadOffset = 0
            var shownSource: Endpoint? = source
            var accepted = false
            if fromRelay {
                let decoded = buffer.withUnsafeBytes { raw -> (header: Socks5UDPHeader, dataOffset: Int)? in
                    do throws(SocksError) {
                        return try Socks5UDPHeader.decode(UnsafeRawBufferPointer(rebasing: raw[0..<received]))
                    } catch {
                        return nil
                    }
                }
                if let (header, offset) = decoded, header.fragment == 0, let sender = programView(of: header.address, association) {
                    accepted = true
                    payloadOffset = offset
                    shownSource = sender
                }
            } else if let source, association.isDirectPeer(source) {
                accepted = true  // a reply from a peer the rules send to directly: as it is
            }
            guard accepted else {
                // Not a datagram for the program: consume it if it was only peeked, then wait
                // for the next unless the program asked not to block.
                if flags & Int32(MSG_PEEK) != 0 { _ = kernel.receive(fd, UnsafeMutableRawBufferPointer(start: nil, count: 0), flags & ~Int32(MSG_PEEK)) }
                if flags & Int32(MSG_DONTWAIT) != 0 || kernel.statusFlags(fd) & O_NONBLOCK != 0 {
                    return Int(fail(EAGAIN))
                }
                continue
            }
            let data = received - payloadOffset
            var copied = 0
            for i in 0..<count where copied < data {
                let vector = message.pointee.msg_iov[i]
                let n = min(vector.iov_len, data - copied)
                if n > 0, let base = vector.iov_base {
                    buffer.withUnsafeBytes { base.copyMemory(from: $0.baseAddress! + payloadOffset + copied, byteCount: n) }
                }
                copied += n
            }
            if let shownSource { fillSource(message, shownSource, family: association.family) }
            message.pointee.msg_controllen = controlLength == 0 ? 0 : Int(controlUsed)
            message.pointee.msg_flags = (receivedFlags & ~Int32(MSG_TRUNC)) | (data > copied ? Int32(MSG_TRUNC) : 0)
            return flags & Int32(MSG_TRUNC) != 0 ? data : copied
        }
    }

    /// Who a relayed datagram is from, as the program should see it; nil to drop it. A connected
    /// socket hears only its peer (as the kernel would make it), shown as the program named it;
    /// a name the program reached through its synthetic address is shown as that address.
    func programView(of sender: SocksDestination, _ association: UDPAssociation) -> Endpoint? {
        if let peer = association.peer {
            switch (peer.asked.address, sender.address) {
            case (.ip(let wanted), .ip(let got)):
                let same = wanted.unmapped == got.unmapped && peer.asked.port == sender.port
                return same ? peer.endpoint : nil
            default:
                return peer.asked.port == sender.port ? peer.endpoint : nil  // a name: its address is the proxy's business
            }
        }
        switch sender.address {
        case .ip(let address):
            return association.namedPeer(port: sender.port) ?? Endpoint(address, port: sender.port)
        case .domain(let text):
            guard let table = names.table, let normalized = HostName.normalized(Array(text.utf8)) else { return nil }
            let position = table.position(for: normalized, poolSize: names.pool.size)
            return Endpoint(.v4(names.pool.ipv4(at: position)), port: sender.port)
        }
    }

    /// Writes the sender into msg_name, in the socket's family.
    func fillSource(_ message: UnsafeMutablePointer<msghdr>, _ source: Endpoint, family: Int32) {
        guard let name = message.pointee.msg_name else { return }
        source.write(to: name, length: &message.pointee.msg_namelen, asIPv6: family == AF_INET6)
    }

    /// getpeername of a connected UDP socket with an association: the peer the program named.
    func datagramPeer(_ fd: Int32) -> Endpoint? { associations.of(fd)?.peer?.endpoint }
}
