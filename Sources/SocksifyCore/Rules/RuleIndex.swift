/// The rules, indexed by what their destinations name, so a lookup costs a few hash lookups
/// rather than a walk over every rule: for a target, the candidates are the rules with no
/// destination condition, the rules with a network containing its address (one table per prefix
/// length in use) and the rules naming its name or a domain above it. First match wins, so the
/// answer is the lowest candidate whose port condition also holds.
struct RuleIndex: Sendable {
    struct V6Key: Hashable, Sendable { var high: UInt64; var low: UInt64 }

    /// Rules without a `to` (or with `to *`), ascending.
    var anywhere: [Int] = []
    var ipv4: [(prefix: Int, rules: [UInt32: [Int]])] = []
    var ipv6: [(prefix: Int, rules: [V6Key: [Int]])] = []
    var names: [[UInt8]: [Int]] = [:]
    /// Keyed by the suffix with its leading dot: ".example.com".
    var suffixes: [[UInt8]: [Int]] = [:]

    init(_ rules: [Rule]) {
        var v4: [Int: [UInt32: [Int]]] = [:]
        var v6: [Int: [V6Key: [Int]]] = [:]
        for (i, rule) in rules.enumerated() {
            if rule.destinations.isEmpty { anywhere.append(i); continue }
            for pattern in rule.destinations {
                switch pattern {
                case .any: RuleIndex.add(i, to: &anywhere)
                case .network(.v4(let a), let prefix): RuleIndex.add(i, to: &v4[prefix, default: [:]][RuleIndex.mask(a.value, prefix), default: []])
                case .network(.v6(let a), let prefix): RuleIndex.add(i, to: &v6[prefix, default: [:]][RuleIndex.mask(a, prefix), default: []])
                case .exactName(let name): RuleIndex.add(i, to: &names[name, default: []])
                case .suffix(let tail): RuleIndex.add(i, to: &suffixes[tail, default: []])
                }
            }
        }
        ipv4 = v4.map { ($0.key, $0.value) }.sorted { $0.prefix > $1.prefix }
        ipv6 = v6.map { ($0.key, $0.value) }.sorted { $0.prefix > $1.prefix }
    }

    /// Rule numbers are added in ascending order; a rule listing two matching patterns once.
    static func add(_ rule: Int, to list: inout [Int]) {
        if list.last != rule { list.append(rule) }
    }

    static func mask(_ value: UInt32, _ prefix: Int) -> UInt32 {
        prefix == 0 ? 0 : value & (~UInt32(0) << UInt32(32 - prefix))
    }

    static func mask(_ a: IPv6Address, _ prefix: Int) -> V6Key {
        let high: UInt64 = prefix >= 64 ? a.high : (prefix == 0 ? 0 : a.high & (~UInt64(0) << UInt64(64 - prefix)))
        let low: UInt64 = prefix <= 64 ? 0 : (prefix == 128 ? a.low : a.low & (~UInt64(0) << UInt64(128 - prefix)))
        return V6Key(high: high, low: low)
    }

    /// Calls `visit` with each candidate list for `target` (rules whose destination matches).
    func candidates(_ target: RouteTarget, _ visit: ([Int]) -> Void) {
        visit(anywhere)
        if let address = target.address {
            var v4: IPv4Address? = nil
            switch address {
            case .v4(let a): v4 = a
            case .v6(let a):
                v4 = a.mappedIPv4
                for (prefix, table) in ipv6 {
                    if let list = table[RuleIndex.mask(a, prefix)] { visit(list) }
                }
            }
            if let v4 {
                for (prefix, table) in ipv4 {
                    if let list = table[RuleIndex.mask(v4.value, prefix)] { visit(list) }
                }
            }
        }
        if let name = target.name {
            if let list = names[name] { visit(list) }
            if !suffixes.isEmpty {
                for (i, byte) in name.enumerated() where byte == UInt8(ascii: ".") && i > 0 {
                    if let list = suffixes[Array(name[i...])] { visit(list) }
                }
            }
        }
    }
}
