import Testing
@testable import SocksifyCore

@Suite struct HostsFileTests {
    static let text = """
        # /etc/hosts
        127.0.0.1\tlocalhost
        127.0.1.1   buildbox.example.org buildbox
        ::1         localhost ip6-localhost ip6-loopback
        10.0.0.5    MyHost.Lan myhost   # the NAS
        10.0.0.6\tmyhost\r
        10.0.0.5    myhost.lan
        #10.9.9.9   commented-out
        garbage line here
        1.2.3.4
        not.an.ip   name
        192.168.1.1 bad!name good-name
        192.168.1.2 bad!only

        fe80::1%eth0 linklocal
        """
    static let hosts = HostsFile(text: ascii(text))

    static func lookup(_ name: String) -> (addresses: [IPAddress], canonical: String)? {
        guard let found = hosts.addresses(of: ascii(name)) else { return nil }
        return (found.addresses, HostName.string(found.canonical))
    }

    @Test func entries() {
        #expect(Self.hosts.entries.map(\.address) == [
            ip("127.0.0.1"), ip("127.0.1.1"), ip("::1"), ip("10.0.0.5"), ip("10.0.0.6"), ip("10.0.0.5"), ip("192.168.1.1"),
        ])
        #expect(Self.hosts.entries[3].names == [ascii("myhost.lan"), ascii("myhost")], "normalized, comment dropped")
        #expect(Self.hosts.entries[4].names == [ascii("myhost")], "tab and CR separate fields")
        #expect(Self.hosts.entries[6].names == [ascii("good-name")], "invalid names are skipped")
    }

    @Test func localhostHasBothFamilies() throws {
        let found = try #require(Self.lookup("localhost"))
        #expect(found.addresses == [ip("127.0.0.1"), ip("::1")])
        #expect(found.canonical == "localhost")
    }

    @Test func aliasHasTheLinesFirstNameAsCanonical() throws {
        let found = try #require(Self.lookup("ip6-loopback"))
        #expect(found.addresses == [ip("::1")])
        #expect(found.canonical == "localhost")
        #expect(try #require(Self.lookup("buildbox")).canonical == "buildbox.example.org")
    }

    @Test func addressesInFileOrderWithoutDuplicates() throws {
        let found = try #require(Self.lookup("myhost"))
        #expect(found.addresses == [ip("10.0.0.5"), ip("10.0.0.6")])
        #expect(found.canonical == "myhost.lan")
        #expect(try #require(Self.lookup("myhost.lan")).addresses == [ip("10.0.0.5")])
    }

    @Test(arguments: ["commented-out", "name", "bad!only", "here", "linklocal", "nowhere.example", "MyHost.Lan"])
    func unknownNames(name: String) {
        // Lookups take normalized names: "MyHost.Lan" as given is not one.
        #expect(Self.lookup(name) == nil)
    }

    @Test func reverse() {
        #expect(Self.hosts.name(of: ip("10.0.0.5")) == ascii("myhost.lan"))
        #expect(Self.hosts.name(of: ip("::1")) == ascii("localhost"))
        #expect(Self.hosts.name(of: ip("10.0.0.6")) == ascii("myhost"))
        #expect(Self.hosts.name(of: ip("9.9.9.9")) == nil)
        #expect(Self.hosts.name(of: ip("::ffff:127.0.0.1")) == nil)
    }

    @Test func emptyFile() {
        #expect(HostsFile(text: []).entries.isEmpty)
        #expect(HostsFile(text: ascii("\n\n# nothing\n")).entries.isEmpty)
    }

    @Test func lastLineWithoutNewline() {
        let hosts = HostsFile(text: ascii("10.1.1.1 a\n10.2.2.2 b"))
        #expect(hosts.addresses(of: ascii("b"))?.addresses == [ip("10.2.2.2")])
    }
}
