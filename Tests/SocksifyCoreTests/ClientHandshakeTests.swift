import Testing
import SocksifyLibc
@testable import SocksifyCore

private func withCredentials(_ proxy: ProxySpec, _ user: String, _ password: String = "") -> ProxySpec {
    var p = proxy
    p.credentials = ProxyCredentials(username: ascii(user), password: ascii(password))
    return p
}

/// Drives ClientHandshake.connect against a scripted proxy. Every script that holds a whole
/// exchange is followed by data the destination sends next (`appData`): the handshake must leave
/// it unread, which shows it never asks for more bytes than a reply holds.
@Suite struct ClientHandshakeTests {
    static let chunkSizes = [1, 2, 3, 7, Int.max]
    static let appData = ascii("HTTP/1.1 200 OK\r\n")

    static let socks5 = ProxySpec(proto: .socks5, host: "127.0.0.1", port: 1080)
    static let socks5h = ProxySpec(proto: .socks5h, host: "127.0.0.1", port: 1080)
    static let socks4 = ProxySpec(proto: .socks4, host: "127.0.0.1", port: 1080)
    static let socks4a = ProxySpec(proto: .socks4a, host: "127.0.0.1", port: 1080)

    static let socks4Proxies: [ProxySpec] = [socks4, socks4a, withCredentials(socks4, "alice")]
    static let socks5Proxies: [ProxySpec] = [socks5, withCredentials(socks5h, "u", "p")]
    static let oneOfEach: [ProxySpec] = [socks5, socks4]

    static let web = destination("93.184.216.34", 443)
    static let webRequest: [UInt8] = [0x05, 0x01, 0x00, 0x01, 93, 184, 216, 34, 0x01, 0xBB]
    static let greetingNoAuth: [UInt8] = [0x05, 0x01, 0x00]
    static let greetingWithPassword: [UInt8] = [0x05, 0x02, 0x00, 0x02]
    static let chooseNoAuth: [UInt8] = [0x05, 0x00]
    static let choosePassword: [UInt8] = [0x05, 0x02]
    /// A success reply binding 10.0.0.1:1080.
    static let okReply: [UInt8] = [0x05, 0x00, 0x00, 0x01, 10, 0, 0, 1, 0x04, 0x38]
    static let okBound = destination("10.0.0.1", 1080)

    static func run(
        _ proxy: ProxySpec, to destination: SocksDestination, script: [UInt8], chunkSize: Int = .max
    ) -> (result: Result<SocksDestination?, SocksError>, transport: ScriptedTransport) {
        var transport = ScriptedTransport(script, chunkSize: chunkSize)
        let result: Result<SocksDestination?, SocksError>
        do throws(SocksError) {
            result = .success(try ClientHandshake.connect(over: &transport, proxy: proxy, to: destination))
        } catch {
            result = .failure(error)
        }
        return (result, transport)
    }

    /// The exchange read every byte of the replies and nothing of what follows them.
    static func expectStoppedAtAppData(_ transport: ScriptedTransport, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(Array(transport.remaining) == appData, "left unread", sourceLocation: sourceLocation)
        #expect(!transport.askedPastTheScript, sourceLocation: sourceLocation)
        #expect(!transport.askedForNothing, sourceLocation: sourceLocation)
    }

    // MARK: SOCKS5 success

    @Test(arguments: chunkSizes)
    func socks5NoAuthentication(chunkSize: Int) {
        let (result, transport) = Self.run(Self.socks5, to: Self.web,
                                           script: Self.chooseNoAuth + Self.okReply + Self.appData, chunkSize: chunkSize)
        #expect(result == .success(Self.okBound))
        #expect(transport.sent == [Self.greetingNoAuth, Self.webRequest])
        // The 10-byte reply in one read when it is there (chunks as large), else 5 and the rest.
        #expect(transport.receives.map(\.total) == (chunkSize >= 10 ? [2, 5] : [2, 5, 10]))
        #expect(transport.chunks.allSatisfy { $0 <= chunkSize })
        Self.expectStoppedAtAppData(transport)
    }

