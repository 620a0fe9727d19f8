// rules-bench: what a large rules file costs socksify, measured on the core's own code.
//
//     rules-bench FILE [--parses N] [--program NAME]...
//
// FILE is a rules file, normally written by bench/gen_rules.py (1,000 rules); bench/rules.sh
// runs this in a release build. Prints two tables:
//
//  1. Parsing: RulesParser.parse over the whole file, the median of --parses runs (default 50),
//     and the step the shim takes right after: RuleSet.forProgram + Router.init.
//  2. Router.route per lookup, in ns, for the unfiltered set (every rule applies: the worst case)
//     and after forProgram for each --program (default: connect_latency, the benchmark client,
//     which only the rules without `app` apply to; and curl, which has rules of its own): an
//     address no rule matches (the lookup walks every rule), an address the second rule matches,
//     a name no rule matches, a name the first rule matches; and Router.resolvesRemotely, which
//     the shim asks on every name lookup. Each figure is the median over 101 batches timed with
//     clock_gettime(CLOCK_MONOTONIC), a batch being as many lookups as take about 200 us, with
//     the loop's own cost (measured the same way, without the lookup) subtracted.
//
// Every decision is folded into a checksum that is printed, so the optimizer cannot drop the work.
import Glibc
import SocksifyCore

// MARK: - arguments

func complain(_ message: String) {
    let line = message + "\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}

func usage() -> Never {
    complain("usage: rules-bench FILE [--parses N] [--program NAME]...")
    exit(2)
}

var path: String? = nil
var parses = 50
var programNames: [String] = []
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--parses":
        guard let value = arguments.popFirst(), let n = Int(value), n > 0 else { usage() }
        parses = n
    case "--program":
        guard let value = arguments.popFirst() else { usage() }
        programNames.append(value)
    case "-h", "--help":
        usage()
    default:
        guard path == nil, !argument.hasPrefix("-") else { usage() }
        path = argument
    }
}
guard let path else { usage() }
if programNames.isEmpty { programNames = ["connect_latency", "curl"] }

func readAll(_ path: String) -> [UInt8]? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        if n == 0 { break }
        bytes += buffer[0..<n]
    }
    return ferror(file) == 0 ? bytes : nil
}

guard let text = readAll(path) else {
    complain("rules-bench: cannot read \(path)")
    exit(1)
}
// password-env variables the file names: the real value when set, else a stand-in
let environment: (String) -> String? = { name in getenv(name).map { String(cString: $0) } ?? "bench-password" }

// MARK: - timing

@inline(__always) func nowNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let n = sorted.count
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
}

nonisolated(unsafe) var checksum: UInt64 = 0

/// Hides the target from the optimizer, so a lookup cannot be hoisted out of the loop.
@inline(never) @_optimize(none)
func opaque(_ target: RouteTarget) -> RouteTarget { target }

@inline(__always) func fold(_ decision: RouteDecision) {
    var code: UInt64
    switch decision.action {
    case .direct: code = 1
    case .block: code = 2
    case .via(let p): code = 3 &+ UInt64(p) << 4
    case .chain(let list): code = 5 &+ UInt64(list.count) << 4
    case .failover(let list): code = 7 &+ UInt64(list.count) << 4
    }
    code ^= UInt64(truncatingIfNeeded: decision.line ?? -1) << 20
    checksum = checksum &* 31 &+ code
}

/// Median ns per call of `body`, over `batches` batches of about 200 us each.
func nanosecondsPerCall(batches: Int = 101, _ body: () -> Void) -> Double {
    // calibrate: how many calls take about 200 us
    var perBatch = 1
    while perBatch < 1 << 24 {
        let t0 = nowNanoseconds()
        for _ in 0..<perBatch { body() }
        if nowNanoseconds() - t0 >= 200_000 { break }
        perBatch *= 2
    }
    var samples: [Double] = []
    samples.reserveCapacity(batches)
    for _ in 0..<batches {
        let t0 = nowNanoseconds()
        for _ in 0..<perBatch { body() }
        let t1 = nowNanoseconds()
        samples.append(Double(t1 - t0) / Double(perBatch))
    }
    return median(samples)
}

