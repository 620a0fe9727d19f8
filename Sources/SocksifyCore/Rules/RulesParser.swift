/// Reads a rules file. The format, one statement a line, a `#` starting a word starts a comment:
///
///     proxy NAME URL [password-env VARIABLE | password-file PATH] [pipeline]
///     rule [app PROGRAMS] [to DESTINATIONS] [port PORTS] ACTION
///     default ACTION
///     set strict | proxy-loopback | connect-timeout SECONDS | handshake-timeout SECONDS | failover-retry SECONDS
///
/// ACTION is `direct`, `block`, `via NAME`, `chain NAME NAME…` or `failover NAME NAME…`; lists
/// are comma-separated without spaces. Every problem is reported, each with line and column.
public struct RulesParser {
    struct Token {
        var text: [UInt8]
        var column: Int
    }

    /// Reads the environment (for password-env) and files (for password-file).
    public var environment: (String) -> String?
    public var readFile: (String) -> [UInt8]?

    var set = RuleSet()
    var diagnostics: [RulesDiagnostic] = []
    /// Actions name proxies that may be defined further down; resolved once the file is read.
    /// `rule` is an index into set.rules, or nil for the default.
    var pending: [(rule: Int?, kind: [UInt8], names: [Token], line: Int)] = []
    /// Proxies whose definition had an error (already reported): using them is not another one.
    var brokenProxies: [[UInt8]] = []

    public init(environment: @escaping (String) -> String?, readFile: @escaping (String) -> [UInt8]?) {
        self.environment = environment
        self.readFile = readFile
    }

