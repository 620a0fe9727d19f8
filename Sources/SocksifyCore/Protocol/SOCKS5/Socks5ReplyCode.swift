import SocksifyLibc

/// The REP field of a SOCKS5 reply (RFC 1928 section 6), with the errno a program sees for it.
public struct Socks5ReplyCode: Hashable, Sendable {
    public var rawValue: UInt8
    public init(_ rawValue: UInt8) { self.rawValue = rawValue }

    public static let succeeded = Socks5ReplyCode(0x00)
    public static let generalFailure = Socks5ReplyCode(0x01)
    public static let notAllowedByRuleset = Socks5ReplyCode(0x02)
    public static let networkUnreachable = Socks5ReplyCode(0x03)
    public static let hostUnreachable = Socks5ReplyCode(0x04)
    public static let connectionRefused = Socks5ReplyCode(0x05)
    public static let ttlExpired = Socks5ReplyCode(0x06)
    public static let commandNotSupported = Socks5ReplyCode(0x07)
    public static let addressTypeNotSupported = Socks5ReplyCode(0x08)

    public var errno: Int32 {
        switch rawValue {
        case 0x02: return EACCES
        case 0x03: return ENETUNREACH
        case 0x04: return EHOSTUNREACH
        case 0x06: return ETIMEDOUT
        case 0x07: return EOPNOTSUPP
        case 0x08: return EAFNOSUPPORT
        default: return ECONNREFUSED  // 0x01, 0x05 and unassigned codes
        }
    }

    public var reason: String {
        switch rawValue {
        case 0x00: return "succeeded"
        case 0x01: return "general SOCKS server failure (0x01)"
        case 0x02: return "connection not allowed by ruleset (0x02)"
        case 0x03: return "network unreachable (0x03)"
        case 0x04: return "host unreachable (0x04)"
        case 0x05: return "connection refused by destination (0x05)"
        case 0x06: return "TTL expired (0x06)"
        case 0x07: return "command not supported (0x07)"
        case 0x08: return "address type not supported (0x08)"
        default: return "unassigned reply code " + String(rawValue)
        }
    }
}