    @Test(arguments: chunkSizes)
    func socks5ToIPv6WithIPv6Bound(chunkSize: Int) {
        let bound: [UInt8] = [0x05, 0x00, 0x00, 0x04] + v6("2001:db8::2").bytes + [0x9C, 0x40]
        let (result, transport) = Self.run(Self.socks5, to: destination("2001:db8::1", 80),
                                           script: Self.chooseNoAuth + bound + Self.appData, chunkSize: chunkSize)
        #expect(result == .success(destination("2001:db8::2", 40000)))
        #expect(transport.sent == [Self.greetingNoAuth, [0x05, 0x01, 0x00, 0x04] + v6("2001:db8::1").bytes + [0x00, 0x50]])
        #expect(transport.receives.map(\.total) == [2, 5, 22])
        Self.expectStoppedAtAppData(transport)
    }

    @Test(arguments: chunkSizes)
    func socks5hSendsTheNameWithDomainBound(chunkSize: Int) {
        let reply: [UInt8] = [0x05, 0x00, 0x00, 0x03, 9] + ascii("proxy.lan") + [0x00, 0x50]
        let (result, transport) = Self.run(Self.socks5h, to: destination("example.com", 443),
                                           script: Self.chooseNoAuth + reply + Self.appData, chunkSize: chunkSize)
        #expect(result == .success(destination("proxy.lan", 80)))
        #expect(transport.sent == [Self.greetingNoAuth, [0x05, 0x01, 0x00, 0x03, 11] + ascii("example.com") + [0x01, 0xBB]])
        #expect(transport.receives.map(\.total) == [2, 5, 16])
        Self.expectStoppedAtAppData(transport)
    }