    /// The rule set, or every problem found (never both).
    public static func parse(
        _ text: [UInt8], environment: @escaping (String) -> String? = { _ in nil },
        readFile: @escaping (String) -> [UInt8]? = { _ in nil }
    ) -> Result<RuleSet, RulesProblems> {
        var parser = RulesParser(environment: environment, readFile: readFile)
        var lineNumber = 0
        for line in text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let tokens = RulesParser.tokenize(Array(line))
            if !tokens.isEmpty { parser.statement(tokens, line: lineNumber) }
        }
        parser.resolveProxyNames()
        if parser.diagnostics.isEmpty { return .success(parser.set) }
        return .failure(RulesProblems(diagnostics: parser.diagnostics))
    }

    static func tokenize(_ line: [UInt8]) -> [Token] {
        var tokens: [Token] = []
        var i = 0
        while i < line.count {
            let b = line[i]
            if b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r") { i += 1; continue }
            if b == UInt8(ascii: "#") { break }
            let start = i
            while i < line.count && line[i] != UInt8(ascii: " ") && line[i] != UInt8(ascii: "\t") && line[i] != UInt8(ascii: "\r") {
                i += 1
            }
            tokens.append(Token(text: Array(line[start..<i]), column: start + 1))
        }
        return tokens
    }

    mutating func error(_ line: Int, _ column: Int, _ message: String, hint: String = "") {
        diagnostics.append(RulesDiagnostic(line: line, column: column, message: message, hint: hint))
    }

    mutating func statement(_ tokens: [Token], line: Int) {
        switch tokens[0].text {
        case Keyword.kProxy: proxyStatement(tokens, line: line)
        case Keyword.kRule: ruleStatement(tokens, line: line)
        case Keyword.kDefault: defaultStatement(tokens, line: line)
        case Keyword.kSet: setStatement(tokens, line: line)
        default:
            error(line, tokens[0].column, "unknown statement '" + s(tokens[0].text) + "'",
                  hint: "a line starts with proxy, rule, default or set")
        }
    }

    // MARK: proxy NAME URL [password-env VAR | password-file PATH] [pipeline]

    mutating func proxyStatement(_ tokens: [Token], line: Int) {
        let before = diagnostics.count
        proxyDefinition(tokens, line: line)
        if diagnostics.count > before, tokens.count >= 2, RulesParser.isName(tokens[1].text) {
            brokenProxies.append(tokens[1].text)
        }
    }

    mutating func proxyDefinition(_ tokens: [Token], line: Int) {
        guard tokens.count >= 3 else {
            error(line, tokens[0].column, "a proxy needs a name and a URL", hint: "proxy corp socks5://proxy.example:1080")
            return
        }
        let name = tokens[1]
        guard RulesParser.isName(name.text) else {
            error(line, name.column, "invalid proxy name '" + s(name.text) + "'", hint: "use letters, digits, '-' and '_'")
            return
        }
        if set.proxies.contains(where: { $0.name == name.text }) || brokenProxies.contains(name.text) {
            error(line, name.column, "proxy '" + s(name.text) + "' is defined twice")
            return
        }
        var spec: ProxySpec
        do throws(ProxyURLError) {
            spec = try ProxyURL.parse(s(tokens[2].text))
        } catch {
            self.error(line, tokens[2].column, error.message)
            return
        }
        // Options after the URL, in any order: one password source, and the pipeline word.
        var passwordGiven = false
        var missingSecret: String? = nil
        var pipelineGiven = false
        var i = 3
        while i < tokens.count {
            let option = tokens[i]
            switch option.text {
            case Keyword.kPipeline:
                guard !pipelineGiven else {
                    error(line, option.column, "'pipeline' appears twice")
                    return
                }
                guard !ProxyURL.hasQuery(tokens[2].text) else {
                    error(line, option.column, "the URL already says ?pipeline=: say it once",
                          hint: "drop the URL's ?pipeline=… or the word pipeline")
                    return
                }
                pipelineGiven = true
                spec.pipeline = true
                i += 1
            case Keyword.kPasswordEnv, Keyword.kPasswordFile:
                guard !passwordGiven else {
                    error(line, option.column, "a second password source",
                          hint: "give either password-env VARIABLE or password-file PATH")
                    return
                }
                guard i + 1 < tokens.count else {
                    error(line, option.column, "'" + s(option.text) + "' needs a value",
                          hint: option.text == Keyword.kPasswordEnv ? "password-env VARIABLE" : "password-file PATH")
                    return
                }
                guard password(&spec, missing: &missingSecret, from: option, tokens[i + 1], line: line) else { return }
                passwordGiven = true
                i += 2
            default:
                error(line, option.column, "unexpected '" + s(option.text) + "'",
                      hint: "after the URL only 'password-env VARIABLE' or 'password-file PATH', and 'pipeline', may follow")
                return
            }
        }
        set.proxies.append(NamedProxy(name: name.text, spec: spec, line: line, missingSecret: missingSecret))
    }

    /// `password-env VARIABLE` or `password-file PATH`: the password for a URL that has a user
    /// and none. False when it reported a problem.
    mutating func password(_ spec: inout ProxySpec, missing: inout String?, from option: Token, _ valueToken: Token, line: Int) -> Bool {
        let keyword = option.text
        guard spec.proto.isSocks5 || spec.proto == .http else {
            error(line, option.column, "SOCKS4 has no password, so " + s(keyword) + " has nothing to set",
                  hint: "use a socks5://, socks5h:// or http:// proxy, or drop " + s(keyword))
            return false
        }
        guard spec.credentials != nil, spec.credentials!.password.isEmpty else {
            error(line, option.column, s(keyword) + " needs a URL with a user and no password",
                  hint: "socks5://alice@proxy.example:1080 " + s(keyword) + " …")
            return false
        }
        let value = s(valueToken.text)
        if keyword == Keyword.kPasswordEnv {
            guard let password = environment(value) else {
                // The environment's problem, not the file's: the proxy is defined, and the first
                // connection that needs it fails with this reason.
                missing = "environment variable " + value + " is not set"
                set.warnings.append(RulesDiagnostic(line: line, column: valueToken.column, message: missing!,
                                                    hint: "export " + value + "=… before running socksify"))
                return true
            }
            spec.credentials!.password = Array(password.utf8)
        } else {
            guard var content = readFile(value) else {
                missing = "cannot read the password file '" + value + "'"
                set.warnings.append(RulesDiagnostic(line: line, column: valueToken.column, message: missing!))
                return true
            }
            while let last = content.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { content.removeLast() }
            spec.credentials!.password = content
        }
        guard spec.credentials!.password.count <= 255 else {
            error(line, valueToken.column, "the password is longer than 255 bytes (RFC 1929)")
            return false
        }
        return true
    }

    // MARK: rule [app …] [to …] [port …] ACTION

    mutating func ruleStatement(_ tokens: [Token], line: Int) {
        var rule = Rule()
        rule.line = line
        var seen: [[UInt8]] = []
        var i = 1
        while i < tokens.count {
            let keyword = tokens[i].text
            guard keyword == Keyword.kApp || keyword == Keyword.kTo || keyword == Keyword.kPort else { break }
            if seen.contains(keyword) {
                error(line, tokens[i].column, "'" + s(keyword) + "' appears twice in one rule", hint: "put all values in one comma-separated list")
                return
            }
            seen.append(keyword)
            guard i + 1 < tokens.count else {
                error(line, tokens[i].column, "'" + s(keyword) + "' needs a value")
                return
            }
            let value = tokens[i + 1]
            guard let items = list(value, line: line) else { return }
            switch keyword {
            case Keyword.kApp: rule.programs = items.map { ProgramPattern($0.text) }
            case Keyword.kTo:
                for item in items {
                    guard let pattern = destination(item, line: line) else { return }
                    rule.destinations.append(pattern)
                }
            default:
                guard let ports = portSet(items, line: line) else { return }
                rule.ports = ports
            }
            i += 2
        }
        guard i < tokens.count else {
            error(line, tokens[tokens.count - 1].column + tokens[tokens.count - 1].text.count, "the rule has no action",
                  hint: "end it with direct, block, via NAME, chain NAME NAME… or failover NAME NAME…")
            return
        }
        guard let action = action(Array(tokens[i...]), line: line, rule: set.rules.count) else { return }
        rule.action = action
        set.rules.append(rule)
    }

    mutating func defaultStatement(_ tokens: [Token], line: Int) {
        if let previous = set.defaultLine {
            error(line, tokens[0].column, "a second default (the first is on line " + String(previous) + ")")
            return
        }
        guard tokens.count >= 2 else {
            error(line, tokens[0].column, "default needs an action", hint: "default direct, default block or default via NAME")
            return
        }
        guard let action = action(Array(tokens[1...]), line: line, rule: nil) else { return }
        set.defaultAction = action
        set.defaultLine = line
    }

    mutating func action(_ tokens: [Token], line: Int, rule: Int?) -> RuleAction? {
        let word = tokens[0].text
        switch word {
        case Keyword.kDirect, Keyword.kBlock:
            guard tokens.count == 1 else {
                error(line, tokens[1].column, "nothing may follow '" + s(word) + "'")
                return nil
            }
            return word == Keyword.kDirect ? .direct : .block
        case Keyword.kVia, Keyword.kChain, Keyword.kFailover:
            let names = Array(tokens.dropFirst())
            let isVia = word == Keyword.kVia
            if isVia && names.count != 1 {
                error(line, tokens[0].column, "via takes exactly one proxy name",
                      hint: names.isEmpty ? "via NAME" : "for several proxies use chain (through each in turn) or failover (the first that works)")
                return nil
            }
            if !isVia && names.count < 2 {
                error(line, tokens[0].column, s(word) + " takes two or more proxy names", hint: "with one proxy, write via NAME")
                return nil
            }
            pending.append((rule, word, names, line))
            return .direct  // replaced in resolveProxyNames()
        default:
            error(line, tokens[0].column, "unknown action '" + s(word) + "'",
                  hint: "direct, block, via NAME, chain NAME NAME… or failover NAME NAME…")
            return nil
        }
    }

    /// Proxies may be used before the line that defines them, so names become indexes here.
    mutating func resolveProxyNames() {
        for (rule, kind, names, line) in pending {
            var indexes: [Int] = []
            for name in names {
                if let index = set.proxies.firstIndex(where: { $0.name == name.text }) {
                    indexes.append(index)
                    continue
                }
                if brokenProxies.contains(name.text) { continue }
                let known = set.proxies.map { s($0.name) }.joined(separator: ", ")
                error(line, name.column, "no proxy named '" + s(name.text) + "'",
                      hint: known.isEmpty ? "define it with: proxy " + s(name.text) + " socks5://HOST:PORT" : "defined proxies: " + known)
            }
            guard indexes.count == names.count else { continue }
            let action: RuleAction
            switch kind {
            case Keyword.kVia: action = .via(indexes[0])
            case Keyword.kChain: action = .chain(indexes)
            default: action = .failover(indexes)
            }
            if let rule { set.rules[rule].action = action } else { set.defaultAction = action }
        }
        diagnostics.sort { ($0.line, $0.column) < ($1.line, $1.column) }
    }

    // MARK: set OPTION [VALUE]

    mutating func setStatement(_ tokens: [Token], line: Int) {
        guard tokens.count >= 2 else {
            error(line, tokens[0].column, "set needs an option", hint: "strict, proxy-loopback, connect-timeout, handshake-timeout or failover-retry")
            return
        }
        let option = tokens[1].text
        switch option {
        case Keyword.kStrict, Keyword.kProxyLoopback:
            guard tokens.count == 2 else {
                error(line, tokens[2].column, "'" + s(option) + "' takes no value")
                return
            }
            if option == Keyword.kStrict { set.options.strict = true } else { set.options.proxyLoopback = true }
        case Keyword.kConnectTimeout, Keyword.kHandshakeTimeout, Keyword.kFailoverRetry:
            guard tokens.count == 3 else {
                error(line, tokens[1].column, "'" + s(option) + "' takes one value in seconds", hint: "set " + s(option) + " 10")
                return
            }
            guard let ms = RulesParser.seconds(tokens[2].text) else {
                error(line, tokens[2].column, "'" + s(tokens[2].text) + "' is not a number of seconds", hint: "e.g. 5 or 0.5, at most 86400")
                return
            }
            switch option {
            case Keyword.kConnectTimeout: set.options.connectTimeoutMilliseconds = ms
            case Keyword.kHandshakeTimeout: set.options.handshakeTimeoutMilliseconds = ms
            default: set.options.failoverRetryMilliseconds = ms
            }
        default:
            error(line, tokens[1].column, "unknown option '" + s(option) + "'",
                  hint: "strict, proxy-loopback, connect-timeout, handshake-timeout or failover-retry")
        }
    }

    // MARK: values

    /// A comma-separated list inside one token, each item with its own column.
    mutating func list(_ token: Token, line: Int) -> [Token]? {
        var items: [Token] = []
        var start = 0
        for i in 0...token.text.count where i == token.text.count || token.text[i] == UInt8(ascii: ",") {
            guard i > start else {
                error(line, token.column + i, "empty item in the list '" + s(token.text) + "'",
                      hint: "separate items with single commas and no spaces: a,b,c")
                return nil
            }
            items.append(Token(text: Array(token.text[start..<i]), column: token.column + start))
            start = i + 1
        }
        return items
    }

    mutating func destination(_ item: Token, line: Int) -> DestinationPattern? {
        let text = item.text
        if text == [UInt8(ascii: "*")] { return .any }
        if let slash = text.firstIndex(of: UInt8(ascii: "/")) {
            let prefixText = Array(text[(slash + 1)...])
            guard let address = IPAddress.parse(bytes: Array(text[..<slash])) else {
                error(line, item.column, "'" + s(Array(text[..<slash])) + "' is not an IP address", hint: "a network is written 10.0.0.0/8 or fd00::/8")
                return nil
            }
            let maximum = { if case .v4 = address { return 32 } else { return 128 } }()
            guard let prefix = RulesParser.number(prefixText), prefix <= maximum else {
                error(line, item.column + slash + 1, "invalid prefix length '" + s(prefixText) + "'", hint: "0 to " + String(maximum))
                return nil
            }
            return .network(address, prefix: prefix)
        }
        if let address = IPAddress.parse(bytes: text) {
            if case .v4 = address { return .network(address, prefix: 32) }
            return .network(address, prefix: 128)
        }
        if text.count > 2 && text[0] == UInt8(ascii: "*") && text[1] == UInt8(ascii: ".") {
            guard let suffix = HostName.normalized(Array(text[2...])) else {
                error(line, item.column + 2, "'" + s(Array(text[2...])) + "' is not a host name")
                return nil
            }
            return .suffix([UInt8(ascii: ".")] + suffix)
        }
        guard let name = HostName.normalized(text) else {
            error(line, item.column, "'" + s(text) + "' is not a host name, address or network",
                  hint: "examples: example.com, *.example.com, 192.0.2.7, 10.0.0.0/8, 2001:db8::/32, *")
            return nil
        }
        return .exactName(name)
    }

    mutating func portSet(_ items: [Token], line: Int) -> PortSet? {
        var ranges: [ClosedRange<UInt16>] = []
        for item in items {
            let parts = item.text.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
            guard parts.count <= 2, let low = RulesParser.port(Array(parts[0])),
                  let high = parts.count == 2 ? RulesParser.port(Array(parts[1])) : low else {
                error(line, item.column, "invalid port '" + s(item.text) + "'", hint: "a port is 1 to 65535; a range is 8000-8100")
                return nil
            }
            guard low <= high else {
                error(line, item.column, "the range '" + s(item.text) + "' ends before it starts")
                return nil
            }
            ranges.append(low...high)
        }
        return PortSet(ranges)
    }

    static func isName(_ text: [UInt8]) -> Bool {
        !text.isEmpty && text.count <= 64 && text.allSatisfy {
            ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z"))
                || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
        }
    }

    static func number(_ digits: [UInt8]) -> Int? {
        guard !digits.isEmpty, digits.count <= 6 else { return nil }
        var n = 0
        for d in digits {
            guard d >= UInt8(ascii: "0"), d <= UInt8(ascii: "9") else { return nil }
            n = n * 10 + Int(d - UInt8(ascii: "0"))
        }
        return n
    }

    static func port(_ digits: [UInt8]) -> UInt16? { ProxyURL.parsePort(digits) }

    /// "5", "0.5", "2.25" seconds as milliseconds (0 < value <= 86400).
    static func seconds(_ text: [UInt8]) -> Int? {
        let parts = text.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = number(Array(parts[0])) else { return nil }
        var ms = whole * 1000
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
            let fraction = Array(parts[1].prefix(3))  // milliseconds: finer digits are ignored
            guard let f = number(fraction) else { return nil }
            var scale = 1
            for _ in fraction.count..<3 { scale *= 10 }
            ms += f * scale
        }
        return ms > 0 && ms <= 86_400_000 ? ms : nil
    }

    func s(_ bytes: [UInt8]) -> String { HostName.string(bytes) }
}

