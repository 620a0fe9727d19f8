import SocksifyLibc

/// How far the tunnel on one socket has got: the TCP connect to the first proxy, then one
/// exchange per hop. Every step is non-blocking and can be taken again after a signal ended a
/// wait: bytes handed out for sending and not yet sent stay in `unsent`, replies are read exactly
/// to their end (what follows is the destination's).
public struct TunnelProgress: Sendable {
    public let chain: [ProxySpec]
    public let destination: SocksDestination
    let proxyAddress: Endpoint
    let ownConnectDeadline: Deadline
    let handshakeMilliseconds: Int
    var ownHandshakeDeadline: Deadline
    /// A blocking socket's SO_SNDTIMEO, counted from the connect call; nil once the exchange
    /// goes on past it (the program's next call then waits for the outcome).
    public var programDeadline: Deadline? = nil
    var connectDeadline: Deadline { ownConnectDeadline.capped(by: programDeadline) }
    var handshakeDeadline: Deadline { ownHandshakeDeadline.capped(by: programDeadline) }
    public internal(set) var connected = false
    public internal(set) var hop = 0
    var exchange: ResumableHandshake? = nil
    /// Driven by a non-blocking program's waits (`advance`), never by waits of its own.
    public var asynchronous = false
    /// What an asynchronous tunnel waits for next.
    public var waitingFor: TunnelNeed = .writable
    /// The connect to a loopback proxy was not waited for: the first send tells its outcome.
    var connectUnconfirmed = false
    var unsent: [UInt8] = []
    /// The last hop's answer: the address the proxy connects to the destination from, when it
    /// gives a real one (an address kept plain: this struct is copied on the connect path).
    public internal(set) var bound: Endpoint? = nil

    /// A proxy's BND as an address getsockname can answer: nil for none, a name, or 0.0.0.0
    /// (what a proxy says when it does not tell).
    static func boundAddress(_ answer: SocksDestination?) -> Endpoint? {
        guard let answer, case .ip(let address) = answer.address else { return nil }
        switch address {
        case .v4(let a) where a.value == 0: return nil
        case .v6(let a) where a.high == 0 && a.low == 0: return nil
        default: return Endpoint(address, port: answer.port)
        }
    }

    public init(chain: [ProxySpec], destination: SocksDestination, proxy: Endpoint, timeouts: Timeouts, kernel: Kernel) {
        self.chain = chain
        self.destination = destination
        proxyAddress = proxy
        ownConnectDeadline = .after(milliseconds: timeouts.connectMilliseconds, on: kernel)
        handshakeMilliseconds = timeouts.handshakeMilliseconds
        ownHandshakeDeadline = ownConnectDeadline
    }

    /// The connect(2) call to the first proxy. `blockingFlags`: the flags of a blocking socket,
    /// made non-blocking for this call only (the rest uses MSG_DONTWAIT), so a signal handler
    /// that jumps out of the handshake cannot leave the program's socket non-blocking.
    mutating func start(fd: Int32, blockingFlags: Int32?, kernel: Kernel) throws(SocksError) {
        if blockingFlags != nil && proxyAddress.address.isLoopback {
            // A connect that never waits, whatever the socket's flags: sendto(MSG_FASTOPEN |
            // MSG_DONTWAIT) with no data, which leaves O_NONBLOCK alone (two fcntl fewer, and
            // nothing for a signal handler's jump to leave changed). Loopback only: the SYN
            // asks for a Fast Open cookie, which no middlebox on the way can drop there.
            let started = kernel.connectWithoutWaiting(fd, proxyAddress)
            let e = kernel.errno
            if started >= 0 || e == EINPROGRESS { return }  // finish learns the outcome from the first send
            let unsupported = e == EOPNOTSUPP || e == ENOPROTOOPT || e == EINVAL || e == EPROTONOSUPPORT || e == EAFNOSUPPORT
            if !unsupported {  // refused at once, or the program's own misuse, as connect says them
                if e == EISCONN || e == EALREADY { throw .socketState(errno: e) }
                throw .proxyUnreachable(errno: e)
            }
            // Fast Open turned off (net.ipv4.tcp_fastopen), or a protocol without it: as below.
        }
        if let blockingFlags { _ = kernel.setStatusFlags(fd, blockingFlags | O_NONBLOCK) }
        let result = kernel.connect(fd, proxyAddress)
        let e = kernel.errno
        if let blockingFlags { _ = kernel.setStatusFlags(fd, blockingFlags) }
        if result == 0 { connected = true; return }
        if e == EISCONN || e == EALREADY { throw .socketState(errno: e) }  // the program's own misuse
        guard e == EINPROGRESS || e == EINTR || e == EAGAIN else { throw .proxyUnreachable(errno: e) }
    }

