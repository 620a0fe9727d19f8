import SocksifyLibc

/// One attempt to send traffic out of the process, as the verdict sees it: a TCP connect, a
/// datagram (UDP `connect` or a send with an address), or a connect/send on a protocol no proxy
/// carries. `socksify explain` builds the same description.
public struct TrafficAttempt: Sendable {
    public var transport: TransportKind
    /// The address as the program gave it; nil when only a name is known (explain, a name
    /// resolved locally) or when the address was a synthetic one (then `proxyName` is set).
    public var address: IPAddress?
    /// nil only for explain's "any port".
    public var port: UInt16?
    /// The name behind a synthetic address: only a proxy can reach it.
    public var proxyName: [UInt8]?
    /// A synthetic address whose name is no longer known (forgotten, or from another run).
    public var forgottenSynthetic = false
    /// The name libc gave for `address`, which rules may match.
    public var localName: [UInt8]?
    /// The destination is one of the proxies themselves.
    public var isProxy = false

    public init(transport: TransportKind, address: IPAddress?, port: UInt16?, proxyName: [UInt8]? = nil,
                localName: [UInt8]? = nil, isProxy: Bool = false) {
        self.transport = transport
        self.address = address
        self.port = port
        self.proxyName = proxyName
        self.localName = localName
        self.isProxy = isProxy
    }

    var isLocal: Bool { address.map { $0.isLoopback || $0.isUnspecified } ?? false }

    var routeTarget: RouteTarget {
        if let proxyName { return RouteTarget(name: proxyName, port: port) }
        return RouteTarget(address: address, name: localName, port: port)
    }
}

/// What the policy around the rules needs: the shim's settings as they apply to this program.
public struct TrafficPolicy: Sendable {
    public var router: Router
    public var strict: Bool
    public var proxyLoopback: Bool
    /// Some name goes to a proxy, so no DNS query may leave directly.
    public var namesRemote: Bool
    /// The configuration could not be followed: everything that would leave is blocked.
    public var unusable: Bool

    public init(router: Router, strict: Bool, proxyLoopback: Bool, namesRemote: Bool, unusable: Bool = false) {
        self.router = router
        self.strict = strict
        self.proxyLoopback = proxyLoopback
        self.namesRemote = namesRemote
        self.unusable = unusable
    }
}

/// The verdict on one attempt: the single function the shim's connect and send paths and
/// `socksify explain` ask. Every outcome carries its reason for the log.
public enum TrafficVerdict: Sendable {
    /// Straight out, not through a proxy (for a TCP `proxyName`, after a local lookup); the
    /// reason as the log appends it: " (loopback)", " (rule at line 3)".
    case direct(String)
    /// Through the proxies of this rule action (via, chain or failover); `rule` for the log.
    case proxy(RuleAction, rule: String)
    case refuse(errno: Int32, String)

    public static func decide(_ attempt: TrafficAttempt, _ policy: TrafficPolicy) -> TrafficVerdict {
        if attempt.forgottenSynthetic {
            return .refuse(errno: EHOSTUNREACH, "a synthetic address no name stands for (forgotten, or from another run)")
        }
        let local = attempt.isLocal
        let dnsMustNotLeave = attempt.port == 53 && (policy.namesRemote || policy.strict)
        if attempt.proxyName == nil {
            if attempt.isProxy { return .direct(" (the proxy itself)") }
            // A local DNS server (systemd-resolved on 127.0.0.53, dnsmasq) would forward the query out.
            if local && dnsMustNotLeave {
                return .refuse(errno: EPERM, "DNS must not leave the machine directly (names are resolved by the proxy)")
            }
            if local && !policy.proxyLoopback { return .direct(" (loopback)") }
        }
        let decision = policy.router.route(attempt.routeTarget)
        let rule = decision.logSuffix
        switch decision.action {
        case .block:
            let why = policy.unusable ? "the configuration is unusable" : "blocked" + rule
            return .refuse(errno: attempt.transport == .tcp ? ECONNREFUSED : EPERM, why)
        case .direct:
            return directVerdict(attempt, policy, rule: rule, local: local, dnsMustNotLeave: dnsMustNotLeave)
        case .via, .failover, .chain:
            switch attempt.transport {
            case .tcp: return .proxy(decision.action, rule: rule)
            case .udp:
                if case .chain = decision.action {
                    return .refuse(errno: EOPNOTSUPP, "UDP cannot go through a chain of proxies" + rule)
                }
                return .proxy(decision.action, rule: rule)
            case .otherDatagram(let name), .otherStream(let name):
                return .refuse(errno: EPERM, name + " cannot go through a SOCKS proxy (only TCP and UDP can)" + rule)
            }
        }
    }

    /// A rule (or the default) says direct.
    static func directVerdict(_ attempt: TrafficAttempt, _ policy: TrafficPolicy, rule: String, local: Bool,
                              dnsMustNotLeave: Bool) -> TrafficVerdict {
        // A DNS server reached directly would answer names the proxy must resolve.
        if dnsMustNotLeave && attempt.proxyName == nil {
            return .refuse(errno: EPERM, "DNS must not leave the machine directly" + rule)
        }
        if attempt.transport == .tcp {
            if attempt.proxyName != nil {
                return policy.strict ? .refuse(errno: EHOSTUNREACH, "strict mode resolves no name locally" + rule) : .direct(rule)
            }
            if policy.strict && !(attempt.address?.isLoopback ?? false) {
                return .refuse(errno: EPERM, "strict mode allows no direct connection" + rule)
            }
            return .direct(rule)
        }
        let what = attempt.transport == .udp ? "UDP" : attempt.transport.name
        if attempt.proxyName != nil {
            return .refuse(errno: EHOSTUNREACH, "a rule says direct for a name only a proxy resolves" + rule)
        }
        if policy.strict && !local { return .refuse(errno: EPERM, "strict mode allows no direct " + what + rule) }
        return .direct(rule)
    }
}

extension TransportKind {
    /// "TCP", "UDP", or the protocol's name.
    public var name: String {
        switch self {
        case .tcp: return "TCP"
        case .udp: return "UDP"
        case .otherDatagram(let name), .otherStream(let name): return name
        }
    }

    public static func == (a: TransportKind, b: TransportKind) -> Bool {
        switch (a, b) {
        case (.tcp, .tcp), (.udp, .udp): return true
        case (.otherDatagram(let x), .otherDatagram(let y)), (.otherStream(let x), .otherStream(let y)): return x.utf8.elementsEqual(y.utf8)
        default: return false
        }
    }
}

#if !hasFeature(Embedded)
// Tests compare verdicts; the shim never does (String == would pull Unicode tables into it).
extension TrafficVerdict: Equatable {}
#endif
