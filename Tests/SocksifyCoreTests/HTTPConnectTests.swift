import SocksifyLibc
import Testing
@testable import SocksifyCore

@Suite struct HTTPConnectRequestTests {
    @Test func aRequestByNameAndByAddress() throws {
        #expect(try HTTPConnectRequest(destination: SocksDestination(.domain("example.com"), port: 443)).encode()
                == ascii("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"))
        #expect(try HTTPConnectRequest(destination: SocksDestination(.ip(ip("10.1.2.3")), port: 22)).encode()
                == ascii("CONNECT 10.1.2.3:22 HTTP/1.1\r\nHost: 10.1.2.3:22\r\n\r\n"))
        #expect(try HTTPConnectRequest(destination: SocksDestination(.ip(ip("2001:db8::1")), port: 80)).encode()
                == ascii("CONNECT [2001:db8::1]:80 HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n"), "IPv6 in brackets")
    }

    @Test func basicCredentials() throws {
        let request = HTTPConnectRequest(destination: SocksDestination(.domain("h"), port: 1),
                                         login: (ascii("Aladdin"), ascii("open sesame")))
        #expect(try request.encode() == ascii("CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\nProxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n"))
    }

    @Test(arguments: [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")])
    func base64OfRFC4648(text: String, encoded: String) {
        #expect(Base64.encode(ascii(text)) == ascii(encoded))
    }

    @Test(arguments: ["a b", "a\r\nX-Evil: 1", "a/b", "user@host", ""])
    func aNameThatWouldBreakTheRequestIsRefused(name: String) {
        #expect(throws: SocksError.invalidRequest("the host name cannot go in an HTTP CONNECT request")) {
            try HTTPConnectRequest(destination: SocksDestination(.domain(name), port: 80)).encode()
        }
    }

    @Test func aUserNameWithAColonIsRefused() {
        let request = HTTPConnectRequest(destination: SocksDestination(.domain("h"), port: 1),
                                         login: (ascii("a:b"), ascii("c")))
        #expect(throws: SocksError.invalidRequest("an HTTP proxy user name cannot contain ':'")) { try request.encode() }
    }
}

@Suite struct HTTPConnectResponseTests {
    static func decode(_ text: String) throws(SocksError) -> DecodeResult<HTTPConnectResponse> {
        try HTTPConnectResponse.decode(ArraySlice(ascii(text)))
    }

    static func response(_ text: String) throws -> (HTTPConnectResponse, Int) {
        guard case .message(let r, let consumed) = try decode(text) else { throw SocksError.malformedReply("incomplete") }
        return (r, consumed)
    }

    @Test func establishedWithAndWithoutHeaders() throws {
        let (r, consumed) = try Self.response("HTTP/1.1 200 Connection established\r\n\r\n")
        #expect(r.status == 200 && r.succeeded && r.statusLine == "HTTP/1.1 200 Connection established" && consumed == 39)
        let (t, _) = try Self.response("HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n")
        #expect(t.status == 200 && t.realm == nil)
        let (bare, _) = try Self.response("HTTP/1.1 204\n\n")
        #expect(bare.status == 204 && bare.succeeded, "bare LF and no reason phrase")
    }

    @Test(arguments: [100, 101, 199, 300, 302, 400, 403, 404, 407, 500, 502, 503, 504])
    func everyStatusClassIsReadAndOnly2xxSucceeds(status: Int) throws {
        let (r, _) = try Self.response("HTTP/1.1 \(status) Something\r\n\r\n")
        #expect(r.status == status && !r.succeeded)
    }

    @Test func theBytesAfterTheHeadAreNotConsumed() throws {
        let (_, consumed) = try Self.response("HTTP/1.1 200 OK\r\n\r\nSSH-2.0-OpenSSH_9.2\r\n")
        #expect(consumed == 19, "the tunnel's first bytes belong to the program")
    }

