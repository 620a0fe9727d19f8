import Testing
import SocksifyLibc
@testable import SocksifyCore

/// NameResolution is not Equatable; tests compare this mirror of it.
enum Resolved: Equatable, CustomStringConvertible {
    case libc
    case addresses([IPAddress], canonical: String)
    case notFound
    case refused(String)

    init(_ r: NameResolution) {
        switch r {
        case .libc: self = .libc
        case .addresses(let a, let canonical): self = .addresses(a, canonical: HostName.string(canonical))
        case .notFound: self = .notFound
        case .refused(let why): self = .refused(why)
        }
    }

    var description: String {
        switch self {
        case .libc: return "libc"
        case .addresses(let a, let c): return "addresses(\(a.map(\.text)), \(c))"
        case .notFound: return "notFound"
        case .refused(let why): return "refused(\(why))"
        }
    }
}

@Suite struct NameResolverTests {
    static let hosts = HostsFile(text: ascii("127.0.0.1 localhost\n::1 localhost\n10.0.0.5 nas.lan nas\n"))
    static let strictLocal = "local DNS lookup refused in strict mode (use socks5h:// or socks4a:// to resolve through the proxy)"

    static func resolver(remote: Bool, strict: Bool = false, table: NameTable? = scratchTable(capacity: 64)) -> NameResolver {
        NameResolver(remote: remote, strict: strict, pool: .standard, table: table, hosts: hosts)
    }

    static func resolve(_ r: NameResolver, _ name: String, _ family: Int32 = AF_UNSPEC) -> Resolved {
        Resolved(r.resolve(ascii(name), family: family))
    }

    // MARK: numeric names never involve DNS

    // Interface names: only "lo" exists on every machine.
    @Test(arguments: ["1.2.3.4", "::1", "2001:db8::1", "127.1", "10", "0x7f.1", "::ffff:1.2.3.4",
                      "fe80::1%lo", "fe80::1%1", "fe80::1%99999", "fe80::1%4294967295", "ff02::1%lo", "2001:db8::1%1"])
    func numericIsAlwaysLibc(name: String) {
        #expect(NameResolver.isNumeric(ascii(name)))
        for (remote, strict) in [(false, false), (false, true), (true, false), (true, true)] {
            #expect(Self.resolve(Self.resolver(remote: remote, strict: strict), name) == .libc)
        }
    }

    @Test(arguments: ["example.com", "localhost", "1.2.3.4.example", "%eth0", "%1", "", "1.2.3.4x", "1.2.3.256",
                      "fe80::1%nosuchif0", "fe80::1%1x", "1.2.3.4%1", "example.com%lo", "fe80::1%%1"])
    func notNumeric(name: String) {
        #expect(!NameResolver.isNumeric(ascii(name)))
    }

    /// glibc's getaddrinfo takes a host as numeric only if inet_aton_exact or inet_pton (with a
    /// valid scope) accept all of it. Regression: isNumeric used plain inet_aton, which stops at
    /// whitespace, and took any text after '%'; such names went to libc, which looked them up
    /// with DNS (leaving the machine in socks5h mode, and despite strict mode).
    @Test(arguments: ["1.2.3.4 ", "1.2.3.4\n", "1.2.3.4 evil.example", "fe80::1%"])
    func namesGlibcDoesNotTakeAsNumericAreNotNumeric(name: String) {
        #expect(!NameResolver.isNumeric(ascii(name)))
        #expect(Self.resolve(Self.resolver(remote: true), name) != .libc)
        #expect(Self.resolve(Self.resolver(remote: false, strict: true), name) != .libc)
    }

    /// glibc (2.36, `__inet6_scopeid_pton`) takes an interface name as a scope only for link-local
    /// unicast and multicast addresses, and a numeric scope only up to 2^32-1; for anything else
    /// getaddrinfo looks the whole text up as a name. isNumeric (DNS/NameResolver.swift:89-93)
    /// accepts any existing interface name after any IPv6 address, and any run of digits, so
    /// these names reach libc's DNS in socks5h and strict mode.
    @Test(arguments: ["::1%lo", "2001:db8::1%lo", "fe80::1%4294967296", "fe80::1%99999999999999999999"])
    func scopesGlibcDoesNotAcceptAreNotNumeric(name: String) {
        #expect(!NameResolver.isNumeric(ascii(name)))
        #expect(Self.resolve(Self.resolver(remote: true), name) != .libc)
    }

    // MARK: names resolved locally (socks5, socks4)

    @Test func localResolutionGoesToLibc() {
        let r = Self.resolver(remote: false)
        #expect(Self.resolve(r, "example.com") == .libc)
        #expect(Self.resolve(r, "localhost") == .libc)
    }

    @Test func strictRefusesLocalResolution() {
        let r = Self.resolver(remote: false, strict: true)
        #expect(Self.resolve(r, "example.com") == .refused(Self.strictLocal))
        #expect(Self.resolve(r, "localhost") == .refused(Self.strictLocal))
    }

    // MARK: names resolved by the proxy (socks5h, socks4a)

    @Test func hostsFileStaysLocal() {
        let r = Self.resolver(remote: true)
        #expect(Self.resolve(r, "localhost", AF_INET) == .addresses([ip("127.0.0.1")], canonical: "localhost"))
        #expect(Self.resolve(r, "localhost", AF_INET6) == .addresses([ip("::1")], canonical: "localhost"))
        #expect(Self.resolve(r, "LOCALHOST.", AF_UNSPEC) == .addresses([ip("127.0.0.1"), ip("::1")], canonical: "localhost"))
        #expect(Self.resolve(r, "nas", AF_INET) == .addresses([ip("10.0.0.5")], canonical: "nas.lan"))
        #expect(Self.resolve(r, "nas", AF_INET6) == .notFound, "in /etc/hosts, but not for this family")
    }

