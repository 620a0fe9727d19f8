/// What a rules file says, checked and resolved: named proxies, rules in order, a default.
public struct RuleSet: Sendable {
    public var proxies: [NamedProxy] = []
    public var rules: [Rule] = []
    public var defaultAction: RuleAction = .direct
    public var defaultLine: Int? = nil
    public var options = RuleOptions()
    /// What `check` reports without failing: the environment lacks a password the file names.
    public var warnings: [RulesDiagnostic] = []

    public init() {}

    /// The set a plain `--proxy URL` stands for: everything through that proxy.
    public static func single(_ proxy: ProxySpec) -> RuleSet {
        var set = RuleSet()
        set.proxies = [NamedProxy(name: [], spec: proxy, line: 0)]  // unnamed: logged by its URL
        set.defaultAction = .via(0)
        return set
    }

    /// Only the rules that can apply to `program`; the shim keeps these, so a lookup on connect
    /// never looks at another program's rules.
    public func forProgram(_ program: RunningProgram) -> RuleSet {
        var copy = self
        copy.rules = rules.filter { $0.programs.isEmpty || $0.programs.contains { $0.matches(program) } }
        return copy
    }
}

public struct NamedProxy: Sendable {
    public var name: [UInt8]
    public var spec: ProxySpec
    public var line: Int
    /// Why the password the file names cannot be had (an unset `password-env` variable, an
    /// unreadable `password-file`): the environment's problem, not the file's, reported at the
    /// first connection that needs this proxy. Kept here, not in the spec the connect path copies.
    public var missingSecret: String? = nil
    public init(name: [UInt8], spec: ProxySpec, line: Int, missingSecret: String? = nil) {
        self.name = name
        self.spec = spec
        self.line = line
        self.missingSecret = missingSecret
    }
}

/// What happens to a matching connection; proxies are indexes into `RuleSet.proxies`.
public enum RuleAction: Sendable, Equatable {
    case direct
    case block
    case via(Int)
    /// Through each proxy in turn: connect to the first, CONNECT to the next through it, …
    case chain([Int])
    /// The first proxy that works; a dead one is skipped for a while, then tried again.
    case failover([Int])

    public var proxies: [Int] {
        switch self {
        case .direct, .block: return []
        case .via(let p): return [p]
        case .chain(let list), .failover(let list): return list
        }
    }
}

public struct Rule: Sendable {
    /// Empty means any program; likewise for destinations; nil ports means any port.
    public var programs: [ProgramPattern] = []
    public var destinations: [DestinationPattern] = []
    public var ports: PortSet? = nil
    public var action: RuleAction = .direct
    public var line: Int = 0
    public init() {}

    public func matches(_ target: RouteTarget) -> Bool {
        matches(portOf: target) && (destinations.isEmpty || destinations.contains { $0.matches(target) })
    }

    /// The port condition alone (the router's index has already matched the destination).
    public func matches(portOf target: RouteTarget) -> Bool {
        guard let ports, let port = target.port else { return true }
        return ports.contains(port)
    }
}

/// `set` lines: settings a file can carry instead of command-line options.
public struct RuleOptions: Sendable {
    public var strict: Bool? = nil
    public var proxyLoopback: Bool? = nil
    public var connectTimeoutMilliseconds: Int? = nil
    public var handshakeTimeoutMilliseconds: Int? = nil
    /// How long a proxy that failed is skipped by failover before it is tried again.
    public var failoverRetryMilliseconds = 30_000
    public init() {}
}
