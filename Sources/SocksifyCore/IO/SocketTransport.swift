import SocksifyLibc

/// A handshake transport over a socket (each call MSG_DONTWAIT, the socket's own flags untouched), with one deadline for the whole exchange.
/// Uses the real libc send/recv/poll, never the shim's own.
public struct SocketTransport: HandshakeTransport {
    public let fd: Int32
    public let deadline: Deadline
    let kernel: Kernel

    public init(fd: Int32, deadline: Deadline, kernel: Kernel = RealKernel.shared) {
        self.fd = fd
        self.deadline = deadline
        self.kernel = kernel
    }

    public mutating func send(_ bytes: [UInt8]) throws(SocksError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                // MSG_NOSIGNAL: a proxy that hangs up must not kill the program with SIGPIPE.
                kernel.send(fd, UnsafeRawBufferPointer(rebasing: raw[offset...]), Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
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

    public mutating func receive(into buffer: inout [UInt8], total: Int) throws(SocksError) {
        var chunk = [UInt8](repeating: 0, count: 64)
        // A reply's first bytes are a round trip away: waiting first spares a recv that would
        // only say EAGAIN. The rest of a reply has usually arrived with them.
        if buffer.isEmpty {
            guard try waitFor(fd, events: Int16(POLLIN), until: deadline, on: kernel) else {
                throw .timedOut(phase: "waiting for the proxy's reply")
            }
        }
        while buffer.count < total {
            let want = min(total - buffer.count, chunk.count)
            let n = chunk.withUnsafeMutableBytes { kernel.receive(fd, UnsafeMutableRawBufferPointer(rebasing: $0[0..<want]), Int32(MSG_DONTWAIT)) }
            if n > 0 { buffer += chunk[0..<n]; continue }
            if n == 0 { throw .closedByProxy(received: buffer.count, expected: total) }
            let e = kernel.errno
            if e == EINTR { continue }
            if e == ECONNRESET { throw .closedByProxy(received: buffer.count, expected: total) }
            guard e == EAGAIN || e == EWOULDBLOCK else { throw .io(errno: e) }
            guard try waitFor(fd, events: Int16(POLLIN), until: deadline, on: kernel) else {
                throw .timedOut(phase: "waiting for the proxy's reply")
            }
        }
    }
}
