/// What the shim is told through its environment; the launcher writes these variables, and a
/// user can set them by hand with LD_PRELOAD.
public struct ShimSettings: Sendable {
    public static let proxyVariable = "SOCKSIFY_PROXY"
    public static let verboseVariable = "SOCKSIFY_VERBOSE"
    public static let quietVariable = "SOCKSIFY_QUIET"
    public static let proxyLoopbackVariable = "SOCKSIFY_PROXY_LOOPBACK"
    public static let connectTimeoutVariable = "SOCKSIFY_CONNECT_TIMEOUT_MS"
    public static let handshakeTimeoutVariable = "SOCKSIFY_HANDSHAKE_TIMEOUT_MS"
    public static let strictVariable = "SOCKSIFY_STRICT"
    public static let pool4Variable = "SOCKSIFY_DNS_POOL4"
    public static let pool6Variable = "SOCKSIFY_DNS_POOL6"
    public static let nameMapVariable = SharedNameMap.environmentVariable
    public static let configVariable = "SOCKSIFY_CONFIG"
    /// A file the decision lines are appended to (with the process id), for daemons and programs
    /// that close or redirect stderr.
    public static let logVariable = "SOCKSIFY_LOG"

    /// The proxy, or why there is none usable (the shim then refuses rather than going direct).
    /// SOCKSIFY_PROXY, when set, overrides a rules file.
    public var proxy: Result<ProxySpec, ProxyURLError>
    /// The rules file, when no SOCKSIFY_PROXY is given.
    public var configPath: String? = nil
    /// SOCKSIFY_LOG.
    public var logFile: String? = nil
    /// Which timeouts the environment set (they override a rules file's `set`).
    public var connectTimeoutGiven = false
    public var handshakeTimeoutGiven = false
    public var verbose = false
    public var quiet = false
    public var proxyLoopback = false
    public var timeouts = Timeouts.defaults
    /// Refuse whatever would leave the machine other than through the proxy.
    public var strict = false
    public var pool = AddressPool.standard
    /// Which name map this process uses: the run's shared one the launcher created, or its own.
    public var nameMap = NameMapSetting.own
    /// Settings that were given but not understood (each logged; the default is used).
    public var problems: [String] = []

    public init(proxy: Result<ProxySpec, ProxyURLError>) { self.proxy = proxy }

    /// Reads the settings through `lookup` (getenv in the shim, a dictionary in tests).
    public static func fromEnvironment(_ lookup: (String) -> String?) -> ShimSettings {
        var settings: ShimSettings
        if let url = lookup(proxyVariable), !url.isEmpty {
            do throws(ProxyURLError) {
                settings = ShimSettings(proxy: .success(try ProxyURL.parse(url)))
            } catch {
                settings = ShimSettings(proxy: .failure(error))
            }
        } else {
            settings = ShimSettings(proxy: .failure(ProxyURLError(proxyVariable + " is not set")))
        }
        settings.verbose = isOn(lookup(verboseVariable))
        if let path = lookup(logVariable), !path.isEmpty { settings.logFile = path }
        settings.quiet = isOn(lookup(quietVariable))
        settings.proxyLoopback = isOn(lookup(proxyLoopbackVariable))
        if let ms = milliseconds(lookup(connectTimeoutVariable)) {
            settings.timeouts.connectMilliseconds = ms
            settings.connectTimeoutGiven = true
        }
        if let ms = milliseconds(lookup(handshakeTimeoutVariable)) {
            settings.timeouts.handshakeMilliseconds = ms
            settings.handshakeTimeoutGiven = true
        }
        if (lookup(proxyVariable) ?? "").isEmpty, let path = lookup(configVariable), !path.isEmpty {
            settings.configPath = path
        }
        settings.strict = isOn(lookup(strictVariable))
        if let text = lookup(pool4Variable), !text.isEmpty {
            if let (base, prefix) = AddressPool.parseIPv4(text) {
                settings.pool.ipv4Base = base
                settings.pool.ipv4PrefixLength = prefix
            } else {
                settings.problems.append(pool4Variable + "='" + text + "' is not an IPv4 range from /8 to /24")
            }
        }
        if let text = lookup(pool6Variable), !text.isEmpty {
            if let (high, lowBase, prefix) = AddressPool.parseIPv6(text) {
                settings.pool.ipv6High = high
                settings.pool.ipv6LowBase = lowBase
                settings.pool.ipv6PrefixLength = prefix
            } else {
                settings.problems.append(pool6Variable + "='" + text + "' is not an IPv6 range from /64 to /120")
            }
        }
        if let text = lookup(nameMapVariable), !text.isEmpty {
            if let reference = NameMapReference.parse(text) {
                settings.nameMap = .shared(reference)
            } else {
                // Not a problem to ignore: a process of the run with a map of its own could give a
                // synthetic address another process handed out to a different name.
                settings.nameMap = .unusable(nameMapVariable + "='" + text + "' is not sysv:ID:TOKEN: set by another version of socksify?")
            }
        }
        return settings
    }

    static func isOn(_ value: String?) -> Bool {
        guard let value else { return false }
        // Byte comparisons: String == needs Unicode tables Embedded Swift leaves out.
        let bytes = ProxyURL.asciiLowercased(Array(value.utf8))
        let off: [[UInt8]] = [Array("0".utf8), Array("no".utf8), Array("false".utf8), Array("off".utf8)]
        return !bytes.isEmpty && !off.contains(bytes)
    }

    /// A positive whole number of milliseconds, at most a day; anything else keeps the default.
    static func milliseconds(_ value: String?) -> Int? {
        guard let value, !value.isEmpty, value.utf8.count <= 9 else { return nil }
        var n = 0
        for d in value.utf8 {
            guard d >= UInt8(ascii: "0"), d <= UInt8(ascii: "9") else { return nil }
            n = n * 10 + Int(d - UInt8(ascii: "0"))
        }
        return n > 0 && n <= 86_400_000 ? n : nil
    }
}

/// The name map a process uses for synthetic addresses.
public enum NameMapSetting: Sendable {
    /// No SOCKSIFY_DNS_MAP: a map of this process's own, shared with the children it forks.
    case own
    /// The run's shared map (the launcher made it).
    case shared(NameMapReference)
    /// SOCKSIFY_DNS_MAP is set but says nothing usable: no map at all, so names the proxy
    /// resolves are refused rather than given addresses other processes of the run mean otherwise.
    case unusable(String)
}

#if !hasFeature(Embedded)
// Tests compare these; the shim never does, and String == would pull Unicode tables into it.
extension ShimSettings: Equatable {}
extension NameMapSetting: Equatable {}
#endif
