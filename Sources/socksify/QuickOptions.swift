/// ArgumentParser spends about 7 million instructions (some 2 ms) reflecting over the command
/// before it reads a word, and even making a `Socksify` value instantiates its property
/// wrappers' metadata (a third of a million more), while the launcher runs before every wrapped
/// program. So the usual command lines (only the options below, each well formed) are read
/// here into `LaunchOptions`, which `Socksify` also converts to. Anything else (help, a typo, a
/// bad value, a new option) goes to ArgumentParser, which parses or reports it.
enum QuickOptions {
    static func parse(_ own: [String], program: [String]) -> LaunchOptions? {
        var proxy: String?, config: String?, dnsPool4: String?, dnsPool6: String?, log: String?
        var connectTimeout: Double?, handshakeTimeout: Double?
        var verbose = false, quiet = false, proxyLoopback = false, strict = false, noBackstop = false
        var i = 0
        while i < own.count {
            var word = own[i]
            var attached: String? = nil
            if word.hasPrefix("--"), let equals = word.firstIndex(of: "=") {
                attached = String(word[word.index(after: equals)...])
                word = String(word[..<equals])
            }
            func value() -> String? {
                if let attached { return attached }
                i += 1
                return i < own.count ? own[i] : nil
            }
            switch word {
            case "-p", "--proxy": guard let v = value() else { return nil }; proxy = v
            case "-c", "--config": guard let v = value() else { return nil }; config = v
            case "--dns-pool4": guard let v = value() else { return nil }; dnsPool4 = v
            case "--log": guard let v = value() else { return nil }; log = v
            case "--dns-pool6": guard let v = value() else { return nil }; dnsPool6 = v
            case "--connect-timeout": guard let v = value().flatMap(Double.init) else { return nil }; connectTimeout = v
            case "--handshake-timeout": guard let v = value().flatMap(Double.init) else { return nil }; handshakeTimeout = v
            case "-v", "--verbose": verbose = true
            case "-q", "--quiet": quiet = true
            case "-vq", "-qv": verbose = true; quiet = true
            case "--proxy-loopback": proxyLoopback = true
            case "--strict": strict = true
            case "--no-backstop": noBackstop = true
            default: return nil
            }
            if attached != nil && ["-v", "--verbose", "-q", "--quiet", "--proxy-loopback", "--strict", "--no-backstop"].contains(word) { return nil }
            i += 1
        }
        guard !program.isEmpty else { return nil }  // let ArgumentParser say what is missing
        var command = LaunchOptions()
        command.proxy = proxy
        command.config = config
        command.log = log
        command.verbose = verbose
        command.quiet = quiet
        command.proxyLoopback = proxyLoopback
        command.strict = strict
        command.noBackstop = noBackstop
        command.dnsPool4 = dnsPool4
        command.dnsPool6 = dnsPool6
        command.connectTimeout = connectTimeout
        command.handshakeTimeout = handshakeTimeout
        command.command = program
        return command
    }
}
