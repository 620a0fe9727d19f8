import SocksifyLibc

/// How far the tunnel on one socket has got: the TCP connect to the first proxy, then one
/// exchange per hop. Every step is non-blocking and can be taken again after a signal ended a
/// wait: bytes handed out for sending and not yet sent stay in `unsent`, replies are read exactly
/// to their end (what follows is the destination's).
public struct TunnelProgress: Sendable {
    public let chain: [ProxySpec]
    public let destination: SocksDestination
    let proxyAddress: [UInt8]
    let connectDeadline: Deadline
    let handshakeMilliseconds: Int
    var handshakeDeadline: Deadline
    public private(set) var connected = false
    public private(set) var hop = 0
    var exchange: ResumableHandshake? = nil
    var unsent: [UInt8] = []

    public init(chain: [ProxySpec], destination: SocksDestination, proxy: Endpoint, timeouts: Timeouts, kernel: Kernel) {
        self.chain = chain
        self.destination = destination
        proxyAddress = proxy.sockaddrBytes
        connectDeadline = .after(milliseconds: timeouts.connectMilliseconds, on: kernel)
        handshakeMilliseconds = timeouts.handshakeMilliseconds
        handshakeDeadline = connectDeadline
    }

    /// The connect(2) call to the first proxy. `blockingFlags`: the flags of a blocking socket,
    /// made non-blocking for this call only (the rest uses MSG_DONTWAIT), so a signal handler
    /// that jumps out of the handshake cannot leave the program's socket non-blocking.
    mutating func start(fd: Int32, blockingFlags: Int32?, kernel: Kernel) throws(SocksError) {
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
            guard try waitFor(fd, events: Int16(POLLOUT), until: connectDeadline, on: kernel) else {
                throw .timedOut(phase: "connecting to the proxy")
            }
            // Connect once more: it answers the outcome (0, or the error SO_ERROR would give) and
            // moves the socket out of "connecting", so a later connect by the program answers
            // EISCONN as it would direct.
            if kernel.connect(fd, proxyAddress) != 0 && kernel.errno != EISCONN {
                throw .proxyUnreachable(errno: kernel.errno)
            }
            connected = true
        }
        while hop < chain.count {
            if exchange == nil {
                let next = hop + 1 < chain.count ? ProxyTunnel.address(of: chain[hop + 1]) : destination
                exchange = ResumableHandshake(proxy: chain[hop], destination: next)
                handshakeDeadline = .after(milliseconds: handshakeMilliseconds, on: kernel)
            }
            try flush(fd: fd, kernel: kernel)
            switch exchange!.step() {
            case .waiting(let sends, let total):
                for bytes in sends { unsent += bytes }
                try flush(fd: fd, kernel: kernel)
                try receive(fd: fd, upTo: total, kernel: kernel)
            case .done(let sends, _):
                for bytes in sends { unsent += bytes }
                try flush(fd: fd, kernel: kernel)
                hop += 1
                exchange = nil
            case .failed(let error):
                throw error
            }
        }
    }

    private mutating func flush(fd: Int32, kernel: Kernel) throws(SocksError) {
        while !unsent.isEmpty {
            // MSG_NOSIGNAL: a proxy that hangs up must not kill the program with SIGPIPE.
            let n = unsent.withUnsafeBytes { kernel.send(fd, $0, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) }
            if n > 0 { unsent.removeFirst(n); continue }
            let e = kernel.errno
            if e == EINTR { continue }
            guard e == EAGAIN || e == EWOULDBLOCK else { throw .io(errno: e) }
            guard try waitFor(fd, events: Int16(POLLOUT), until: handshakeDeadline, on: kernel) else {
                throw .timedOut(phase: "sending to the proxy")
            }
        }
    }

    /// Reads until the proxy has sent `total` bytes in all, never further.
    private mutating func receive(fd: Int32, upTo total: Int, kernel: Kernel) throws(SocksError) {
        var chunk = [UInt8](repeating: 0, count: 64)
        // A reply's first bytes are a round trip away: waiting first spares a recv that would
        // only say EAGAIN. The rest of a reply has usually arrived with them.
        var wait = exchange!.received.count == exchange!.replyStart
        while exchange!.received.count < total {
            if wait {
                guard try waitFor(fd, events: Int16(POLLIN), until: handshakeDeadline, on: kernel) else {
                    throw .timedOut(phase: "waiting for the proxy's reply")
                }
            }
            let want = min(total - exchange!.received.count, chunk.count)
            let n = chunk.withUnsafeMutableBytes { kernel.receive(fd, UnsafeMutableRawBufferPointer(rebasing: $0[0..<want]), Int32(MSG_DONTWAIT)) }
            if n > 0 { exchange!.receive(chunk[0..<n]); wait = false; continue }
            let start = exchange!.replyStart
            if n == 0 { throw .closedByProxy(received: exchange!.received.count - start, expected: total - start) }
            let e = kernel.errno
            if e == EINTR { continue }
            if e == ECONNRESET { throw .closedByProxy(received: exchange!.received.count - start, expected: total - start) }
            guard e == EAGAIN || e == EWOULDBLOCK else { throw .io(errno: e) }
            wait = true
        }
    }
}
