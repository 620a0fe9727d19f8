import SocksifyLibc

/// Everything that can go wrong between the program and its destination, each case carrying
/// what the program should see as `errno` and what the log should say.
public enum SocksError: Error, Sendable {
    /// The TCP connection to the proxy failed with this errno.
    case proxyUnreachable(errno: Int32)
    /// No answer within the deadline; `phase` says where we waited.
    case timedOut(phase: String)
    /// The proxy closed the connection before a whole reply arrived.
    case closedByProxy(received: Int, expected: Int)
    /// A read or write on the proxy connection failed.
    case io(errno: Int32)
    /// The proxy answered with bytes that are not the protocol.
    case malformedReply(String)
    /// The proxy accepts none of the authentication methods we offered.
    case noAcceptableMethod
    /// The proxy rejected the username/password (RFC 1929 status).
    case authenticationFailed(status: UInt8)
    /// The proxy refused the request with a SOCKS5 reply code.
    case socks5Refused(Socks5ReplyCode)
    /// The proxy refused the request with a SOCKS4 reply code.
    case socks4Refused(Socks4ReplyCode)
    /// An HTTP proxy answered CONNECT with this status (not 2xx); `line` is its status line,
    /// `realm` its Proxy-Authenticate realm, `loggedIn` whether credentials were sent.
    case httpRefused(status: Int, line: String, realm: String?, loggedIn: Bool)
    /// A request we could not even encode (e.g. a name longer than 255 bytes).
    case invalidRequest(String)
    /// The destination cannot be expressed in this protocol (IPv6 over SOCKS4).
    case unsupportedDestination(String)
    /// The program's socket cannot start a connection (already connected: EISCONN, EALREADY).
    case socketState(errno: Int32)
    /// The proxy's password cannot be had (an unset variable, an unreadable file): why.
    case missingPassword(String)

    /// The errno a program sees from `connect` for this failure.
    public var errno: Int32 {
        switch self {
        case .proxyUnreachable(let e): return e
        case .timedOut: return ETIMEDOUT
        case .closedByProxy: return ECONNRESET
        case .io(let e): return e
        case .malformedReply: return EPROTO
        case .noAcceptableMethod, .authenticationFailed: return EACCES
        case .socks5Refused(let code): return code.errno
        case .socks4Refused(let code): return code.errno
        case .httpRefused(let status, _, _, _): return SocksError.errno(forHTTPStatus: status)
        case .invalidRequest: return EINVAL
        case .unsupportedDestination: return EAFNOSUPPORT
        case .socketState(let e): return e
        case .missingPassword: return EACCES
        }
    }

    /// A failure of the proxy itself (down, slow, broken, refusing us), after which failover
    /// tries the next one; a refusal of the destination is the answer, whichever proxy gives it.
    public var isProxyFailure: Bool {
        switch self {
        case .proxyUnreachable, .timedOut, .closedByProxy, .io, .malformedReply, .noAcceptableMethod, .authenticationFailed, .missingPassword:
            return true
        case .httpRefused(let status, _, _, _):
            // A login refused is the proxy's failure; any other status answers for the destination.
            // (tinyproxy answers a wrong password with 401.)
            return status == 407 || status == 401
        case .socks5Refused, .socks4Refused, .invalidRequest, .unsupportedDestination, .socketState:
            return false
        }
    }

    /// What a failed connect would have said, for an HTTP proxy's refusal.
    static func errno(forHTTPStatus status: Int) -> Int32 {
        switch status {
        case 401, 403, 405, 407: return EACCES
        case 408, 504: return ETIMEDOUT
        case 404, 410: return EHOSTUNREACH
        case 400...599: return ECONNREFUSED
        default: return EPROTO  // 1xx, 3xx: not an answer to CONNECT
        }
    }

    /// One human line for the log.
    public var reason: String {
        switch self {
        case .proxyUnreachable(let e): return "cannot reach the proxy: " + ErrnoName.describe(e)
        case .timedOut(let phase): return "timed out " + phase
        case .closedByProxy(let got, let want):
            return "proxy closed the connection after " + String(got) + " of " + String(want) + " reply bytes"
        case .io(let e): return "I/O error with the proxy: " + ErrnoName.describe(e)
        case .malformedReply(let what): return "malformed reply from the proxy: " + what
        case .noAcceptableMethod: return "proxy accepts none of our authentication methods"
        case .authenticationFailed(let status):
            return "proxy rejected the username/password (status " + String(status) + ")"
        case .socks5Refused(let code): return "proxy refused: " + code.reason
        case .socks4Refused(let code): return "proxy refused: " + code.reason
        case .httpRefused(let status, let line, let realm, let loggedIn):
            let realmText = realm.map { " (realm \"" + $0 + "\")" } ?? ""
            if status == 407 || status == 401 {
                return loggedIn ? "proxy rejected the username/password: " + line + realmText
                    : "proxy wants a login: " + line + realmText + "; give user:password in the proxy URL"
            }
            return "proxy refused: " + line
        case .invalidRequest(let what): return "invalid request: " + what
        case .unsupportedDestination(let what): return what
        case .socketState(let e): return "the socket cannot connect now: " + ErrnoName.describe(e)
        case .missingPassword(let why): return "no password for the proxy: " + why
        }
    }
}

#if !hasFeature(Embedded)
// Tests compare these; the shim never does, and String == would pull Unicode tables into it.
extension SocksError: Equatable {}
#endif
