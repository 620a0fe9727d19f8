import SocksifyLibc

/// Symbolic names for the errno values socksify reports, for log lines.
public enum ErrnoName {
    public static func name(_ value: Int32) -> String {
        switch value {
        case ECONNREFUSED: return "ECONNREFUSED"
        case ETIMEDOUT: return "ETIMEDOUT"
        case EHOSTUNREACH: return "EHOSTUNREACH"
        case ENETUNREACH: return "ENETUNREACH"
        case EACCES: return "EACCES"
        case EPROTO: return "EPROTO"
        case ECONNRESET: return "ECONNRESET"
        case ECONNABORTED: return "ECONNABORTED"
        case EOPNOTSUPP: return "EOPNOTSUPP"
        case EAFNOSUPPORT: return "EAFNOSUPPORT"
        case EINVAL: return "EINVAL"
        case EPIPE: return "EPIPE"
        case EMFILE: return "EMFILE"
        case ENFILE: return "ENFILE"
        case ENOBUFS: return "ENOBUFS"
        case ENOMEM: return "ENOMEM"
        case EADDRNOTAVAIL: return "EADDRNOTAVAIL"
        case EPERM: return "EPERM"
        case EISCONN: return "EISCONN"
        case EALREADY: return "EALREADY"
        case EINTR: return "EINTR"
        case EBADF: return "EBADF"
        default: return "errno " + String(value)
        }
    }

    /// "Connection refused (ECONNREFUSED)".
    public static func describe(_ value: Int32) -> String {
        guard let message = strerror(value) else { return name(value) }
        return String(cString: message) + " (" + name(value) + ")"
    }
}
