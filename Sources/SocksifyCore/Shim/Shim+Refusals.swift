import SocksifyLibc

extension Shim {
    /// socket(2): the verdict of SocketVerdict.socket, logged; then the socket, whose transport
    /// is noted for its connect. Returns what socket returns, errno set on failure. (A vfork
    /// child noting its socket in the parent's table costs the parent at most a getsockopt
    /// later: not worth a getpid on every socket().)
    public func socket(domain: Int32, type: Int32, protocol proto: Int32) -> Int32 {
        let refusal = judgeSocket(domain: domain, type: type)
        guard refusal == 0 else { return fail(refusal) }
        let fd = sx_real_socket(domain, type, proto)
        if fd >= 0 && (domain == AF_INET || domain == AF_INET6) { noteSocket(fd, type: type, protocol: proto) }
        return fd
    }

    /// The socket verdict, logged: 0, or the errno socket(2) fails with (the library's socket
    /// and the kernel backstop's stopped socket call alike).
    func judgeSocket(domain: Int32, type: Int32) -> Int32 {
        apply(SocketVerdict.socket(domain: domain, type: type, strict: settings.strict),
              what: "socket(" + String(domain) + ", " + String(type & 0xF) + ")")
    }

    /// io_uring_setup(2) through the interposed syscall(); see SocketVerdict.ioUring.
    public func checkIoUring() -> Int32 {
        return apply(SocketVerdict.ioUring(strict: settings.strict), what: "io_uring_setup")
    }

    func apply(_ verdict: SocketVerdict, what: @autoclosure () -> String) -> Int32 {
        switch verdict {
        case .allow: return 0
        case .warn(let why):
            log.error(what() + " allowed: " + why + " (--strict refuses it)")
            return 0
        case .refuse(let errno, let why):
            log.error(what() + " refused: " + why + "; program sees " + ErrnoName.name(errno))
            return errno
        }
    }

    /// res_query(3) and friends build their own DNS packets; with names resolved by the proxy
    /// (or in strict mode) they are refused rather than let a query leave directly.
    public func resolverCallRefused(_ function: String) -> Bool {
        guard names.remote || settings.strict else { return false }
        log.error(function + " refused: DNS queries must not leave the machine directly")
        return true
    }
}
