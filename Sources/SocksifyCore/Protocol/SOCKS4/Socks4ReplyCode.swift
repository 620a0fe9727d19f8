import SocksifyLibc

/// The CD field of a SOCKS4 reply: 90 granted, 91 to 93 refusals.
public struct Socks4ReplyCode: Hashable, Sendable {
    public var rawValue: UInt8
    public init(_ rawValue: UInt8) { self.rawValue = rawValue }

    public static let granted = Socks4ReplyCode(90)
    public static let rejected = Socks4ReplyCode(91)
    public static let identdUnreachable = Socks4ReplyCode(92)
    public static let identdMismatch = Socks4ReplyCode(93)

    public var errno: Int32 { rawValue == 93 ? EACCES : ECONNREFUSED }

    public var reason: String {
        switch rawValue {
        case 90: return "request granted (90)"
        case 91: return "request rejected or failed (91)"
        case 92: return "rejected: proxy cannot reach our identd (92)"
        case 93: return "rejected: identd user id mismatch (93)"
        default: return "unknown SOCKS4 reply code " + String(rawValue)
        }
    }
}
