/// Why a proxy URL was not accepted; `message` is one line for a person.
public struct ProxyURLError: Error, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// Parses `SCHEME://[USER[:PASS]@]HOST[:PORT][/][?pipeline=1]` with SCHEME one of socks5,
/// socks5h, socks4, socks4a, http (an HTTP CONNECT proxy); IPv6 hosts in brackets; USER and PASS may be %-encoded; PORT
/// defaults to 1080. `pipeline=1` (or `0`, the default) is the only query parameter.
public enum ProxyURL {
    public static let defaultPort: UInt16 = 1080

    public static func parse(_ url: String) throws(ProxyURLError) -> ProxySpec {
        let bytes = Array(url.utf8)
        var text: String { redacted(bytes) }  // messages are logged: never with the password
        guard let schemeEnd = find(bytes, "://") else {
            throw ProxyURLError("'" + text + "' is not a proxy URL: expected e.g. socks5://127.0.0.1:1080")
        }
        let scheme = asciiLowercased(Array(bytes[0..<schemeEnd]))
        guard !scheme.contains(UInt8(ascii: "@")), !scheme.contains(UInt8(ascii: ":")) else {
            throw ProxyURLError("'" + text + "' is not a proxy URL: expected e.g. socks5://127.0.0.1:1080")
        }
        let proto: ProxyProtocol
        switch scheme {
        case Array("socks5".utf8): proto = .socks5
        case Array("socks5h".utf8): proto = .socks5h
        case Array("socks4".utf8): proto = .socks4
        case Array("socks4a".utf8): proto = .socks4a
        case Array("http".utf8): proto = .http
        case Array("https".utf8):
            throw ProxyURLError("https:// proxies (TLS to the proxy) are not supported in '" + text + "': use http:// for an HTTP CONNECT proxy")
        default:
            throw ProxyURLError("unsupported scheme '" + string(scheme) + "' in '" + text + "': use socks5, socks5h, socks4, socks4a or http")
        }
        var rest = Array(bytes[(schemeEnd + 3)...])
        var pipeline = false
        if let question = queryStart(rest) {
            pipeline = try parseQuery(Array(rest[(question + 1)...]), in: text)
            rest.removeSubrange(question...)
        }
        if rest.last == UInt8(ascii: "/") { rest.removeLast() }
        guard !rest.contains(UInt8(ascii: "/")), !rest.contains(UInt8(ascii: "?")), !rest.contains(UInt8(ascii: "#")) else {
            throw ProxyURLError("a proxy URL has no path, and no query but ?pipeline=1: '" + text + "'")
        }

        var credentials: ProxyCredentials? = nil
        if let at = rest.lastIndex(of: UInt8(ascii: "@")) {
            let userInfo = Array(rest[0..<at])
            rest = Array(rest[(at + 1)...])
            let colon = userInfo.firstIndex(of: UInt8(ascii: ":"))
            let user = try percentDecoded(colon.map { Array(userInfo[0..<$0]) } ?? userInfo, in: text)
            let pass = try percentDecoded(colon.map { Array(userInfo[($0 + 1)...]) } ?? [], in: text)
            guard !user.isEmpty else { throw ProxyURLError("empty user name in '" + text + "'") }
            guard user.count <= 255, pass.count <= 255 else {
                throw ProxyURLError("user name and password are limited to 255 bytes each (RFC 1929)")
            }
            if (proto == .socks4 || proto == .socks4a) && colon != nil {
                throw ProxyURLError("SOCKS4 has a user id but no password: drop ':PASSWORD' from '" + text + "'")
            }
            credentials = ProxyCredentials(username: user, password: pass)
        }

        let host: [UInt8]
        var portText: [UInt8]? = nil
        if rest.first == UInt8(ascii: "[") {
            guard let close = rest.firstIndex(of: UInt8(ascii: "]")) else {
                throw ProxyURLError("missing ']' after the IPv6 address in '" + text + "'")
            }
            host = Array(rest[1..<close])
            let after = Array(rest[(close + 1)...])
            if !after.isEmpty {
                guard after.first == UInt8(ascii: ":") else { throw ProxyURLError("unexpected text after ']' in '" + text + "'") }
                portText = Array(after.dropFirst())
            }
            guard case .v6? = IPAddress.parse(bytes: host) else {
                throw ProxyURLError("'" + string(host) + "' in brackets is not an IPv6 address")
            }
        } else {
            if let colon = rest.firstIndex(of: UInt8(ascii: ":")) {
                host = Array(rest[0..<colon])
                portText = Array(rest[(colon + 1)...])
            } else {
                host = rest
            }
            guard !host.contains(UInt8(ascii: ":")), !(portText?.contains(UInt8(ascii: ":")) ?? false) else {
                throw ProxyURLError("put an IPv6 proxy address in brackets: socks5://[::1]:1080")
            }
        }
        guard !host.isEmpty else { throw ProxyURLError("no proxy host in '" + text + "'") }
        guard host.allSatisfy(isHostByte) else {
            throw ProxyURLError("invalid character in proxy host '" + string(host) + "'")
        }
        var port = defaultPort
        if let portText {
            guard let value = parsePort(portText) else {
                throw ProxyURLError("invalid port '" + string(portText) + "' in '" + text + "': expected 1 to 65535")
            }
            port = value
        }
        return ProxySpec(proto: proto, host: string(host), port: port, credentials: credentials, pipeline: pipeline)
    }

