import Glibc
import SocksifyLibc
import Testing
@testable import SocksifyCore

/// The backstop's DNS answers (Shim+NameQueries.swift): the same NameResolver as getaddrinfo.
@Suite struct ShimNameQueryTests {
    static func shim(_ url: String, strict: Bool = false) -> Shim {
        var environment = ["SOCKSIFY_PROXY": url, "SOCKSIFY_QUIET": "1"]
        if strict { environment["SOCKSIFY_STRICT"] = "1" }
        let settings = ShimSettings.fromEnvironment { environment[$0] }
        return Shim(settings: settings, program: RunningProgram(executable: ascii("/usr/bin/go-program"), argv0: ascii("go-program")),
                    readFile: { _ in nil }, environment: { environment[$0] }, kernel: FakeKernel(programSocket: 9, statusFlags: O_RDWR))
    }

    static func records(_ answer: NameQueryAnswer) -> (code: UInt8, addresses: [[UInt8]])? {
        guard case .reply(let bytes) = answer, bytes.count >= 12 else { return nil }
        let count = Int(bytes[6]) << 8 | Int(bytes[7])
        var at = 12
        while bytes[at] != 0 { at += Int(bytes[at]) + 1 }
        at += 5
        var addresses: [[UInt8]] = []
        for _ in 0..<count {
            let length = Int(bytes[at + 10]) << 8 | Int(bytes[at + 11])
            addresses.append(Array(bytes[at + 12..<at + 12 + length]))
            at += 12 + length
        }
        return (bytes[3] & 0xF, addresses)
    }

    @Test func aNameTheProxyResolvesGetsASyntheticAddress() throws {
        let shim = Self.shim("socks5h://10.0.0.5:1080")
        let answer = try #require(Self.records(shim.answerNameQuery(dnsQuery("Only-Proxy.test"))))
        #expect(answer.code == 0 && answer.addresses.count == 1)
        let address = IPAddress.v4(IPv4Address(answer.addresses[0][0], answer.addresses[0][1], answer.addresses[0][2], answer.addresses[0][3]))
        #expect(shim.names.name(forSynthetic: address) == ascii("only-proxy.test"), "the connect that follows finds the name")
        let again = try #require(Self.records(shim.answerNameQuery(dnsQuery("only-proxy.test", id: 9))))
        #expect(again.addresses == answer.addresses, "one name, one address")
    }

    @Test func aaaaAndOtherTypesOfSuchANameHaveNoRecords() throws {
        let shim = Self.shim("socks5h://10.0.0.5:1080")
        for type: UInt16 in [DNSQuery.typeAAAA, 15, 16, 33, 65, 255] {
            let answer = try #require(Self.records(shim.answerNameQuery(dnsQuery("only-proxy.test", type: type))))
            #expect(answer.code == 0 && answer.addresses.isEmpty, "type \(type): no query leaves, no records come")
        }
    }

    @Test func aNameResolvedLocallyIsForwarded() {
        #expect(Self.shim("socks5://10.0.0.5:1080").answerNameQuery(dnsQuery("example.com")) == .forward)
        #expect(Self.shim("socks5://10.0.0.5:1080").answerNameQuery(dnsQuery("example.com", type: 15)) == .forward)
    }

    @Test func aForwardedAnswerIsRememberedForNameRules() throws {
        let rules = "proxy p socks5://10.0.0.5:1080\nrule to intranet.example direct\ndefault via p\n"
        let path = "/tmp/socksify-name-query-test-\(getpid()).conf"
        let file = fopen(path, "w")
        fputs(rules, file)
        fclose(file)
        defer { unlink(path) }
        let environment = ["SOCKSIFY_CONFIG": path, "SOCKSIFY_QUIET": "1"]
        let shim = Shim(settings: ShimSettings.fromEnvironment { environment[$0] },
                        program: RunningProgram(executable: ascii("/usr/bin/go-program"), argv0: ascii("go-program")),
                        readFile: { _ in nil }, environment: { environment[$0] },
                        kernel: FakeKernel(programSocket: 9, statusFlags: O_RDWR))
        let query = dnsQuery("Intranet.Example", edns: false)
        #expect(shim.answerNameQuery(query) == .forward)
        var reply = query
        reply[2] = 0x81; reply[3] = 0x80; reply[7] = 1
        reply += [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 9, 8, 7]
        let before = TrafficVerdict.decide(shim.trafficAttempt(.tcp, to: Endpoint(ip("10.9.8.7"), port: 443)), shim.policy)
        shim.noteForwardedAnswer(query: query, reply: reply)
        let after = TrafficVerdict.decide(shim.trafficAttempt(.tcp, to: Endpoint(ip("10.9.8.7"), port: 443)), shim.policy)
        #expect(!before.isDirect && after.isDirect, "the name rule matches the address the nameserver gave")
    }

    @Test func strictWithoutARemoteResolverIsRefused() throws {
        let answer = try #require(Self.records(Self.shim("socks5://10.0.0.5:1080", strict: true).answerNameQuery(dnsQuery("example.com"))))
        #expect(answer.code == DNSQuery.refused && answer.addresses.isEmpty)
    }

    @Test func aNameThatCannotBeAHostIsNotFound() throws {
        let answer = try #require(Self.records(Self.shim("socks5h://10.0.0.5:1080").answerNameQuery(dnsQuery("bad name!.test"))))
        #expect(answer.code == DNSQuery.nameError)
    }

    @Test func malformedAndStrayPacketsAndOtherOpcodes() {
        let shim = Self.shim("socks5h://10.0.0.5:1080")
        #expect(shim.answerNameQuery([1, 2, 3]) == .ignore)
        #expect(shim.answerNameQuery(dnsQuery("a.test", flags: 0x8180)) == .ignore)
        var two = dnsQuery("a.test")
        two[5] = 2
        #expect(shim.answerNameQuery(two) == .reply(DNSQuery.failure(id: 0x1234, code: DNSQuery.formatErrorCode)))
        let update = dnsQuery("a.test", flags: 0x2800)  // opcode 5, UPDATE
        guard case .reply(let bytes) = shim.answerNameQuery(update) else { Issue.record("no reply"); return }
        #expect(bytes[3] & 0xF == DNSQuery.notImplemented)
    }
}

extension TrafficVerdict {
    var isDirect: Bool {
        if case .direct = self { return true }
        return false
    }
}
