/// What the shim is told through its environment; the launcher writes these variables, and a
/// user can set them by hand with LD_PRELOAD.
public struct ShimSettings: Sendable {
    public static let proxyVariable = "SOCKSIFY_PROXY"
    public static let verboseVariable = "SOCKSIFY_VERBOSE"
    public static let quietVariable = "SOCKSIFY_QUIET"
    public static let proxyLoopbackVariable = "SOCKSIFY_PROXY_LOOPBACK"
    public static let connectTimeoutVariable = "SOCKSIFY_CONNECT_TIMEOUT_MS"
    public static let handshakeTimeoutVariable = "SOCKSIFY_HANDSHAKE_TIMEOUT_MS"

    /// The proxy, or why there is none usable (the shim then refuses rather than going direct).
    public var proxy: Result<ProxySpec, ProxyURLError>
    public var verbose = false
    public var quiet = false
    public var proxyLoopback = false
    public var timeouts = Timeouts.defaults

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
        settings.quiet = isOn(lookup(quietVariable))
        settings.proxyLoopback = isOn(lookup(proxyLoopbackVariable))
        if let ms = milliseconds(lookup(connectTimeoutVariable)) { settings.timeouts.connectMilliseconds = ms }
        if let ms = milliseconds(lookup(handshakeTimeoutVariable)) { settings.timeouts.handshakeMilliseconds = ms }
        return settings
    }

    static func isOn(_ value: String?) -> Bool {
        guard let value else { return false }
        // Byte comparisons: String == needs Unicode tables Embedded Swift leaves out.
        let bytes = Array(value.utf8)
        return !bytes.isEmpty && bytes != Array("0".utf8) && bytes != Array("no".utf8) && bytes != Array("false".utf8)
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

#if !hasFeature(Embedded)
// Tests compare these; the shim never does, and String == would pull Unicode tables into it.
extension ShimSettings: Equatable {}
#endif