    /// Where the query begins in what follows "://": the first '?' after the last '@', so a '?'
    /// in a password is never taken (nor quoted in an error) as a parameter.
    static func queryStart(_ rest: [UInt8]) -> Int? {
        let hostStart = rest.lastIndex(of: UInt8(ascii: "@")).map { $0 + 1 } ?? 0
        return rest[hostStart...].firstIndex(of: UInt8(ascii: "?"))
    }

    /// Whether a URL (as text) carries a query: a rules file then cannot say `pipeline` again.
    public static func hasQuery(_ url: [UInt8]) -> Bool {
        guard let schemeEnd = find(url, "://") else { return false }
        return queryStart(Array(url[(schemeEnd + 3)...])) != nil
    }

    /// `pipeline=1` or `pipeline=0`, once; nothing else.
    static func parseQuery(_ query: [UInt8], in text: String) throws(ProxyURLError) -> Bool {
        var pipeline: Bool? = nil
        for item in query.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: false) {
            let parts = item.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = Array(parts[0])
            guard !name.isEmpty else {
                throw ProxyURLError("empty query parameter in '" + text + "': the only one is pipeline=1 (or pipeline=0)")
            }
            guard name == Array("pipeline".utf8) else {
                throw ProxyURLError("unknown parameter '" + string(name) + "' in '" + text + "': the only one is pipeline=1 (or pipeline=0)")
            }
            guard pipeline == nil else { throw ProxyURLError("pipeline is given twice in '" + text + "'") }
            switch parts.count == 2 ? Array(parts[1]) : [] {
            case [UInt8(ascii: "1")]: pipeline = true
            case [UInt8(ascii: "0")]: pipeline = false
            default: throw ProxyURLError("pipeline takes 1 or 0 in '" + text + "', e.g. socks5://127.0.0.1:1080?pipeline=1")
            }
        }
        return pipeline ?? false
    }

    /// The URL with the password (if any) shown as ****.
    /// Every "user:password@" in the text, wherever it stands (even in text that is not quite a
    /// URL), has its password replaced: in each run between '/' and blanks, from the first ':'
    /// before the last '@' up to that '@' (a password may itself hold '@', as the parser allows).
    public static func redacted(_ bytes: [UInt8]) -> String {
        var passwords: [Range<Int>] = []
        var start = 0
        for end in 0...bytes.count where end == bytes.count || bytes[end] == UInt8(ascii: "/") || bytes[end] <= 0x20 {
            if let at = bytes[start..<end].lastIndex(of: UInt8(ascii: "@")),
               let colon = bytes[start..<at].firstIndex(of: UInt8(ascii: ":")) {
                passwords.append((colon + 1)..<at)
            }
            start = end + 1
        }
        var out: [UInt8] = []
        var i = 0
        for password in passwords {
            out += bytes[i..<password.lowerBound]
            out += Array("****".utf8)
            i = password.upperBound
        }
        out += bytes[i...]
        return string(out)
    }

    static func parsePort(_ digits: [UInt8]) -> UInt16? {
        guard !digits.isEmpty, digits.count <= 5 else { return nil }
        var value = 0
        for d in digits {
            guard d >= UInt8(ascii: "0"), d <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(d - UInt8(ascii: "0"))
        }
        return (1...65535).contains(value) ? UInt16(value) : nil
    }

    static func isHostByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
            || b == UInt8(ascii: "-") || b == UInt8(ascii: ".") || b == UInt8(ascii: "_")
            || b == UInt8(ascii: ":") || b == UInt8(ascii: "%")
    }

    static func percentDecoded(_ bytes: [UInt8], in text: String) throws(ProxyURLError) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%") {
                guard i + 2 < bytes.count, let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2]) else {
                    throw ProxyURLError("bad %-escape in the credentials of '" + text + "'")
                }
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    static func find(_ bytes: [UInt8], _ needle: String) -> Int? {
        let n = Array(needle.utf8)
        guard bytes.count >= n.count else { return nil }
        for i in 0...(bytes.count - n.count) where Array(bytes[i..<(i + n.count)]) == n { return i }
        return nil
    }

    static func asciiLowercased(_ bytes: [UInt8]) -> [UInt8] {
        bytes.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 + 32 : $0 }
    }

    static func string(_ bytes: [UInt8]) -> String {
        var s = ""
        for b in bytes { s.unicodeScalars.append(Unicode.Scalar(b)) }
        return s
    }
}

#if !hasFeature(Embedded)
// Tests compare these; the shim never does, and String == would pull Unicode tables into it.
extension ProxyURLError: Equatable {}
#endif
