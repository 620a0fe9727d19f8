import Glibc
import SocksifyCore
import SocksifyLibc

/// Asks one proxy, on connections of its own, what the run needs of it: is it reachable, does
/// it speak the protocol its URL says, does it take the login, does it resolve names (a CONNECT
/// to localhost port 9: nothing leaves the proxy's machine), does it carry UDP and BIND, does
/// it take a pipelined handshake. Each answer is one line of the report.
struct ProxyProbe {
    let route: ProxyRoute
    /// Why the rules file's password for this proxy cannot be had, if it cannot.
    let missingSecret: String?
    /// Only in failover lists with others: what fails here is a warning, the next is tried.
    let spare: Bool
    let report: DoctorReport

    /// What a failure of this proxy is: a problem, or for a spare a warning.
    var failure: DoctorReport.Level { spare ? .warning : .problem }
    var failureNote: String { spare ? " (its failover list moves on to the next)" : "" }

    var proxy: ProxySpec { route.proxy }

    /// What the name check asks for: a name only the proxy's own machine answers.
    static let nameProbe = SocksDestination(.domain("localhost"), port: 9)
    static let addressProbe = SocksDestination(.ip(.v4(IPv4Address(0x7F00_0001))), port: 9)

    func run() {
        if let missingSecret {
            report.add(failure, "no password for it: \(missingSecret)" + failureNote)
        }
        let clock = Stopwatch()
        let fd: Int32
        do throws(SocksError) {
            fd = try route.connect()
        } catch {
            let way = route.before.isEmpty ? "" : " (through \(route.before.map(\.displayName).joined(separator: " > ")): any hop of the way)"
            report.add(failure, "not reachable\(way): \(error.reason)" + failureNote)
            return
        }
        let through = route.before.isEmpty ? "" : " (through \(route.before.map(\.displayName).joined(separator: " > ")))"
        report.add(.ok, "reachable\(through): TCP connect in \(clock.milliseconds)")
        switch proxy.proto {
        case .socks5, .socks5h: socks5(fd)
        case .socks4, .socks4a: socks4(fd)
        case .http: http(fd)
        }
    }

    // MARK: SOCKS5

    private func socks5(_ fd: Int32) {
        defer { close(fd) }
        var transport = route.transport(fd)
        let clock = Stopwatch()
        do throws(SocksError) {
            try ClientHandshake.negotiateSocks5Method(over: &transport, credentials: proxy.credentials)
        } catch {
            report.add(failure, loginProblem(error) + failureNote)
            reportMethods(acceptedMethods())
            return
        }
        let accepted = acceptedMethods()
        // socksify offers both methods when it has a login: a proxy that takes none picks that.
        let checked = proxy.credentials != nil && !accepted.contains(.noAuthentication)
        let login = proxy.credentials == nil ? "no authentication"
            : checked ? "username/password" : "no authentication: it needs no login, so the credentials were not checked"
        do throws(SocksError) {
            _ = try ClientHandshake.socks5Request(over: &transport, Socks5Request(command: .connect, destination: ProxyProbe.nameProbe))
            report.add(.ok, "speaks SOCKS5: handshake in \(clock.milliseconds) (\(login))")
            names(reply: .succeeded)
        } catch {
            guard case .socks5Refused(let code) = error else {
                report.add(failure, "does not answer a SOCKS5 request: \(error.reason)")
                return
            }
            report.add(.ok, "speaks SOCKS5: handshake in \(clock.milliseconds) (\(login))")
            names(reply: code)
        }
        if checked { report.add(.ok, "takes the username and password") }
        reportMethods(accepted)
        command(.udpAssociate, "UDP ASSOCIATE", carries: "carries UDP", lacking: "does not carry UDP", then: "UDP through it is refused")
        command(.bind, "BIND", carries: "takes BIND (active FTP and other servers through the proxy)", lacking: "does not take BIND",
                then: "a BIND through it fails with EADDRNOTAVAIL")
        pipelining()
    }

    private func loginProblem(_ error: SocksError) -> String {
        switch error {
        case .noAcceptableMethod where proxy.credentials == nil:
            return "wants a login: give user:password in the URL (socks5://user:password@host:port) or password-env in the rules file"
        case .noAcceptableMethod:
            return "accepts neither no authentication nor username/password"
        case .authenticationFailed(let status):
            return "refuses the username and password (status \(status))"
        case .malformedReply, .closedByProxy:
            return "does not speak SOCKS5: \(error.reason)"
        default:
            return "no SOCKS5 greeting: \(error.reason)"
        }
    }

    static let methodNames: [(Socks5AuthMethod, String)] = [(.noAuthentication, "no authentication"), (.usernamePassword, "username/password")]

    /// The methods it accepts, each offered alone on a connection of its own.
    private func acceptedMethods() -> [Socks5AuthMethod] {
        var accepted: [Socks5AuthMethod] = []
        for (method, _) in ProxyProbe.methodNames {
            guard let fd = try? route.connect() else { return accepted }
            defer { close(fd) }
            var transport = route.transport(fd)
            var reply: [UInt8] = []
            do throws(SocksError) {
                try transport.send(try Socks5Greeting(methods: [method]).encode())
                try transport.receive(into: &reply, total: 2)
            } catch {
                return accepted
            }
            if reply[1] == method.rawValue { accepted.append(method) }
        }
        return accepted
    }