    @Test func syntheticAddresses() {
        let r = Self.resolver(remote: true)
        let v4 = Self.resolve(r, "Example.COM.", AF_INET)
        let pool = AddressPool.standard
        #expect(v4 == .addresses([.v4(pool.ipv4(at: 1))], canonical: "example.com"))
        #expect(Self.resolve(r, "example.com", AF_INET) == v4, "same name, same address")
        #expect(Self.resolve(r, "example.com", AF_UNSPEC) == v4, "AF_UNSPEC gets IPv4")
        #expect(Self.resolve(r, "example.com", AF_INET6) == .addresses([.v6(pool.ipv6(at: 1))], canonical: "example.com"))
        #expect(Self.resolve(r, "example.org", AF_INET) == .addresses([.v4(pool.ipv4(at: 2))], canonical: "example.org"))
    }

    @Test(arguments: ["bad name", "a..b", "ex!ample.com", String(repeating: "a", count: 64) + ".com"])
    func invalidNamesAreNotFound(name: String) {
        #expect(Self.resolve(Self.resolver(remote: true), name) == .notFound)
    }

    @Test func noTableIsRefused() {
        let r = Self.resolver(remote: true, table: nil)
        #expect(Self.resolve(r, "example.com") == .refused("no name table: cannot hand out synthetic addresses"))
        #expect(Self.resolve(r, "localhost", AF_INET) == .addresses([ip("127.0.0.1")], canonical: "localhost"))
    }

    /// The run's shared map cannot be used: names are refused with the reason, and a synthetic
    /// address has no name (the connect then fails, never goes direct).
    @Test func unusableSharedMapIsRefusedWithTheReason() {
        var r = Self.resolver(remote: true, table: nil)
        r.unavailableMap = "there is no shared memory segment 5: it was removed, or its run has ended"
        #expect(Self.resolve(r, "example.com") == .refused(
            "the run's name map cannot be used in this process (there is no shared memory segment 5: it was removed, or its run has ended)"))
        #expect(Self.resolve(r, "localhost", AF_INET) == .addresses([ip("127.0.0.1")], canonical: "localhost"), "/etc/hosts still answers")
        #expect(r.name(forSynthetic: .v4(AddressPool.standard.ipv4(at: 1))) == nil)
        #expect(Resolved(r.reverse(.v4(AddressPool.standard.ipv4(at: 1)))) == .notFound)
    }

    // MARK: synthetic address → name

    @Test func nameForSynthetic() {
        let r = Self.resolver(remote: true)
        guard case .addresses(let a, _) = Self.resolve(r, "example.com", AF_INET), let v4 = a.first else {
            Issue.record("no synthetic address"); return
        }
        #expect(r.name(forSynthetic: v4) == ascii("example.com"))
        let v6 = IPAddress.v6(AddressPool.standard.ipv6(at: AddressPool.standard.position(of: v4)!))
        #expect(r.name(forSynthetic: v6) == ascii("example.com"))
        if case .v4(let plain) = v4 {
            #expect(r.name(forSynthetic: .v6(IPv6Address(mapping: plain))) == ascii("example.com"))
        }
        #expect(r.name(forSynthetic: .v4(AddressPool.standard.ipv4(at: 99))) == nil, "a pool address not handed out")
        #expect(r.name(forSynthetic: ip("10.0.0.5")) == nil)
    }

    @Test func nameForSyntheticNeedsRemoteAndTable() {
        let table = scratchTable(capacity: 64)
        let position = table.position(for: ascii("example.com"), poolSize: AddressPool.standard.size)
        let address = IPAddress.v4(AddressPool.standard.ipv4(at: position))
        #expect(Self.resolver(remote: true, table: table).name(forSynthetic: address) == ascii("example.com"))
        #expect(Self.resolver(remote: false, table: table).name(forSynthetic: address) == nil)
        #expect(Self.resolver(remote: true, table: nil).name(forSynthetic: address) == nil)
    }

    // MARK: reverse lookups

    @Test func reverse() {
        let remote = Self.resolver(remote: true)
        guard case .addresses(let a, _) = Self.resolve(remote, "example.com", AF_INET), let synthetic = a.first else {
            Issue.record("no synthetic address"); return
        }
        #expect(Resolved(remote.reverse(synthetic)) == .addresses([synthetic], canonical: "example.com"))
        #expect(Resolved(remote.reverse(ip("10.0.0.5"))) == .addresses([ip("10.0.0.5")], canonical: "nas.lan"))
        #expect(Resolved(remote.reverse(ip("8.8.8.8"))) == .notFound, "no PTR query leaves the machine")

        let local = Self.resolver(remote: false)
        #expect(Resolved(local.reverse(ip("8.8.8.8"))) == .libc)
        #expect(Resolved(local.reverse(ip("10.0.0.5"))) == .libc)

        let strict = Self.resolver(remote: false, strict: true)
        #expect(Resolved(strict.reverse(ip("8.8.8.8"))) == .notFound)
        #expect(Resolved(strict.reverse(ip("127.0.0.1"))) == .addresses([ip("127.0.0.1")], canonical: "localhost"))
    }

    @Test func familyMatching() {
        #expect(NameResolver.matches(ip("1.2.3.4"), family: AF_INET))
        #expect(NameResolver.matches(ip("1.2.3.4"), family: AF_UNSPEC))
        #expect(!NameResolver.matches(ip("1.2.3.4"), family: AF_INET6))
        #expect(NameResolver.matches(ip("::1"), family: AF_INET6))
        #expect(NameResolver.matches(ip("::1"), family: AF_UNSPEC))
        #expect(!NameResolver.matches(ip("::1"), family: AF_INET))
    }
}
