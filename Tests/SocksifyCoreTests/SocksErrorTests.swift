import Testing
import SocksifyLibc
@testable import SocksifyCore

@Suite struct SocksErrorTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var error: SocksError
        var errno: Int32
        /// The proxy itself failed (failover tries the next), rather than refusing the destination.
        var proxyFailure: Bool
        var testDescription: String { String(describing: error) }
    }

    /// Every case, with the errno the program sees.
    static let rows: [Row] = [
        Row(error: .proxyUnreachable(errno: ECONNREFUSED), errno: ECONNREFUSED, proxyFailure: true),
        Row(error: .proxyUnreachable(errno: ENETUNREACH), errno: ENETUNREACH, proxyFailure: true),
        Row(error: .proxyUnreachable(errno: EHOSTUNREACH), errno: EHOSTUNREACH, proxyFailure: true),
        Row(error: .timedOut(phase: "connecting to the proxy"), errno: ETIMEDOUT, proxyFailure: true),
        Row(error: .timedOut(phase: "waiting for the proxy's reply"), errno: ETIMEDOUT, proxyFailure: true),
        Row(error: .closedByProxy(received: 0, expected: 2), errno: ECONNRESET, proxyFailure: true),
        Row(error: .io(errno: EPIPE), errno: EPIPE, proxyFailure: true),
        Row(error: .io(errno: ECONNRESET), errno: ECONNRESET, proxyFailure: true),
        Row(error: .malformedReply("reply has version 4, expected 5"), errno: EPROTO, proxyFailure: true),
        Row(error: .noAcceptableMethod, errno: EACCES, proxyFailure: true),
        Row(error: .authenticationFailed(status: 1), errno: EACCES, proxyFailure: true),
        Row(error: .socks5Refused(.generalFailure), errno: ECONNREFUSED, proxyFailure: false),
        Row(error: .socks5Refused(.notAllowedByRuleset), errno: EACCES, proxyFailure: false),
        Row(error: .socks5Refused(.networkUnreachable), errno: ENETUNREACH, proxyFailure: false),
        Row(error: .socks5Refused(.hostUnreachable), errno: EHOSTUNREACH, proxyFailure: false),
        Row(error: .socks5Refused(.connectionRefused), errno: ECONNREFUSED, proxyFailure: false),
        Row(error: .socks5Refused(.ttlExpired), errno: ETIMEDOUT, proxyFailure: false),
        Row(error: .socks5Refused(.commandNotSupported), errno: EOPNOTSUPP, proxyFailure: false),
        Row(error: .socks5Refused(.addressTypeNotSupported), errno: EAFNOSUPPORT, proxyFailure: false),
        Row(error: .socks5Refused(Socks5ReplyCode(0x42)), errno: ECONNREFUSED, proxyFailure: false),
        Row(error: .socks4Refused(.rejected), errno: ECONNREFUSED, proxyFailure: false),
        Row(error: .socks4Refused(.identdUnreachable), errno: ECONNREFUSED, proxyFailure: false),
        Row(error: .socks4Refused(.identdMismatch), errno: EACCES, proxyFailure: false),
        Row(error: .invalidRequest("a domain name must be 1 to 255 bytes"), errno: EINVAL, proxyFailure: false),
        Row(error: .unsupportedDestination("SOCKS4 cannot carry an IPv6 destination"), errno: EAFNOSUPPORT, proxyFailure: false),
        Row(error: .socketState(errno: EISCONN), errno: EISCONN, proxyFailure: false),
        Row(error: .socketState(errno: EALREADY), errno: EALREADY, proxyFailure: false),
    ]

    @Test(arguments: rows)
    func errnoAndReason(_ row: Row) {
        #expect(row.error.errno == row.errno, "\(ErrnoName.name(row.error.errno)), expected \(ErrnoName.name(row.errno))")
        #expect(row.error.isProxyFailure == row.proxyFailure)
        #expect(!row.error.reason.isEmpty)
        #expect(!row.error.reason.contains("\n"), "one line")
    }

    @Test func reasons() {
        #expect(SocksError.timedOut(phase: "connecting to the proxy").reason == "timed out connecting to the proxy")
        #expect(SocksError.closedByProxy(received: 3, expected: 10).reason
                == "proxy closed the connection after 3 of 10 reply bytes")
        #expect(SocksError.malformedReply("x").reason == "malformed reply from the proxy: x")
        #expect(SocksError.noAcceptableMethod.reason == "proxy accepts none of our authentication methods")
        #expect(SocksError.authenticationFailed(status: 2).reason == "proxy rejected the username/password (status 2)")
        #expect(SocksError.socks5Refused(.hostUnreachable).reason == "proxy refused: host unreachable (0x04)")
        #expect(SocksError.socks4Refused(.identdMismatch).reason == "proxy refused: rejected: identd user id mismatch (93)")
        #expect(SocksError.invalidRequest("too long").reason == "invalid request: too long")
        #expect(SocksError.unsupportedDestination("SOCKS4 cannot carry an IPv6 destination").reason
                == "SOCKS4 cannot carry an IPv6 destination")
    }

    @Test func reasonsWithErrnoNameTheErrno() {
        let unreachable = SocksError.proxyUnreachable(errno: ECONNREFUSED).reason
        #expect(unreachable.hasPrefix("cannot reach the proxy: "))
        #expect(unreachable.hasSuffix("(ECONNREFUSED)"))
        let state = SocksError.socketState(errno: EISCONN).reason
        #expect(state.hasPrefix("the socket cannot connect now: "))
        #expect(state.hasSuffix("(EISCONN)"))
        let io = SocksError.io(errno: EPIPE).reason
        #expect(io.hasPrefix("I/O error with the proxy: "))
        #expect(io.hasSuffix("(EPIPE)"))
    }

    @Test func equality() {
        #expect(SocksError.closedByProxy(received: 1, expected: 2) != .closedByProxy(received: 1, expected: 3))
        #expect(SocksError.socks5Refused(.generalFailure) != .socks5Refused(.connectionRefused))
        #expect(SocksError.malformedReply("a") != .malformedReply("b"))
        #expect(SocksError.io(errno: EPIPE) != .proxyUnreachable(errno: EPIPE))
    }
}