    /// Everything after the connect call, as far as it goes: done, failed, or interrupted
    /// (`.socketState(EINTR)`, the progress kept).
    public mutating func finish(fd: Int32, kernel: Kernel = RealKernel.shared) throws(SocksError) {
        if !connected {
            if chain.isEmpty || !proxyAddress.address.isLoopback {
                guard try waitFor(fd, events: Int16(POLLOUT), until: connectDeadline, on: kernel) else {
                    throw .timedOut(phase: "connecting to the proxy")
                }
                // Connect once more: it answers the outcome (0, or the error SO_ERROR would give)
                // and moves the socket out of "connecting".
                if kernel.connect(fd, proxyAddress) != 0 && kernel.errno != EISCONN {
                    throw .proxyUnreachable(errno: kernel.errno)
                }
            } else {
                // On loopback the kernel has finished the TCP handshake (or refused it) before
                // connect returns: the greeting goes out at once and its send tells the outcome,
                // sparing a poll and a second connect. The socket stays "connecting" for the
                // kernel's connect(), which the shim answers itself (EISCONN) once it is a tunnel.
                connectUnconfirmed = true
            }
            connected = true
        }
        while hop < chain.count {
            let next = hop + 1 < chain.count ? ProxyTunnel.address(of: chain[hop + 1]) : destination
            if exchange == nil {
                // The common case: the exchange straight through, recording what it takes to
                // go on should a signal end a wait.
                ownHandshakeDeadline = .after(milliseconds: handshakeMilliseconds, on: kernel)
                var live = RecordingTransport(fd: fd, deadline: handshakeDeadline, kernel: kernel,
                                              connectUnconfirmed: connectUnconfirmed)
                connectUnconfirmed = false
                do throws(SocksError) {
                    let answer = try ClientHandshake.connect(over: &live, proxy: chain[hop], to: next)
                    if hop == chain.count - 1 { bound = TunnelProgress.boundAddress(answer) }
                    hop += 1
                    continue
                } catch {
                    if case .socketState(let e) = error, e == EINTR || e == EINPROGRESS {
                        exchange = ResumableHandshake(proxy: chain[hop], destination: next, received: live.received,
                                                      sendsMade: live.sendsMade)
                        unsent = live.unsent
                    }
                    throw error
                }
            }
            // After an interruption: the rest taken step by step (advance: the exchange replayed
            // over what the proxy already sent), waiting for the socket before each.
            while let need = try advance(fd: fd, kernel: kernel) {
                let events = Int16(need == .writable ? POLLOUT : POLLIN)
                guard try waitFor(fd, events: events, until: handshakeDeadline, on: kernel) else {
                    throw .timedOut(phase: need == .writable ? "sending to the proxy" : "waiting for the proxy's reply")
                }
            }
            return
        }
    }
}

/// Reads one reply into `buffer` until it holds `total` bytes; further (up to `upTo`) only
/// within a read that brings the rest anyway (what follows a reply is the destination's). Waits
/// first when nothing of it has arrived: a reply is a round trip away, so a recv first would only
/// say EAGAIN (`arrived`: a look-ahead just saw them). Received bytes stay in `buffer` when it throws.
func receiveReply(fd: Int32, into buffer: inout [UInt8], total: Int, upTo: Int? = nil, deadline: Deadline, kernel: Kernel,
                  arrived: Bool = false) throws(SocksError) {
    let limit = max(total, upTo ?? total)
    var wait = buffer.isEmpty && !arrived
    buffer.reserveCapacity(max(total, 64))  // one allocation for a reply read in two parts
    while buffer.count < total {
        if wait {
            guard try waitFor(fd, events: Int16(POLLIN), until: deadline, on: kernel) else {
                throw .timedOut(phase: "waiting for the proxy's reply")
            }
        }
        let want = min(limit - buffer.count, 256)
        let n = withUnsafeTemporaryAllocation(byteCount: 256, alignment: 1) { chunk in
            let n = kernel.receive(fd, UnsafeMutableRawBufferPointer(rebasing: chunk[0..<want]), Int32(MSG_DONTWAIT))
            if n > 0 { buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<n])) }
            return n
        }
        if n > 0 { wait = false; continue }
        if n == 0 { throw .closedByProxy(received: buffer.count, expected: total) }
        let e = kernel.errno
        if e == EINTR { continue }
        if e == ECONNRESET { throw .closedByProxy(received: buffer.count, expected: total) }
        guard e == EAGAIN || e == EWOULDBLOCK else { throw .io(errno: e) }
        wait = true
    }
}

