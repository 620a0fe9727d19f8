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
        try sendAll(fd: fd, bytes, offset: &offset, deadline: deadline, kernel: kernel)
    }

    public mutating func receive(into buffer: inout [UInt8], total: Int) throws(SocksError) {
        if quickAck { _ = kernel.setQuickAck(fd) }
        try receiveReply(fd: fd, into: &buffer, total: total, deadline: deadline, kernel: kernel)
    }

    /// After a pipelined write: TCP_QUICKACK before each wait for a reply.
    var quickAck = false
    public mutating func acknowledgeRepliesAtOnce() { quickAck = true }

    public mutating func peek(upTo: Int) throws(SocksError) -> [UInt8]? {
        try peekReply(fd: fd, upTo: upTo, deadline: deadline, kernel: kernel)
    }
}