    @Test(arguments: chunkSizes)
    func socks5UsernamePassword(chunkSize: Int) {
        let proxy = withCredentials(Self.socks5, "alice", "s3cret")
        let (result, transport) = Self.run(proxy, to: Self.web,
                                           script: Self.choosePassword + [0x01, 0x00] + Self.okReply + Self.appData,
                                           chunkSize: chunkSize)
        #expect(result == .success(Self.okBound))
        #expect(transport.sent == [
            Self.greetingWithPassword,
            [0x01, 5] + ascii("alice") + [6] + ascii("s3cret"),
            Self.webRequest,
        ])
        #expect(transport.receives.map(\.total) == (chunkSize >= 10 ? [2, 2, 5] : [2, 2, 5, 10]))
        Self.expectStoppedAtAppData(transport)
    }

    @Test func socks5UsernameWithEmptyPassword() {
        let proxy = withCredentials(Self.socks5h, "bob")
        let (result, transport) = Self.run(proxy, to: Self.web,
                                           script: Self.choosePassword + [0x01, 0x00] + Self.okReply + Self.appData)
        #expect(result == .success(Self.okBound))
        #expect(transport.sent[1] == [0x01, 3] + ascii("bob") + [0])
        Self.expectStoppedAtAppData(transport)
    }

    @Test func socks5PasswordReplyWithVersionFiveIsAccepted() {
        let proxy = withCredentials(Self.socks5, "u", "p")
        let (result, transport) = Self.run(proxy, to: Self.web,
                                           script: Self.choosePassword + [0x05, 0x00] + Self.okReply + Self.appData)
        #expect(result == .success(Self.okBound))
        Self.expectStoppedAtAppData(transport)
    }

    @Test func socks5CredentialsOfferedButNoAuthenticationChosen() {
        let proxy = withCredentials(Self.socks5, "alice", "s3cret")
        let (result, transport) = Self.run(proxy, to: Self.web, script: Self.chooseNoAuth + Self.okReply + Self.appData)
        #expect(result == .success(Self.okBound))
        #expect(transport.sent == [Self.greetingWithPassword, Self.webRequest])
        Self.expectStoppedAtAppData(transport)
    }

    @Test func socks5WithADomainSendsTheDomain() {
        // Who resolves is the caller's business; the handshake sends what it is given.
        let (result, transport) = Self.run(Self.socks5, to: destination("a.example", 80),
                                           script: Self.chooseNoAuth + Self.okReply + Self.appData)
        #expect(result == .success(Self.okBound))
        #expect(transport.sent[1] == [0x05, 0x01, 0x00, 0x03, 9] + ascii("a.example") + [0x00, 0x50])
    }

    // MARK: SOCKS4 / SOCKS4a success

    @Test(arguments: chunkSizes)
    func socks4(chunkSize: Int) {
        let (result, transport) = Self.run(Self.socks4, to: destination("10.1.2.3", 8080),
                                           script: [0x00, 90, 0x04, 0x38, 10, 9, 9, 9] + Self.appData, chunkSize: chunkSize)
        #expect(result == .success(destination("10.9.9.9", 1080)))
        #expect(transport.sent == [[0x04, 0x01, 0x1F, 0x90, 10, 1, 2, 3, 0x00]])
        #expect(transport.receives.map(\.total) == [8])
        Self.expectStoppedAtAppData(transport)
    }

    @Test func socks4GrantedWithZeroAddress() {
        let (result, transport) = Self.run(Self.socks4, to: Self.web, script: [0x00, 90, 0, 0, 0, 0, 0, 0] + Self.appData)
        #expect(result == .success(destination("0.0.0.0", 0)))
        Self.expectStoppedAtAppData(transport)
    }

    @Test func socks4ReplyWithVersionFour() {
        let (result, transport) = Self.run(Self.socks4, to: Self.web, script: [0x04, 90, 0, 0, 0, 0, 0, 0] + Self.appData)
        #expect(result == .success(destination("0.0.0.0", 0)))
        Self.expectStoppedAtAppData(transport)
    }

    @Test func socks4SendsTheUserNameAsUserID() {
        let proxy = withCredentials(Self.socks4, "alice")
        let (result, transport) = Self.run(proxy, to: Self.web, script: [0x00, 90, 0, 0, 0, 0, 0, 0] + Self.appData)
        #expect(result == .success(destination("0.0.0.0", 0)))
        #expect(transport.sent == [[0x04, 0x01, 0x01, 0xBB, 93, 184, 216, 34] + ascii("alice") + [0x00]])
    }

    @Test func socks4NeverSendsAPassword() {
        let proxy = withCredentials(Self.socks4, "alice", "s3cret")
        let (_, transport) = Self.run(proxy, to: Self.web, script: [0x00, 90, 0, 0, 0, 0, 0, 0])
        #expect(transport.sent == [[0x04, 0x01, 0x01, 0xBB, 93, 184, 216, 34] + ascii("alice") + [0x00]])
    }

    @Test(arguments: chunkSizes)
    func socks4aSendsTheName(chunkSize: Int) {
        let (result, transport) = Self.run(Self.socks4a, to: destination("example.com", 80),
                                           script: [0x00, 90, 0, 0, 0, 0, 0, 0] + Self.appData, chunkSize: chunkSize)
        #expect(result == .success(destination("0.0.0.0", 0)))
        #expect(transport.sent == [[0x04, 0x01, 0x00, 0x50, 0, 0, 0, 1, 0x00] + ascii("example.com") + [0x00]])
        Self.expectStoppedAtAppData(transport)
    }

    @Test func socks4aWithUserID() {
        let proxy = withCredentials(Self.socks4a, "bob")
        let (result, transport) = Self.run(proxy, to: destination("example.com", 80),
                                           script: [0x00, 90, 0, 0, 0, 0, 0, 0] + Self.appData)
        #expect(result == .success(destination("0.0.0.0", 0)))
        #expect(transport.sent == [[0x04, 0x01, 0x00, 0x50, 0, 0, 0, 1] + ascii("bob") + [0x00] + ascii("example.com") + [0x00]])
    }

    @Test func socks4aWithAnIPv4DestinationSendsPlainSocks4() {
        let (result, transport) = Self.run(Self.socks4a, to: destination("10.1.2.3", 8080),
                                           script: [0x00, 90, 0, 0, 0, 0, 0, 0] + Self.appData)
        #expect(result == .success(destination("0.0.0.0", 0)))
        #expect(transport.sent == [[0x04, 0x01, 0x1F, 0x90, 10, 1, 2, 3, 0x00]])
    }

    // MARK: SOCKS5 method negotiation failures

    @Test(arguments: chunkSizes)
    func methodSelectionWithWrongVersion(chunkSize: Int) {
        let (result, transport) = Self.run(Self.socks5, to: Self.web, script: [0x04, 0x00] + Self.appData, chunkSize: chunkSize)
        #expect(result == .failure(.malformedReply("method selection has version 4, expected 5")))
        #expect(transport.sent == [Self.greetingNoAuth])
        Self.expectStoppedAtAppData(transport)
    }

    @Test(arguments: socks5Proxies)
    func noAcceptableMethod(proxy: ProxySpec) {
        let (result, transport) = Self.run(proxy, to: Self.web, script: [0x05, 0xFF] + Self.appData)
        #expect(result == .failure(.noAcceptableMethod))
        #expect(transport.sent.count == 1)
        #expect(SocksError.noAcceptableMethod.errno == EACCES)
        Self.expectStoppedAtAppData(transport)
    }

    @Test(arguments: [UInt8(0x01), 0x03, 0x04, 0x80, 0xFE])
    func unofferedMethodChosen(method: UInt8) {
        let proxy = withCredentials(Self.socks5, "u", "p")
        let (result, transport) = Self.run(proxy, to: Self.web, script: [0x05, method] + Self.appData)
        #expect(result == .failure(.malformedReply("proxy chose method \(method), which was not offered")))
        #expect(transport.sent == [Self.greetingWithPassword])
        Self.expectStoppedAtAppData(transport)
    }

    @Test func usernamePasswordChosenWithoutCredentials() {
        let (result, transport) = Self.run(Self.socks5, to: Self.web, script: Self.choosePassword + Self.appData)
        #expect(result == .failure(.malformedReply("proxy chose username/password, which was not offered")))
        #expect(transport.sent == [Self.greetingNoAuth])
        Self.expectStoppedAtAppData(transport)
    }

    @Test(arguments: [UInt8(0x01), 0x02, 0x7F, 0xFF])
    func authenticationFailed(status: UInt8) {
        let proxy = withCredentials(Self.socks5, "alice", "wrong")
        let (result, transport) = Self.run(proxy, to: Self.web, script: Self.choosePassword + [0x01, status] + Self.appData)
        #expect(result == .failure(.authenticationFailed(status: status)))
        #expect(transport.sent.count == 2, "the request is never sent")
        #expect(SocksError.authenticationFailed(status: status).errno == EACCES)
        Self.expectStoppedAtAppData(transport)
    }

    @Test func authenticationReplyWithWrongVersion() {
        let proxy = withCredentials(Self.socks5, "alice", "pw")
        let (result, transport) = Self.run(proxy, to: Self.web, script: Self.choosePassword + [0x02, 0x00] + Self.appData)
        #expect(result == .failure(.malformedReply("authentication reply has version 2, expected 1")))
        #expect(transport.sent.count == 2)
        Self.expectStoppedAtAppData(transport)
    }

    @Test(arguments: [0, 256])
    func unencodableUsernameIsAnInvalidRequest(length: Int) {
        var proxy = Self.socks5
        proxy.credentials = ProxyCredentials(username: [UInt8](repeating: 0x61, count: length), password: [])
        let (result, transport) = Self.run(proxy, to: Self.web, script: Self.choosePassword + Self.appData)
        #expect(result == .failure(.invalidRequest("username must be 1 to 255 bytes")))
        #expect(transport.sent == [Self.greetingWithPassword])
    }

    // MARK: SOCKS5 request failures

    @Test(arguments: socks5ReplyCodeCases.filter { $0.raw != 0 }, chunkSizes)
    func socks5Refusal(_ row: ReplyCodeCase, chunkSize: Int) {
        let reply: [UInt8] = [0x05, row.raw, 0x00, 0x01, 0, 0, 0, 0, 0, 0]
        let (result, transport) = Self.run(Self.socks5, to: Self.web, script: Self.chooseNoAuth + reply + Self.appData,
                                           chunkSize: chunkSize)
        #expect(result == .failure(.socks5Refused(Socks5ReplyCode(row.raw))))
        if case .failure(let error) = result {
            #expect(error.errno == row.errno)
            #expect(error.reason == "proxy refused: " + row.reason)
        }
        Self.expectStoppedAtAppData(transport)
    }

    @Test func socks5RefusalWithADomainBound() {
        let reply: [UInt8] = [0x05, 0x04, 0x00, 0x03, 3] + ascii("abc") + [0, 0]
        let (result, transport) = Self.run(Self.socks5h, to: destination("nowhere.invalid", 80),
                                           script: Self.chooseNoAuth + reply + Self.appData)
        #expect(result == .failure(.socks5Refused(.hostUnreachable)))
        Self.expectStoppedAtAppData(transport)
    }

    /// The proxy said "refused" and hung up before finishing the reply: still the refusal.
    static let cutShortRefusals: [[UInt8]] = [
        [0x05, 0x05],
        [0x05, 0x05, 0x00],
        [0x05, 0x05, 0x00, 0x01],
        [0x05, 0x05, 0x00, 0x01, 10],
        [0x05, 0x05, 0x00, 0x01, 10, 0, 0, 1, 0],
        [0x05, 0x05, 0x00, 0x04, 0x20, 0x01],
        [0x05, 0x05, 0x00, 0x03, 20] + ascii("abc"),
    ]

    @Test(arguments: cutShortRefusals, chunkSizes)
    func refusalCutShortIsStillTheRefusal(partial: [UInt8], chunkSize: Int) {
        let (result, _) = Self.run(Self.socks5, to: Self.web, script: Self.chooseNoAuth + partial, chunkSize: chunkSize)
        #expect(result == .failure(.socks5Refused(.connectionRefused)))
    }

    @Test(arguments: socks5ReplyCodeCases.filter { $0.raw != 0 })
    func everyRefusalCodeCutShortAfterTwoBytes(_ row: ReplyCodeCase) {
        let (result, _) = Self.run(Self.socks5, to: Self.web, script: Self.chooseNoAuth + [0x05, row.raw])
        #expect(result == .failure(.socks5Refused(Socks5ReplyCode(row.raw))))
    }

    struct Truncated: Sendable, CustomTestStringConvertible {
        var name: String
        var proxy: ProxySpec
        var script: [UInt8]
        var received: Int
        var expected: Int
        var testDescription: String { name }
    }

    static let truncations: [Truncated] = [
        Truncated(name: "nothing at all", proxy: socks5, script: [], received: 0, expected: 2),
        Truncated(name: "half a method selection", proxy: socks5, script: [0x05], received: 1, expected: 2),
        Truncated(name: "no reply to the request", proxy: socks5, script: chooseNoAuth, received: 0, expected: 5),
        Truncated(name: "1 byte of reply", proxy: socks5, script: chooseNoAuth + [0x05], received: 1, expected: 5),
        Truncated(name: "success cut after 2", proxy: socks5, script: chooseNoAuth + [0x05, 0x00], received: 2, expected: 5),
        Truncated(name: "success cut after 4", proxy: socks5, script: chooseNoAuth + [0x05, 0x00, 0x00, 0x01], received: 4, expected: 5),
        Truncated(name: "success cut after 5", proxy: socks5, script: chooseNoAuth + Array(okReply[0..<5]), received: 5, expected: 10),
        Truncated(name: "success cut after 9", proxy: socks5, script: chooseNoAuth + Array(okReply[0..<9]), received: 9, expected: 10),
        Truncated(name: "IPv6 success cut", proxy: socks5, script: chooseNoAuth + [0x05, 0x00, 0x00, 0x04, 0, 0, 0], received: 7, expected: 22),
        Truncated(name: "domain success cut", proxy: socks5, script: chooseNoAuth + [0x05, 0x00, 0x00, 0x03, 10, 0x61], received: 6, expected: 17),
        Truncated(name: "wrong version cut after 2 is no refusal", proxy: socks5, script: chooseNoAuth + [0x04, 0x01], received: 2, expected: 5),
        Truncated(name: "no password verdict", proxy: withCredentials(socks5, "u", "p"), script: choosePassword, received: 0, expected: 2),
        Truncated(name: "half a password verdict", proxy: withCredentials(socks5, "u", "p"), script: choosePassword + [0x01], received: 1, expected: 2),
        Truncated(name: "no SOCKS4 reply", proxy: socks4, script: [], received: 0, expected: 8),
        Truncated(name: "SOCKS4 reply cut after 3", proxy: socks4, script: [0x00, 90, 0], received: 3, expected: 8),
        Truncated(name: "SOCKS4 refusal cut after 7", proxy: socks4, script: [0x00, 91, 0, 0, 0, 0, 0], received: 7, expected: 8),
    ]

    @Test(arguments: truncations, chunkSizes)
    func truncatedReplyIsClosedByProxy(_ row: Truncated, chunkSize: Int) {
        let (result, transport) = Self.run(row.proxy, to: Self.web, script: row.script, chunkSize: chunkSize)
        #expect(result == .failure(.closedByProxy(received: row.received, expected: row.expected)))
        #expect(SocksError.closedByProxy(received: row.received, expected: row.expected).errno == ECONNRESET)
        #expect(transport.remaining.isEmpty)
    }

    @Test func replyWithWrongVersion() {
        var reply = Self.okReply
        reply[0] = 0x04
        let (result, transport) = Self.run(Self.socks5, to: Self.web, script: Self.chooseNoAuth + reply + Self.appData)
        #expect(result == .failure(.malformedReply("reply has version 4, expected 5")))
        #expect(transport.receives.map(\.total) == [2, 5])
        // The read may take up to 10 bytes (an IPv4 reply's length); the exchange fails anyway.
        #expect(Array(transport.remaining) == Array((Array(reply[5...]) + Self.appData)[5...]))
    }

    @Test func replyWithUnknownAddressType() {
        let reply: [UInt8] = [0x05, 0x00, 0x00, 0x09, 0]
        let (result, transport) = Self.run(Self.socks5, to: Self.web, script: Self.chooseNoAuth + reply + Self.appData)
        #expect(result == .failure(.malformedReply("unknown address type 9")))
        #expect(Array(transport.remaining) == Array(Self.appData[5...]), "read ahead to 10 bytes; the exchange fails anyway")
    }

    @Test func unencodableDestinationIsAnInvalidRequest() {
        let name = String(repeating: "a", count: 256)
        let (result, transport) = Self.run(Self.socks5h, to: destination(name, 80), script: Self.chooseNoAuth + Self.appData)
        #expect(result == .failure(.invalidRequest("a domain name must be 1 to 255 bytes")))
        #expect(transport.sent == [Self.greetingNoAuth])
        Self.expectStoppedAtAppData(transport)
    }

    // MARK: SOCKS4 failures

    @Test(arguments: [(UInt8(91), ECONNREFUSED), (92, ECONNREFUSED), (93, EACCES)] as [(UInt8, Int32)], chunkSizes)
    func socks4Refusal(code: (UInt8, Int32), chunkSize: Int) {
        let (result, transport) = Self.run(Self.socks4, to: Self.web, script: [0x00, code.0, 0, 0, 0, 0, 0, 0] + Self.appData,
                                           chunkSize: chunkSize)
        #expect(result == .failure(.socks4Refused(Socks4ReplyCode(code.0))))
        if case .failure(let error) = result { #expect(error.errno == code.1) }
        Self.expectStoppedAtAppData(transport)
    }

    @Test func socks4ReplyWithWrongVersion() {
        let (result, transport) = Self.run(Self.socks4, to: Self.web, script: [0x05, 90, 0, 0, 0, 0, 0, 0] + Self.appData)
        #expect(result == .failure(.malformedReply("SOCKS4 reply has version 5, expected 0")))
        Self.expectStoppedAtAppData(transport)
    }

    @Test func socks4ReplyWithUnknownCode() {
        let (result, transport) = Self.run(Self.socks4a, to: Self.web, script: [0x00, 0x00, 0, 0, 0, 0, 0, 0] + Self.appData)
        #expect(result == .failure(.malformedReply("unknown SOCKS4 reply code 0")))
        Self.expectStoppedAtAppData(transport)
    }

    @Test(arguments: socks4Proxies)
    func ipv6OverSocks4IsUnsupported(proxy: ProxySpec) {
        let (result, transport) = Self.run(proxy, to: destination("2001:db8::1", 443), script: Self.appData)
        #expect(result == .failure(.unsupportedDestination("SOCKS4 cannot carry an IPv6 destination")))
        #expect(transport.sent.isEmpty)
        #expect(transport.receives.isEmpty)
        if case .failure(let error) = result { #expect(error.errno == EAFNOSUPPORT) }
    }

    @Test func domainOverPlainSocks4IsUnsupported() {
        let (result, transport) = Self.run(Self.socks4, to: destination("example.com", 80), script: Self.appData)
        #expect(result == .failure(.unsupportedDestination("SOCKS4 cannot carry a host name; use socks4a://")))
        #expect(transport.sent.isEmpty)
        #expect(transport.receives.isEmpty)
        if case .failure(let error) = result { #expect(error.errno == EAFNOSUPPORT) }
    }

    // MARK: transport failures pass through unchanged

    @Test(arguments: oneOfEach)
    func sendFailure(proxy: ProxySpec) {
        var transport = ScriptedTransport(Self.chooseNoAuth + Self.okReply)
        transport.failSend = .io(errno: EPIPE)
        #expect(throws: SocksError.io(errno: EPIPE)) {
            try ClientHandshake.connect(over: &transport, proxy: proxy, to: Self.web)
        }
    }

    @Test(arguments: oneOfEach)
    func receiveTimeout(proxy: ProxySpec) {
        var transport = ScriptedTransport([])
        transport.failReceive = .timedOut(phase: "waiting for the proxy's reply")
        #expect(throws: SocksError.timedOut(phase: "waiting for the proxy's reply")) {
            try ClientHandshake.connect(over: &transport, proxy: proxy, to: Self.web)
        }
    }

    // MARK: the two SOCKS5 steps on their own

    @Test func negotiateOnly() throws {
        var transport = ScriptedTransport(Self.chooseNoAuth + Self.appData)
        try ClientHandshake.negotiateSocks5Method(over: &transport, credentials: nil)
        #expect(transport.sent == [Self.greetingNoAuth])
        Self.expectStoppedAtAppData(transport)
    }

    @Test(arguments: [Socks5Command.connect, .bind, .udpAssociate])
    func requestOnly(command: Socks5Command) throws {
        var transport = ScriptedTransport(Self.okReply + Self.appData)
        let bound = try ClientHandshake.socks5Request(over: &transport, Socks5Request(command: command, destination: Self.web))
        #expect(bound == Self.okBound)
        #expect(transport.sent == [[0x05, command.rawValue] + Array(Self.webRequest[2...])])
        Self.expectStoppedAtAppData(transport)
    }
}