    private func reportMethods(_ accepted: [Socks5AuthMethod]) {
        let names = ProxyProbe.methodNames.filter { accepted.contains($0.0) }.map(\.1)
        report.add(.note, "accepts: " + (names.isEmpty ? "neither no authentication nor username/password" : names.joined(separator: ", ")))
    }

    /// What the answer to CONNECT localhost:9 says about names.
    private func names(reply code: Socks5ReplyCode) {
        let needed = proxy.proto.resolvesRemotely
        switch code.rawValue {
        case 0x00, 0x03, 0x05, 0x06:
            report.add(needed ? .ok : .note, "resolves names (it looked up localhost and tried port 9: \(code.reason))")
        case 0x08:
            report.add(needed ? .problem : .note,
                       "takes no names (\(code.reason))" + (needed ? ": use socks5:// so names are resolved here" : ""))
        case 0x02:
            report.add(needed ? .warning : .note, "could not tell whether it resolves names: its own rules refuse localhost:9 (\(code.reason))")
        default:
            report.add(needed ? .warning : .note, "could not tell whether it resolves names: asked for localhost:9, it answered \(code.reason)")
        }
    }

    /// A UDP ASSOCIATE or BIND request on a connection of its own, closed at once.
    private func command(_ command: Socks5Command, _ name: String, carries: String, lacking: String, then: String) {
        guard let fd = try? route.connect() else { return }
        defer { close(fd) }
        var transport = route.transport(fd)
        let any = SocksDestination(.ip(.v4(IPv4Address(0))), port: 0)
        do throws(SocksError) {
            try ClientHandshake.negotiateSocks5Method(over: &transport, credentials: proxy.credentials)
            let bound = try ClientHandshake.socks5Request(over: &transport, Socks5Request(command: command, destination: any))
            report.add(.note, "\(carries) (\(name) granted, at \(bound.address.text):\(bound.port))")
        } catch {
            if case .socks5Refused(let code) = error {
                report.add(.note, "\(lacking) (\(name): \(code.reason)): \(then)")
            } else {
                report.add(.note, "\(lacking) (\(name): \(error.reason)): \(then)")
            }
        }
    }

    /// Greeting, login and request in one write (the `pipeline` option). A proxy that does not
    /// take it stalls: one second is enough to tell.
    private func pipelining() {
        guard let fd = try? route.connect() else { return }
        defer { close(fd) }
        var transport = route.transport(fd, milliseconds: min(1000, route.timeouts.handshakeMilliseconds))
        var pipelined = proxy
        pipelined.pipeline = true
        do throws(SocksError) {
            try ClientHandshake.connect(over: &transport, proxy: pipelined, to: ProxyProbe.nameProbe)
        } catch {
            if case .socks5Refused = error {} else {
                let level: DoctorReport.Level = proxy.pipeline ? .problem : .note
                report.add(level, "does not take a pipelined handshake (\(error.reason))" + (proxy.pipeline ? ": turn pipeline off for it" : ""))
                return
            }
        }
        report.add(proxy.pipeline ? .ok : .note, "takes a pipelined handshake" + (proxy.pipeline ? "" : " (pipeline in the rules file saves a round trip per connection)"))
    }

    // MARK: SOCKS4 and HTTP

    private func socks4(_ fd: Int32) {
        defer { close(fd) }
        var transport = route.transport(fd)
        let clock = Stopwatch()
        let remote = proxy.proto == .socks4a
        do throws(SocksError) {
            try ClientHandshake.connect(over: &transport, proxy: proxy, to: remote ? ProxyProbe.nameProbe : ProxyProbe.addressProbe)
            report.add(.ok, "speaks SOCKS4: handshake in \(clock.milliseconds)")
            if remote { report.add(.ok, "resolves names (it looked up localhost and reached port 9)") }
        } catch {
            guard case .socks4Refused(let code) = error else {
                report.add(failure, "does not speak SOCKS4: \(error.reason)")
                return
            }
            report.add(.ok, "speaks SOCKS4: handshake in \(clock.milliseconds)")
            if code.rawValue == 92 || code.rawValue == 93 {
                report.add(failure, "refuses the user id: \(code.reason)")
            } else if remote {
                report.add(.warning, "could not tell whether it resolves names: SOCKS4 answers one code (\(code.reason)) for every failure")
            }
        }
        report.add(.note, "SOCKS4 carries no UDP (UDP through it is refused) and socksify uses BIND only with SOCKS5")
    }

    private func http(_ fd: Int32) {
        defer { close(fd) }
        var transport = route.transport(fd)
        let clock = Stopwatch()
        do throws(SocksError) {
            try ClientHandshake.connect(over: &transport, proxy: proxy, to: ProxyProbe.nameProbe)
            report.add(.ok, "speaks HTTP CONNECT: answered in \(clock.milliseconds) (localhost:9 connected)")
        } catch {
            guard case .httpRefused(let status, let line, _, _) = error else {
                report.add(failure, "does not speak HTTP CONNECT: \(error.reason)")
                return
            }
            if status == 407 || status == 401 {
                report.add(failure, error.reason)
                return
            }
            report.add(.ok, "speaks HTTP CONNECT: answered in \(clock.milliseconds) (localhost:9: \(line))")
        }
        if proxy.credentials != nil { report.add(.ok, "takes the username and password (or needs none)") }
        report.add(.note, "names always go to it (CONNECT host:port); HTTP CONNECT carries no UDP and no BIND")
    }
}
