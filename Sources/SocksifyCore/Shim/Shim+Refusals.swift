import SocksifyLibc

extension Shim {
    /// socket(2): the verdict of SocketVerdict.socket, logged. Returns 0 or the errno to fail with.
    public func checkSocket(domain: Int32, type: Int32) -> Int32 {
        return apply(SocketVerdict.socket(domain: domain, type: type, strict: settings.strict),
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