func fmt(_ value: Double, _ decimals: Int = 1) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    var s = String(rounded)
    if let dot = s.firstIndex(of: ".") {
        let have = s.distance(from: dot, to: s.endIndex) - 1
        if decimals == 0 { s = String(s[..<dot]) } else if have < decimals { s += String(repeating: "0", count: decimals - have) }
    }
    return s
}

func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - s.count))
    return left ? s + fill : fill + s
}

// MARK: - 1. parsing

var rules = RuleSet()
switch RulesParser.parse(text, environment: environment) {
case .success(let set): rules = set
case .failure(let problems):
    for d in problems.diagnostics { complain(d.format(file: path)) }
    exit(1)
}

var parseTimes: [Double] = []
for _ in 0..<parses {
    let t0 = nowNanoseconds()
    let result = RulesParser.parse(text, environment: environment)
    let t1 = nowNanoseconds()
    if case .success(let set) = result { checksum = checksum &* 31 &+ UInt64(set.rules.count) }
    parseTimes.append(Double(t1 - t0) / 1000)
}

func program(_ name: String) -> RunningProgram {
    let bytes = Array(name.utf8)
    return RunningProgram(executable: name.contains("/") ? bytes : Array("/usr/bin/\(name)".utf8), argv0: bytes)
}

print("== rules: parsing \(path) (\(text.count) bytes, \(rules.rules.count) rules, \(rules.proxies.count) proxies) ==")
print("  " + pad("step", 40, left: true) + pad("median us", 11) + pad("min us", 10) + pad("runs", 6))
print("  " + pad("RulesParser.parse (whole file)", 40, left: true) + pad(fmt(median(parseTimes)), 11)
      + pad(fmt(parseTimes.min()!), 10) + pad(String(parses), 6))
for name in programNames {
    var times: [Double] = []
    for _ in 0..<parses {
        let t0 = nowNanoseconds()
        let router = Router(rules.forProgram(program(name)))
        let t1 = nowNanoseconds()
        checksum = checksum &* 31 &+ UInt64(router.rules.rules.count)
        times.append(Double(t1 - t0) / 1000)
    }
    print("  " + pad("forProgram(\(name)) + Router.init", 40, left: true) + pad(fmt(median(times)), 11)
          + pad(fmt(times.min()!), 10) + pad(String(parses), 6))
}

// MARK: - 2. lookups

func v4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> IPAddress { .v4(IPv4Address(a, b, c, d)) }
let noMatchName = Array("www.nomatch.invalid".utf8)
let targets: [(String, RouteTarget)] = [
    ("IP, no match", RouteTarget(address: v4(203, 0, 113, 99), port: 443)),
    ("IP, rule 2", RouteTarget(address: v4(10, 1, 2, 3), port: 443)),
    ("name, no match", RouteTarget(name: noMatchName, port: 443)),
    ("name, rule 1", RouteTarget(name: Array("abc.onion".utf8), port: 443)),
]

// The loop's own cost: the same loop with everything but the lookup.
let overhead = nanosecondsPerCall {
    let target = opaque(targets[0].1)
    checksum = checksum &* 31 &+ UInt64(target.port ?? 0)
}

var sets: [(String, RuleSet)] = [("all rules (unfiltered)", rules)]
for name in programNames { sets.append(("forProgram(\(name))", rules.forProgram(program(name)))) }

print()
print("== rules: Router.route, ns per lookup (median of 101 batches, loop overhead \(fmt(overhead)) ns subtracted) ==")
var header = "  " + pad("rules", 34, left: true) + pad("count", 6)
for (label, _) in targets { header += pad(label, 16) }
header += pad("resolvesRemotely", 18)
print(header)
for (label, set) in sets {
    let router = Router(set)
    var line = "  " + pad(label, 34, left: true) + pad(String(set.rules.count), 6)
    for (_, target) in targets {
        let ns = nanosecondsPerCall { fold(router.route(opaque(target))) }
        line += pad(fmt(max(0, ns - overhead)), 16)
    }
    let remote = nanosecondsPerCall {
        let name = opaque(targets[2].1).name!
        checksum = checksum &* 31 &+ (router.resolvesRemotely(name) ? 1 : 2)
    }
    line += pad(fmt(max(0, remote - overhead)), 18)
    print(line)
}
print("  (no match: 203.0.113.99:443 and www.nomatch.invalid:443 walk every rule and end at the default;")
print("   resolvesRemotely is asked for www.nomatch.invalid; checksum \(checksum))")