    @Test func aHeadSplitAcrossReadsAsksForTheFewestBytesThatCouldEndIt() throws {
        let whole = ascii("HTTP/1.1 200 OK\r\nVia: x\r\n\r\n")
        var seen = 0
        var asked = 0
        var cut = 1
        while cut <= whole.count {
            switch try HTTPConnectResponse.decode(whole[0..<cut]) {
            case .message(_, let consumed):
                #expect(consumed == whole.count && cut == whole.count)
                seen += 1
                cut = whole.count + 1
            case .needMore(let total):
                #expect(total > cut && total <= whole.count, "never past the head: asked \(total) at \(cut)")
                asked += 1
                cut = total
            }
        }
        #expect(seen == 1 && asked > 0)
    }

    @Test func theRealmOfAChallenge() throws {
        let (r, _) = try Self.response("HTTP/1.1 407 Proxy Authentication Required\r\nProxY-AuthentiCate: Basic realm=\"Corp Proxy\", charset=\"UTF-8\"\r\n\r\n")
        #expect(r.status == 407 && r.realm == "Corp Proxy")
        let (token, _) = try Self.response("HTTP/1.1 407 x\r\nProxy-Authenticate: Basic realm=squid\r\n\r\n")
        #expect(token.realm == "squid")
    }

    @Test func foldedHeaderLinesContinueTheField() throws {
        let (r, _) = try Self.response("HTTP/1.1 407 x\r\nProxy-Authenticate: Basic\r\n  realm=\"folded\"\r\nX: y\r\n\r\n")
        #expect(r.realm == "folded")
        #expect(throws: SocksError.malformedReply("a folded line before any header field")) {
            try Self.decode("HTTP/1.1 200 OK\r\n folded\r\n\r\n")
        }
    }

    @Test func notHTTPIsSaidAtTheFirstWrongByte() {
        #expect(throws: SocksError.malformedReply("not an HTTP response (is it an HTTP proxy?): ??")) {
            try HTTPConnectResponse.decode(ArraySlice([5, 0]))
        }
        #expect(throws: SocksError.malformedReply("not an HTTP status line: HTTP/2 200")) { try Self.decode("HTTP/2 200\r\n\r\n") }
        #expect(throws: SocksError.malformedReply("not an HTTP status line: HTTP/1.1 2000 OK")) { try Self.decode("HTTP/1.1 2000 OK\r\n\r\n") }
        #expect(throws: SocksError.malformedReply("not an HTTP header field: no colon")) { try Self.decode("HTTP/1.1 200 OK\r\nno colon\r\n\r\n") }
    }

    @Test func anOversizedHeadIsAnError() {
        let long = "HTTP/1.1 200 OK\r\n" + String(repeating: "X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", count: 200)
        #expect(throws: SocksError.malformedReply("an HTTP response head over 8192 bytes")) { try Self.decode(long) }
    }

    @Test func proxyTextInTheLogIsPrintable() throws {
        let (r, _) = try Self.response("HTTP/1.1 403 Den\u{7}ied\r\n\r\n")
        #expect(r.statusLine == "HTTP/1.1 403 Den?ied")
    }
}

@Suite struct HTTPConnectHandshakeTests {
    static let proxy = ProxySpec(proto: .http, host: "10.0.0.5", port: 3128)

