// Rules files (RulesParser.parse, then routing with the parsed set) and /etc/hosts
// (HostsFile(text:)), both line-oriented text read from disk.
let environment: @Sendable (String) -> String? = { $0 == "CORP_PROXY_PASSWORD" ? fuzzPassword : ($0 == "LONG" ? String(repeating: "x", count: 300) : nil) }
let readFile: @Sendable (String) -> [UInt8]? = { $0 == "/run/secret" ? Array((fuzzPassword + "\n").utf8) : nil }
let programs = [RunningProgram(executable: Array("/usr/bin/curl".utf8), argv0: Array("curl".utf8)),
                RunningProgram(executable: Array("/opt/tor-browser/firefox".utf8), argv0: Array("torbrowser-x".utf8))]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRules(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = bytes(data, size)
    let lines = input.split(separator: 0x0A, omittingEmptySubsequences: false)
    switch RulesParser.parse(input, environment: environment, readFile: readFile) {
    case .success(let set):
        for action in [set.defaultAction] + set.rules.map(\.action) {
            require(action.proxies.allSatisfy { set.proxies.indices.contains($0) }, "an action names a missing proxy", input)
        }
        var probes = [RouteTarget(address: .v4(IPv4Address(10, 1, 2, 3)), port: 443), RouteTarget(name: Array("www.example.com".utf8), port: 80)]
        for rule in set.rules.prefix(16) {
            let port = rule.ports?.ranges.first?.lowerBound
            for pattern in rule.destinations.prefix(4) {
                switch pattern {
                case .any: probes.append(RouteTarget(address: .v4(IPv4Address(192, 0, 2, 1)), port: port))
                case .network(let address, _): probes.append(RouteTarget(address: address, port: port))
                case .exactName(let name): probes.append(RouteTarget(name: name, port: port))
                case .suffix(let suffix): probes.append(RouteTarget(name: Array("x".utf8) + suffix, port: port))
                }
            }
        }
        for program in programs {
            let programSet = set.forProgram(program)
            let router = Router(programSet)
            for target in probes {
                let routed = router.route(target)
                let walked = programSet.rules.first { $0.matches(target) }?.line
                require((routed.isDefault ? nil : routed.line) == walked, "the index and a walk disagree on \(target)", input)
                if let name = target.name { _ = router.resolvesRemotely(name) }
            }
        }
    case .failure(let problems):
        require(!problems.diagnostics.isEmpty, "failed without a diagnostic", input)
        for d in problems.diagnostics {
            require(d.line >= 1 && d.line <= lines.count, "diagnostic on line \(d.line) of \(lines.count)", input)
            let line = Array(lines[lines.startIndex + d.line - 1])
            require(d.column >= 1 && d.column <= line.count + 1, "diagnostic at \(d.line):\(d.column) of \(line.count) bytes", input)
            require(!d.message.isEmpty, "an empty message", input)
            let words = line.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D })
            if words.count >= 3, words[0].elementsEqual("proxy".utf8), holdsPassword(Array(words[2])),
               occurrences(of: fuzzPassword, in: line) == 1 {
                require(occurrences(of: fuzzPassword, in: Array((d.message + d.hint).utf8)) == 0, "line \(d.line) shows the password", input)
            }
        }
    }

    let hosts = HostsFile(text: input)
    for entry in hosts.entries {
        require(!entry.names.isEmpty && entry.names.allSatisfy { HostName.normalized($0) == $0 }, "an entry's names", input)
    }
    if let first = hosts.entries.first {
        require(hosts.addresses(of: first.names[0])?.addresses.contains(first.address) == true, "addresses(of:) misses an entry", input)
    }
    return 0
}