/// Up to `upTo` bytes the proxy has sent, left unread (MSG_PEEK), after waiting for the first;
/// empty when it has closed.
func peekReply(fd: Int32, upTo: Int, deadline: Deadline, kernel: Kernel) throws(SocksError) -> [UInt8] {
    let want = min(max(upTo, 1), 1024)
    while true {
        // Wait first: the caller asks only when the bytes it has are not enough.
        guard try waitFor(fd, events: Int16(POLLIN), until: deadline, on: kernel) else {
            throw .timedOut(phase: "waiting for the proxy's reply")
        }
        let n = withUnsafeTemporaryAllocation(byteCount: 1024, alignment: 1) { chunk -> (Int, [UInt8]) in
            let n = kernel.receive(fd, UnsafeMutableRawBufferPointer(rebasing: chunk[0..<want]), Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
            return (n, n > 0 ? Array(UnsafeRawBufferPointer(rebasing: chunk[0..<n])) : [])
        }
        if n.0 >= 0 { return n.1 }
        let e = kernel.errno
        if e == EINTR { continue }
        if e == ECONNRESET { return [] }
        guard e == EAGAIN || e == EWOULDBLOCK else { throw .io(errno: e) }
    }
}

/// Sends `bytes` from `offset` on, waiting while the socket's buffer is full; `offset` says how
/// far it got when it throws.
func sendAll(fd: Int32, _ bytes: [UInt8], offset: inout Int, deadline: Deadline, kernel: Kernel) throws(SocksError) {
    while offset < bytes.count {
        // MSG_NOSIGNAL: a proxy that hangs up must not kill the program with SIGPIPE.
        let from = offset
        let n = bytes.withUnsafeBytes { raw in
            kernel.send(fd, UnsafeRawBufferPointer(rebasing: raw[from...]), Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
        }
        if n > 0 { offset += n; continue }
        let e = kernel.errno
        if e == EINTR { continue }
        guard e == EAGAIN || e == EWOULDBLOCK else { throw .io(errno: e) }
        guard try waitFor(fd, events: Int16(POLLOUT), until: deadline, on: kernel) else {
            throw .timedOut(phase: "sending to the proxy")
        }
    }
}

/// The handshake transport of an uninterrupted exchange: the socket itself (MSG_DONTWAIT, one
/// deadline), recording the sends begun, what is left of a partly sent one and every byte the
/// proxy sent, so an interrupted exchange can go on where it stopped.
struct RecordingTransport: HandshakeTransport {
    let fd: Int32
    let deadline: Deadline
    let kernel: Kernel
    /// The TCP connect was not waited for (a loopback proxy): a failure of the first send is
    /// the connect's own, reported as such.
    var connectUnconfirmed = false
    var sendsMade = 0
    var unsent: [UInt8] = []
    /// Every byte the proxy sent; kept only to resume an interrupted exchange.
    var received: [UInt8] = []
    /// After a pipelined write: TCP_QUICKACK before each wait for a reply.
    var quickAck = false

    mutating func send(_ bytes: [UInt8]) throws(SocksError) {
        sendsMade += 1
        var offset = 0
        do throws(SocksError) {
            try sendAll(fd: fd, bytes, offset: &offset, deadline: deadline, kernel: kernel)
        } catch {
            unsent = Array(bytes[offset...])
            if connectUnconfirmed && sendsMade == 1 {
                if case .io(let e) = error { throw .proxyUnreachable(errno: e) }
                if case .timedOut = error { throw .timedOut(phase: "connecting to the proxy") }
            }
            throw error
        }
    }

    mutating func receive(into buffer: inout [UInt8], total: Int) throws(SocksError) {
        try receive(into: &buffer, total: total, upTo: total)
    }

    mutating func receive(into buffer: inout [UInt8], total: Int, upTo: Int) throws(SocksError) {
        let before = buffer.count
        if received.capacity == 0 { received.reserveCapacity(64) }
        defer { received += buffer[before...] }
        if quickAck { _ = kernel.setQuickAck(fd) }
        defer { peeked = false }
        try receiveReply(fd: fd, into: &buffer, total: total, upTo: upTo, deadline: deadline, kernel: kernel, arrived: peeked)
    }

    /// A look-ahead has just seen bytes: the read that follows need not wait for them.
    var peeked = false

    mutating func acknowledgeRepliesAtOnce() { quickAck = true }

    mutating func peek(upTo: Int) throws(SocksError) -> [UInt8]? {
        let ahead = try peekReply(fd: fd, upTo: upTo, deadline: deadline, kernel: kernel)
        peeked = !ahead.isEmpty
        return ahead
    }
}
