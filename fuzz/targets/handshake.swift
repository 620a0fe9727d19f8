// ClientHandshake.connect against a proxy that says the fuzzer's bytes. Byte 0 picks the proxy
// (socks5, socks5h with a password, socks4, socks4a with a user id), the destination and the
// size of the reads; the rest is everything the proxy sends.

struct FuzzTransport: HandshakeTransport {
    var script: [UInt8]
    var chunkSize: Int
    var position = 0
    var largestAsk = 0
    var askedForNothing = false
    var askedPastTheScript = false

    mutating func send(_ bytes: [UInt8]) throws(SocksError) {}

    mutating func receive(into buffer: inout [UInt8], total: Int) throws(SocksError) {
        largestAsk = max(largestAsk, total)
        if total <= buffer.count { askedForNothing = true }
        if total - buffer.count > script.count - position { askedPastTheScript = true }
        while buffer.count < total {
            guard position < script.count else { throw .closedByProxy(received: buffer.count, expected: total) }
            let n = min(chunkSize, total - buffer.count, script.count - position)
            buffer += script[position..<(position + n)]
            position += n
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHandshake(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let all = bytes(data, size)
    guard let selector = all.first else { return 0 }
    let script = Array(all.dropFirst())

    var proxy = ProxySpec(proto: [.socks5, .socks5h, .socks4, .socks4a][Int(selector & 3)], host: "127.0.0.1", port: 1080)
    if proxy.proto == .socks5h { proxy.credentials = ProxyCredentials(username: Array("u".utf8), password: Array("p".utf8)) }
    if proxy.proto == .socks4a { proxy.credentials = ProxyCredentials(username: Array("alice".utf8), password: []) }
    let destinations = [
        SocksDestination(.ip(.v4(IPv4Address(93, 184, 216, 34))), port: 443),
        SocksDestination(.ip(.v6(IPv6Address(high: 0x2001_0db8_0000_0000, low: 1))), port: 80),
        SocksDestination(.domain("example.com"), port: 80),
    ]
    let target = proxy.proto == .socks4 ? destinations[0] : destinations[Int(selector >> 2) % 3]
    let chunkSize = [1, 2, 3, 7, Int.max][Int(selector >> 4) % 5]

    var transport = FuzzTransport(script: script, chunkSize: chunkSize)
    let result: Result<SocksDestination?, SocksError>
    do throws(SocksError) {
        result = .success(try ClientHandshake.connect(over: &transport, proxy: proxy, to: target))
    } catch {
        result = .failure(error)
    }

    let cap = proxy.proto.isSocks5 ? 3 + 1 + 1 + 255 + 2 : 8
    require(!transport.askedForNothing, "a receive asked for no bytes", all)
    require(transport.largestAsk <= cap, "asked for \(transport.largestAsk) bytes, more than a reply holds", all)

    // Where the replies end, as the decoders delimit them.
    var end: Int? = nil
    var bound: SocksDestination? = nil
    if proxy.proto.isSocks5 {
        if case .message(let selection, let c1)? = try? Socks5MethodSelection.decode(script[...]) {
            var at = c1
            if selection.method == .usernamePassword, case .message(_, let c2)? = try? Socks5PasswordReply.decode(script[at...]) {
                at += c2
            }
            if case .message(let reply, let c3)? = try? Socks5Reply.decode(script[at...]) {
                end = at + c3
                bound = reply.bound
            }
        }
    } else if case .message(let reply, let c)? = try? Socks4Reply.decode(script[...]) {
        end = c
        bound = SocksDestination(.ip(.v4(reply.address)), port: reply.port)
    }

    switch result {
    case .success(let got):
        require(transport.position == end, "succeeded after \(transport.position) bytes; the replies end at \(String(describing: end))", all)
        require(got == bound, "bound \(String(describing: got)), the reply says \(String(describing: bound))", all)
        require(!transport.askedPastTheScript, "succeeded but asked past the script", all)
    case .failure(let error):
        require(!error.reason.isEmpty, "an error without a reason", all)
        if case .closedByProxy(let received, let expected) = error {
            require(transport.position == script.count && received < expected && expected <= cap, "\(error)", all)
        }
        if let end { require(transport.position <= end, "failed after reading past the replies' end", all) }
    }
    return 0
}