    @Test(arguments: [false, true])
    func connectSendsTheRequestAndReadsExactlyTheHead(peeking: Bool) throws {
        var t = ScriptedTransport(ascii("HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\nbanner"), chunkSize: 20)
        t.canPeek = peeking
        let bound = try ClientHandshake.connect(over: &t, proxy: Self.proxy, to: SocksDestination(.domain("example.com"), port: 22))
        #expect(bound == nil)
        #expect(t.sent == [ascii("CONNECT example.com:22 HTTP/1.1\r\nHost: example.com:22\r\n\r\n")])
        #expect(Array(t.remaining) == ascii("banner"), "not a byte of the tunnel")
        if peeking { #expect(t.receives.count <= 5, "a read per look-ahead, not two bytes at a time: \(t.receives.count)") }
    }

    @Test(arguments: [
        ("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"corp\"\r\n\r\n", EACCES,
         "proxy wants a login: HTTP/1.1 407 Proxy Authentication Required (realm \"corp\"); give user:password in the proxy URL", true),
        ("HTTP/1.1 403 Forbidden\r\n\r\n", EACCES, "proxy refused: HTTP/1.1 403 Forbidden", false),
        ("HTTP/1.1 405 Method Not Allowed\r\n\r\n", EACCES, "proxy refused: HTTP/1.1 405 Method Not Allowed", false),
        ("HTTP/1.1 502 Bad Gateway\r\n\r\n", ECONNREFUSED, "proxy refused: HTTP/1.1 502 Bad Gateway", false),
        ("HTTP/1.1 503 Service Unavailable\r\n\r\n", ECONNREFUSED, "proxy refused: HTTP/1.1 503 Service Unavailable", false),
        ("HTTP/1.1 504 Gateway Timeout\r\n\r\n", ETIMEDOUT, "proxy refused: HTTP/1.1 504 Gateway Timeout", false),
        ("HTTP/1.1 404 Not Found\r\n\r\n", EHOSTUNREACH, "proxy refused: HTTP/1.1 404 Not Found", false),
        ("HTTP/1.1 302 Found\r\nLocation: x\r\n\r\n", EPROTO, "proxy refused: HTTP/1.1 302 Found", false),
    ] as [(String, Int32, String, Bool)])
    func refusalsNameTheStatusAndGiveAConnectsErrno(head: String, errno: Int32, reason: String, proxyFailure: Bool) {
        var t = ScriptedTransport(ascii(head))
        let error = #expect(throws: SocksError.self) {
            try ClientHandshake.connect(over: &t, proxy: Self.proxy, to: SocksDestination(.domain("h"), port: 1))
        }
        #expect(error?.errno == errno && error?.reason == reason && error?.isProxyFailure == proxyFailure)
    }

    @Test func wrongCredentialsAreSaidSo() {
        var proxy = Self.proxy
        proxy.credentials = ProxyCredentials(username: ascii("u"), password: ascii("bad"))
        var t = ScriptedTransport(ascii("HTTP/1.1 407 Nope\r\n\r\n"))
        let error = #expect(throws: SocksError.self) {
            try ClientHandshake.connect(over: &t, proxy: proxy, to: SocksDestination(.domain("h"), port: 1))
        }
        #expect(error?.reason == "proxy rejected the username/password: HTTP/1.1 407 Nope" && error?.errno == EACCES)
    }

    @Test func aHeadCutShortIsTheProxyClosing() {
        var t = ScriptedTransport(ascii("HTTP/1.1 200 Conn"))
        #expect(throws: SocksError.self) {
            try ClientHandshake.connect(over: &t, proxy: Self.proxy, to: SocksDestination(.domain("h"), port: 1))
        }
    }

    @Test func udpIsRefusedWithTheReason() {
        var t = ScriptedTransport([])
        #expect(throws: SocksError.unsupportedDestination("HTTP CONNECT cannot carry UDP")) {
            try ClientHandshake.associate(over: &t, proxy: Self.proxy, family: AF_INET)
        }
        #expect(t.sent.isEmpty)
    }

    @Test func theResumableExchangeReadsTheHeadInOneLookAhead() {
        var exchange = ResumableHandshake(proxy: Self.proxy, destination: SocksDestination(.domain("h"), port: 1))
        guard case .waiting(let sends, _) = exchange.step() else { Issue.record("not waiting"); return }
        #expect(sends == [ascii("CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\n\r\n")])
        #expect(exchange.wantsLookAhead)
        let arrived = ascii("HTTP/1.1 200 OK\r\n\r\nDATA")
        var trial = exchange
        _ = trial.step(lookAhead: arrived)
        #expect(trial.consumed == 19, "the head, not the tunnel's bytes")
        exchange.receive(arrived[0..<19])
        guard case .done(let more, nil) = exchange.step() else { Issue.record("not done"); return }
        #expect(more.isEmpty)
    }
}
