/// Where one connection goes: the matching rule's action (or the default), and which line of
/// the file said so, for the log.
public struct RouteDecision: Sendable {
    public var action: RuleAction
    /// The line that decided: the rule's, or the `default` line's; nil for a file without a
    /// default line; 0 for a plain --proxy.
    public var line: Int?
    public var isDefault: Bool

    /// " (rule at line 7)", " (default at line 20)", " (default)", or "" for a plain --proxy.
    /// Built once per rule by the router, not on every connect and datagram.
    public var logSuffix: String

    public init(action: RuleAction, line: Int?, isDefault: Bool) {
        self.init(action: action, line: line, isDefault: isDefault, logSuffix: RouteDecision.suffix(line: line, isDefault: isDefault))
    }

    init(action: RuleAction, line: Int?, isDefault: Bool, logSuffix: String) {
        self.action = action
        self.line = line
        self.isDefault = isDefault
        self.logSuffix = logSuffix
    }

    static func suffix(line: Int?, isDefault: Bool) -> String {
        guard let line else { return " (default)" }
        if line == 0 { return "" }
        return (isDefault ? " (default at line " : " (rule at line ") + String(line) + ")"
    }
}

/// Looks connections and names up in a program's rules. First match wins.
public final class Router: Sendable {
    public let rules: RuleSet

    /// Whether any rule matches names, so names resolved locally are worth remembering.
    public let matchesNames: Bool

    let index: RuleIndex
    /// Each rule's log suffix, and the default's.
    let suffixes: [String]
    let defaultSuffix: String

    public init(_ rules: RuleSet) {
        self.rules = rules
        index = RuleIndex(rules.rules)
        suffixes = rules.rules.map { RouteDecision.suffix(line: $0.line, isDefault: false) }
        defaultSuffix = RouteDecision.suffix(line: rules.defaultLine, isDefault: true)
        matchesNames = rules.rules.contains { rule in
            rule.destinations.contains {
                switch $0 {
                case .exactName, .suffix: return true
                case .any, .network: return false
                }
            }
        }
    }

    public func route(_ target: RouteTarget) -> RouteDecision {
        var first = Int.max
        index.candidates(target) { list in
            for rule in list {
                if rule >= first { break }
                if rules.rules[rule].matches(portOf: target) {
                    first = rule
                    break
                }
            }
        }
        if first != Int.max {
            let rule = rules.rules[first]
            return RouteDecision(action: rule.action, line: rule.line, isDefault: false, logSuffix: suffixes[first])
        }
        return RouteDecision(action: rules.defaultAction, line: rules.defaultLine, isDefault: true, logSuffix: defaultSuffix)
    }

    /// Whether a name the program looks up should be resolved by a proxy (given a synthetic
    /// address). The port is not known yet, so: yes if any rule that can match this name, before
    /// one that matches it on every port, sends it to a proxy that resolves names.
    public func resolvesRemotely(_ name: [UInt8]) -> Bool {
        var matching: [Int] = []
        index.candidates(RouteTarget(name: name)) { matching += $0 }
        matching.sort()
        for i in matching {
            let rule = rules.rules[i]
            if sendsNamesToProxy(rule.action) { return true }
            if rule.ports == nil { return false }
        }
        return sendsNamesToProxy(rules.defaultAction)
    }

    func sendsNamesToProxy(_ action: RuleAction) -> Bool {
        switch action {
        case .direct, .block: return false
        case .via(let p): return rules.proxies[p].spec.proto.resolvesRemotely
        case .chain(let list): return rules.proxies[list[list.count - 1]].spec.proto.resolvesRemotely
        case .failover(let list): return list.contains { rules.proxies[$0].spec.proto.resolvesRemotely }
        }
    }

    /// Whether any rule could send something through a proxy that resolves names.
    public var anyRemoteResolution: Bool {
        rules.rules.contains { sendsNamesToProxy($0.action) } || sendsNamesToProxy(rules.defaultAction)
    }
}
