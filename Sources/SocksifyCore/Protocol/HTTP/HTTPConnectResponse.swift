/// The head of an HTTP proxy's answer to CONNECT: the status line and the header fields, up to
/// the empty line. Everything after the head belongs to the tunnel, so the decoder asks for the
/// fewest bytes that could still complete it and never for one past its end.
public struct HTTPConnectResponse: Sendable {
    public var status: Int
    /// The status line, printable ASCII only, for the log.
    public var statusLine: String
    /// The realm of a `Proxy-Authenticate` challenge, when the proxy sent one.
    public var realm: String?

    /// The longest head accepted: a proxy's answer to CONNECT is a line or two.
    public static let maximumHead = 8192

    public var succeeded: Bool { status >= 200 && status < 300 }

    public static func decode(_ bytes: ArraySlice<UInt8>) throws(SocksError) -> DecodeResult<HTTPConnectResponse> {
        let prefix = Array("HTTP/".utf8)
        for (i, b) in bytes.prefix(prefix.count).enumerated() where b != prefix[i] {
            throw .malformedReply("not an HTTP response (is it an HTTP proxy?): " + printable(bytes.prefix(16)))
        }
        guard let end = headEnd(bytes) else {
            guard bytes.count < maximumHead else {
                throw .malformedReply("an HTTP response head over " + String(maximumHead) + " bytes")
            }
            // The head ends with an empty line: "\n\n" at the least (bare LF is tolerated), or
            // the one byte that completes a "\n\r\n" begun.
            let endsWithLF = bytes.last == UInt8(ascii: "\n")
            let endsWithLFCR = bytes.count >= 2 && bytes.last == 13 && bytes[bytes.endIndex - 2] == UInt8(ascii: "\n")
            return .needMore(total: bytes.count + (endsWithLF || endsWithLFCR ? 1 : 2))
        }
        let head = Array(bytes.prefix(end))
        var lines = head.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line -> ArraySlice<UInt8> in
            line.last == 13 ? line.dropLast() : line
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let statusLine = lines.first else { throw .malformedReply("an empty HTTP response") }
        // HTTP/1.x SP 3DIGIT [SP reason]
        let words = statusLine.split(separator: UInt8(ascii: " "), maxSplits: 2, omittingEmptySubsequences: false)
        guard words.count >= 2, words[0].count == 8, words[0].starts(with: Array("HTTP/1.".utf8)),
              words[1].count == 3, words[1].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw .malformedReply("not an HTTP status line: " + printable(statusLine))
        }
        let status = words[1].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        guard status >= 100 else { throw .malformedReply("HTTP status " + String(status)) }
        var realm: String? = nil
        var previous: [UInt8]? = nil
        var fields: [[UInt8]] = []
        for line in lines.dropFirst() {
            if line.first == UInt8(ascii: " ") || line.first == 9 {  // obs-fold: continues the field before it
                guard let last = previous else { throw .malformedReply("a folded line before any header field") }
                previous = last + [UInt8(ascii: " ")] + Array(line.drop { $0 == 32 || $0 == 9 })
                fields[fields.count - 1] = previous!
                continue
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else {
                throw .malformedReply("not an HTTP header field: " + printable(line))
            }
            previous = Array(line)
            fields.append(previous!)
        }
        for field in fields {
            let colon = field.firstIndex(of: UInt8(ascii: ":"))!
            guard asciiLowercased(field[..<colon]) == Array("proxy-authenticate".utf8) else { continue }
            realm = realm ?? realmOf(Array(field[(colon + 1)...]))
        }
        return .message(HTTPConnectResponse(status: status, statusLine: printable(statusLine), realm: realm), consumed: end)
    }

    /// The index just past the empty line that ends the head, if it has arrived.
    static func headEnd(_ bytes: ArraySlice<UInt8>) -> Int? {
        var i = bytes.startIndex
        while i < bytes.endIndex {
            if bytes[i] == UInt8(ascii: "\n") {
                let next = i + 1
                if next < bytes.endIndex && bytes[next] == UInt8(ascii: "\n") { return next + 1 - bytes.startIndex }
                if next + 1 < bytes.endIndex && bytes[next] == 13 && bytes[next + 1] == UInt8(ascii: "\n") {
                    return next + 2 - bytes.startIndex
                }
            }
            i += 1
        }
        return nil
    }

    /// `realm="…"` (or a bare token) from a challenge such as `Basic realm="corp proxy"`.
    static func realmOf(_ value: [UInt8]) -> String? {
        let lower = asciiLowercased(value[...])
        let key = Array("realm=".utf8)
        var found: Int? = nil
        var i = 0
        while found == nil && i + key.count <= lower.count {
            if Array(lower[i..<i + key.count]) == key { found = i }
            i += 1
        }
        guard let at = found else { return nil }
        var rest = value[(at + key.count)...]
        if rest.first == UInt8(ascii: "\"") {
            rest = rest.dropFirst()
            return printable(rest.prefix { $0 != UInt8(ascii: "\"") })
        }
        return printable(rest.prefix { $0 != UInt8(ascii: ",") && $0 != 32 })
    }

    static func asciiLowercased(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        bytes.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 + 32 : $0 }
    }

    /// At most 100 bytes, printable ASCII, anything else as '?': proxy text goes to the log.
    static func printable<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        String(decoding: bytes.prefix(100).map { $0 >= 0x20 && $0 < 0x7F ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
    }
}

#if !hasFeature(Embedded)
// Tests compare these; the shim never does, and String == would pull Unicode tables into it.
extension HTTPConnectResponse: Equatable {}
#endif