/// The words of the format, as bytes once (comparing against a fresh array each time showed up
/// in profiles of large files).
enum Keyword {
    static let kProxy = Array("proxy".utf8)
    static let kRule = Array("rule".utf8)
    static let kDefault = Array("default".utf8)
    static let kSet = Array("set".utf8)
    static let kApp = Array("app".utf8)
    static let kTo = Array("to".utf8)
    static let kPort = Array("port".utf8)
    static let kDirect = Array("direct".utf8)
    static let kBlock = Array("block".utf8)
    static let kVia = Array("via".utf8)
    static let kChain = Array("chain".utf8)
    static let kFailover = Array("failover".utf8)
    static let kPasswordEnv = Array("password-env".utf8)
    static let kPasswordFile = Array("password-file".utf8)
    static let kPipeline = Array("pipeline".utf8)
    static let kStrict = Array("strict".utf8)
    static let kProxyLoopback = Array("proxy-loopback".utf8)
    static let kConnectTimeout = Array("connect-timeout".utf8)
    static let kHandshakeTimeout = Array("handshake-timeout".utf8)
    static let kFailoverRetry = Array("failover-retry".utf8)
}

/// Every problem found in a file.
public struct RulesProblems: Error, Sendable {
    public var diagnostics: [RulesDiagnostic]
}
