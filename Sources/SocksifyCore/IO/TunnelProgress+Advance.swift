import SocksifyLibc

/// What a tunnel that may not block waits for next.
public enum TunnelNeed: Sendable, Equatable {
    case writable, readable
}

extension TunnelProgress {
    /// Takes every step the socket allows now and never waits: for a non-blocking program socket,
    /// whose own poll, select and epoll waits move the exchange on. Returns what to wait for
    /// next, or nil once the tunnel is up; throws when it failed, its deadlines included.
    public mutating func advance(fd: Int32, kernel: Kernel) throws(SocksError) -> TunnelNeed? {
        if !connected {
            // Connect once more: it answers the outcome without waiting (EALREADY: still going).
            if kernel.connect(fd, proxyAddress) != 0 {
                let e = kernel.errno
                if e == EALREADY || e == EINPROGRESS || e == EINTR {
                    try check(connectDeadline, "connecting to the proxy", kernel)
                    return .writable
                }
                if e != EISCONN { throw .proxyUnreachable(errno: e) }
            }
            connected = true
        }
        while hop < chain.count {
            if exchange == nil {
                let next = hop + 1 < chain.count ? ProxyTunnel.address(of: chain[hop + 1]) : destination
                exchange = ResumableHandshake(proxy: chain[hop], destination: next)
                ownHandshakeDeadline = .after(milliseconds: handshakeMilliseconds, on: kernel)
            }
            guard try sendWithoutWaiting(fd, kernel) else { return try waiting(.writable, kernel) }
            switch exchange!.step() {
            case .waiting(let sends, var total):
                for bytes in sends { unsent += bytes }
                guard try sendWithoutWaiting(fd, kernel) else { return try waiting(.writable, kernel) }
                if exchange!.wantsLookAhead {
                    // A reply of unknown length: step a copy over what has arrived to learn
                    // where it ends, then read exactly that much.
                    guard let ahead = try peekWithoutWaiting(fd, kernel) else { return try waiting(.readable, kernel) }
                    var trial = exchange!
                    _ = trial.step(lookAhead: ahead)
                    total = max(trial.consumed, exchange!.received.count + 1)
                }
                guard try receiveWithoutWaiting(fd, upTo: total, kernel) else { return try waiting(.readable, kernel) }
            case .done(let sends, let answer):
                for bytes in sends { unsent += bytes }
                guard try sendWithoutWaiting(fd, kernel) else { return try waiting(.writable, kernel) }
                if hop == chain.count - 1 { bound = TunnelProgress.boundAddress(answer) }
                hop += 1
                exchange = nil
            case .failed(let error):
                throw error
            }
        }
        return nil
    }

    /// When the exchange gives up, on the monotonic clock.
    public var deadlineNanoseconds: UInt64 {
        connected ? handshakeDeadline.nanoseconds : connectDeadline.nanoseconds
    }

    private func waiting(_ need: TunnelNeed, _ kernel: Kernel) throws(SocksError) -> TunnelNeed {
        try check(handshakeDeadline, need == .writable ? "sending to the proxy" : "waiting for the proxy's reply", kernel)
        return need
    }

    private func check(_ deadline: Deadline, _ phase: String, _ kernel: Kernel) throws(SocksError) {
        if deadline.remainingMilliseconds(on: kernel) == 0 { throw .timedOut(phase: phase) }
    }

    /// Sends what is due; false when the socket's buffer is full (or the connect still going).
    private mutating func sendWithoutWaiting(_ fd: Int32, _ kernel: Kernel) throws(SocksError) -> Bool {
        while !unsent.isEmpty {
            let n = unsent.withUnsafeBytes { kernel.send(fd, $0, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) }
            if n > 0 { unsent.removeFirst(n); continue }
            let e = kernel.errno
            if e == EINTR { continue }
            if e == EAGAIN || e == EWOULDBLOCK { return false }
            throw .io(errno: e)
        }
        return true
    }

    /// What has arrived and is not read yet (MSG_PEEK); nil when nothing has. A proxy that
    /// closed gives an empty look-ahead: the read that follows reports it.
    private func peekWithoutWaiting(_ fd: Int32, _ kernel: Kernel) throws(SocksError) -> [UInt8]? {
        while true {
            let bytes = withUnsafeTemporaryAllocation(byteCount: 1024, alignment: 1) { chunk -> [UInt8]? in
                let n = kernel.receive(fd, UnsafeMutableRawBufferPointer(chunk), Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
                return n >= 0 ? Array(UnsafeRawBufferPointer(rebasing: chunk[0..<n])) : nil
            }
            if let bytes { return bytes }
            let e = kernel.errno
            if e == EINTR { continue }
            if e == EAGAIN || e == EWOULDBLOCK { return nil }
            if e == ECONNRESET { return [] }
            throw .io(errno: e)
        }
    }

    /// Reads until the proxy has sent `total` bytes in all, never further; false when the
    /// rest has not arrived yet.
    private mutating func receiveWithoutWaiting(_ fd: Int32, upTo total: Int, _ kernel: Kernel) throws(SocksError) -> Bool {
        while exchange!.received.count < total {
            let want = min(total - exchange!.received.count, 256)
            var closed = false
            let n = withUnsafeTemporaryAllocation(byteCount: 256, alignment: 1) { chunk in
                let n = kernel.receive(fd, UnsafeMutableRawBufferPointer(rebasing: chunk[0..<want]), Int32(MSG_DONTWAIT))
                if n > 0 { exchange!.receive(ArraySlice(UnsafeRawBufferPointer(rebasing: chunk[0..<n]))) }
                closed = n == 0
                return n
            }
            if n > 0 { continue }
            let e = kernel.errno
            if closed || e == ECONNRESET {
                let start = exchange!.replyStart
                let partial = exchange!.received[start...]
                if chain[hop].proto.isSocks5, let code = Socks5Reply.refusal(inPartial: partial) { throw .socks5Refused(code) }
                throw .closedByProxy(received: partial.count, expected: total - start)
            }
            if e == EINTR { continue }
            if e == EAGAIN || e == EWOULDBLOCK { return false }
            throw .io(errno: e)
        }
        return true
    }
}
