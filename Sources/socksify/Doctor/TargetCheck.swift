import Glibc
import SocksifyCore
import SocksifyLibc

/// `doctor --target HOST:PORT`: the program's connection to HOST:PORT made as the library would
/// make it (the same verdict, the same rule, the same proxies in the same order), then closed.
struct TargetCheck {
    let host: String
    let port: UInt16
    let rules: RuleSet
    let policy: TrafficPolicy
    let timeouts: Timeouts
    let report: DoctorReport

    func run() {
        report.section("target \(host):\(port)")
        guard let target = Describe.routeTarget(host, port: port) else {
            report.add(.problem, "'\(host)' is not a host name or address")
            return
        }
        switch ExplainCommand.verdict(target, policy, rules, udp: false) {
        case .nameRefused(let why):
            report.add(.problem, "socksify refuses the name lookup: \(why)")
        case .traffic(.refuse(let errno, let why)):
            report.add(.problem, "socksify refuses it (\(ErrnoName.name(errno))): \(why)")
        case .traffic(.direct(let why)):
            direct(why)
        case .traffic(.proxy(let action, _)):
            switch action {
            case .direct: direct("")
            case .block: report.add(.problem, "the rules block it: the program gets ECONNREFUSED")
            case .via(let p): _ = through([p])
            case .chain(let list): _ = through(list)
            case .failover(let list):
                // As the library: the next proxy only when this one failed, not when it reached
                // the destination's refusal.
                for (i, p) in list.enumerated() {
                    if case .tryNext = through([p], last: i == list.count - 1) { continue }
                    return
                }
            }
        }
    }

    /// The destination as the last proxy gets it: the name when the rules let the proxy
    /// resolve it (HTTP always), else the address this machine's resolver gives.
    private func destination(for last: ProxySpec) -> SocksDestination? {
        if IPAddress.parse(host) != nil { return ProxyRoute.destination(host, port: port) }
        if last.proto == .http || policy.router.resolvesRemotely(HostName.normalized(Array(host.utf8)) ?? []) {
            return ProxyRoute.destination(host, port: port)
        }
        return LocalLookup.first(host, port: port).map { SocksDestination($0) }
    }

    enum Outcome { case reached, failed, tryNext }

    /// Through these proxies (a chain, or one). A proxy that fails (not the destination's
    /// refusal) on a failover list that has more is a warning, and the next is tried.
    @discardableResult
    private func through(_ indices: [Int], last: Bool = true) -> Outcome {
        let chain = indices.map { rules.proxies[$0].spec }
        let names = indices.map { rules.proxies[$0].name.isEmpty ? rules.proxies[$0].spec.displayName : String(decoding: rules.proxies[$0].name, as: UTF8.self) }
            .joined(separator: " > ")
        guard let destination = destination(for: chain[chain.count - 1]) else {
            report.add(.problem, "cannot resolve \(host) here (the rules resolve it locally)")
            return .failed
        }
        guard case .success(let first) = ProxyAddress.resolve(chain[0]) else {
            report.add(last ? .problem : .warning, "cannot resolve the proxy host \(chain[0].host)" + (last ? "" : "; failover tries the next"))
            return last ? .failed : .tryNext
        }
        let fd = socket(first.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            report.add(.problem, "no socket: \(String(cString: strerror(errno)))")
            return .failed
        }
        defer { close(fd) }
        let clock = Stopwatch()
        do throws(SocksError) {
            try ProxyTunnel.open(fd: fd, chain: chain, firstEndpoint: first, destination: destination, timeouts: timeouts)
            report.add(.ok, "reached \(destination.address.text):\(port) through \(names) in \(clock.milliseconds)")
            return .reached
        } catch {
            let next = !last && error.isProxyFailure
            report.add(next ? .warning : .problem, "not reached through \(names): \(error.reason)" + (next ? "; failover tries the next" : ""))
            return next ? .tryNext : .failed
        }
    }

    private func direct(_ why: String) {
        guard let endpoint = LocalLookup.first(host, port: port) else {
            report.add(.problem, "goes direct\(why), but \(host) does not resolve here")
            return
        }
        let fd = socket(endpoint.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            report.add(.problem, "no socket: \(String(cString: strerror(errno)))")
            return
        }
        defer { close(fd) }
        let clock = Stopwatch()
        do throws(SocksError) {
            try ProxyTunnel.connectToProxy(fd: fd, target: endpoint, timeouts: timeouts)
            report.add(.ok, "goes direct\(why): reached \(endpoint.address.text):\(port) in \(clock.milliseconds)")
        } catch {
            // connectToProxy names the other end a proxy; here it is the target
            var reason = error.reason
            if case .proxyUnreachable(let e) = error { reason = ErrnoName.describe(e) }
            report.add(.problem, "goes direct\(why), and is not reachable: \(reason)")
        }
    }
}
