import Testing
@testable import SocksifyCore

/// The router's index must give exactly what a walk over the rules in order gives.
struct RuleIndexTests {
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    static let names: [[UInt8]] = ["a.test", "b.a.test", "c.b.a.test", "example.com", "x.example.com", "other.org"].map { Array($0.utf8) }

    static func pattern(_ r: inout Random) -> DestinationPattern {
        switch r.below(7) {
        case 0: return .any
        case 1: return .network(.v4(IPv4Address(10, UInt8(r.below(3)), UInt8(r.below(3)), 0)), prefix: [8, 16, 24, 32][r.below(4)])
        case 2: return .network(.v4(IPv4Address(192, 168, UInt8(r.below(3)), UInt8(r.below(3)))), prefix: [0, 16, 30, 32][r.below(4)])
        case 3: return .network(.v6(IPv6Address(high: 0x2001_0db8_0000_0000 | UInt64(r.below(3)) << 16, low: UInt64(r.below(3)))), prefix: [32, 48, 64, 127, 128][r.below(5)])
        case 4: return .exactName(names[r.below(names.count)])
        default:
            let name = names[r.below(names.count)]
            let dot = name.firstIndex(of: UInt8(ascii: "."))!
            return .suffix(Array(name[dot...]))
        }
    }

    static func target(_ r: inout Random) -> RouteTarget {
        var t = RouteTarget(port: r.below(4) == 0 ? nil : UInt16(78 + r.below(6)))
        switch r.below(4) {
        case 0: t.address = .v4(IPv4Address(10, UInt8(r.below(3)), UInt8(r.below(3)), UInt8(r.below(3))))
        case 1: t.address = .v4(IPv4Address(192, 168, UInt8(r.below(3)), UInt8(r.below(4))))
        case 2: t.address = .v6(IPv6Address(high: 0x2001_0db8_0000_0000 | UInt64(r.below(3)) << 16, low: UInt64(r.below(3))))
        default: t.address = .v6(IPv6Address(mapping: IPv4Address(10, 0, UInt8(r.below(3)), 1)))
        }
        if r.below(2) == 0 { t.name = names[r.below(names.count)] }
        return t
    }

    @Test func indexAgreesWithAWalkInOrder() {
        var r = Random(state: 42)
        for _ in 0..<200 {
            var set = RuleSet()
            set.proxies = [NamedProxy(name: Array("p".utf8), spec: ProxySpec(proto: .socks5h, host: "127.0.0.1", port: 1), line: 1)]
            for line in 0..<r.below(40) {
                var rule = Rule()
                rule.line = line + 2
                rule.destinations = (0..<r.below(3)).map { _ in Self.pattern(&r) }
                if r.below(3) == 0 { let low = UInt16(78 + r.below(6)); rule.ports = PortSet([low...low + UInt16(r.below(3))]) }
                rule.action = r.below(2) == 0 ? .direct : .via(0)
                set.rules.append(rule)
            }
            let router = Router(set)
            for _ in 0..<50 {
                let t = Self.target(&r)
                let walked = set.rules.first { $0.matches(t) }?.line
                let routed = router.route(t)
                #expect((routed.isDefault ? nil : routed.line) == walked)
            }
        }
    }
}
