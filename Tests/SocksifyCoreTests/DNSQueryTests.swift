import Testing
@testable import SocksifyCore

/// A query as Go's resolver sends it: ID, RD, one question, an EDNS0 OPT record after it.
func dnsQuery(_ name: String, type: UInt16 = DNSQuery.typeA, id: UInt16 = 0x1234, flags: UInt16 = 0x0100,
              edns: Bool = true) -> [UInt8] {
    var out: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), UInt8(flags >> 8), UInt8(flags & 0xFF), 0, 1, 0, 0, 0, 0, 0, edns ? 1 : 0]
    for label in name.split(separator: ".") {
        out.append(UInt8(label.utf8.count))
        out += Array(label.utf8)
    }
    out += [0, UInt8(type >> 8), UInt8(type & 0xFF), 0, 1]
    if edns { out += [0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0] }
    return out
}

@Suite struct DNSQueryTests {
    @Test func aQueryIsRead() throws {
        let query = try DNSQuery.parse(dnsQuery("Example.COM")).get()
        #expect(query.id == 0x1234)
        #expect(query.name == ascii("Example.COM"), "as sent: the resolver normalises")
        #expect(query.type == DNSQuery.typeA && query.queryClass == DNSQuery.classIN && query.opcode == 0)
        #expect(query.question == Array(dnsQuery("Example.COM")[12..<12 + 13 + 4]))
    }

    @Test func theRootIsAnEmptyName() throws {
        #expect(try DNSQuery.parse(dnsQuery("", type: 2)).get().name == [])
    }

    @Test func runtsAndRepliesAreIgnored() {
        #expect(DNSQuery.parse([]) == .failure(.ignore))
        #expect(DNSQuery.parse(Array(dnsQuery("a.b").prefix(11))) == .failure(.ignore))
        #expect(DNSQuery.parse(dnsQuery("a.b", flags: 0x8180)) == .failure(.ignore))
    }

    @Test(arguments: [
        ("two questions", { var q = dnsQuery("a.b"); q[5] = 2; return q }()),
        ("no question", { var q = dnsQuery("a.b"); q[5] = 0; return q }()),
        ("cut in the name", Array(dnsQuery("abc.example", edns: false).prefix(16))),
        ("cut before the type", Array(dnsQuery("a.b", edns: false).prefix(12 + 5 + 2))),
        ("a compression pointer", [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1]),
        ("a label over 63", [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 64] + [UInt8](repeating: 97, count: 64) + [0, 0, 1, 0, 1]),
    ] as [(String, [UInt8])])
    func malformedQueriesGetFormatError(what: String, packet: [UInt8]) {
        #expect(DNSQuery.parse(packet) == .failure(.formatError(id: 0x1234)), "\(what)")
    }

    @Test func aNameOver255BytesIsAFormatError() {
        let long = Array(repeating: String(repeating: "a", count: 63), count: 5).joined(separator: ".")
        #expect(DNSQuery.parse(dnsQuery(long)) == .failure(.formatError(id: 0x1234)))
    }

    @Test func aReplyEchoesTheQuestionAndCarriesTheRecords() throws {
        let query = try DNSQuery.parse(dnsQuery("a.example")).get()
        let reply = query.reply(code: DNSQuery.noError, addresses: [ip("127.192.0.7"), ip("2001:db8::1")], ttl: 300)
        // ID, QR+RD+RA, one question, two answers, no authority or additional records
        #expect(Array(reply[0..<12]) == [0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0])
        #expect(Array(reply[12..<12 + query.question.count]) == query.question)
        var at = 12 + query.question.count
        #expect(Array(reply[at..<at + 16]) == [0xC0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 127, 192, 0, 7])
        at += 16
        #expect(Array(reply[at..<at + 12]) == [0xC0, 12, 0, 28, 0, 1, 0, 0, 1, 44, 0, 16])
        #expect(Array(reply[(at + 12)...]) == ip("2001:db8::1").v6Bytes)
    }

    @Test(arguments: [DNSQuery.nameError, DNSQuery.refused, DNSQuery.notImplemented])
    func anErrorReplyHasTheCodeAndNoRecords(code: UInt8) throws {
        let query = try DNSQuery.parse(dnsQuery("a.example")).get()
        let reply = query.reply(code: code)
        #expect(Array(reply[0..<12]) == [0x12, 0x34, 0x81, 0x80 | code, 0, 1, 0, 0, 0, 0, 0, 0])
        #expect(reply.count == 12 + query.question.count)
    }

    @Test func aQueryWithoutRecursionDesiredIsAnsweredWithout() throws {
        let reply = try DNSQuery.parse(dnsQuery("a.example", flags: 0)).get().reply(code: 0)
        #expect(reply[2] == 0x80 && reply[3] == 0x80)
    }

    @Test func addressesAreReadFromANameserversReply() throws {
        // a.example CNAME b.example (compressed), b.example A 10.1.2.3, AAAA 2001:db8::7, then an MX
        let query = dnsQuery("a.example", edns: false)
        var reply = Array(query[0..<12])
        reply[2] = 0x81; reply[3] = 0x80; reply[7] = 4
        reply += query[12...]
        reply += [0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 4, 1, 98, 0xC0, 14]
        reply += [1, 98, 0xC0, 14, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 1, 2, 3]
        reply += [0xC0, 12, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16] + ip("2001:db8::7").v6Bytes
        reply += [0xC0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 4, 0, 10, 0xC0, 12]
        #expect(DNSQuery.addresses(inReply: reply) == [ip("10.1.2.3"), ip("2001:db8::7")])
        #expect(DNSQuery.addresses(inReply: Array(reply.dropLast(10))) == [ip("10.1.2.3"), ip("2001:db8::7")], "cut in the MX: what is whole")
        #expect(DNSQuery.addresses(inReply: Array(reply.dropLast(20))) == [ip("10.1.2.3")], "cut in the AAAA")
        #expect(DNSQuery.addresses(inReply: query) == [], "a query is no reply")
        #expect(DNSQuery.addresses(inReply: Array(reply.prefix(20))) == [])
    }

    @Test func aFailureWithoutAQuestion() {
        #expect(DNSQuery.failure(id: 7, code: DNSQuery.formatErrorCode) == [0, 7, 0x80, 0x81, 0, 0, 0, 0, 0, 0, 0, 0])
    }
}

extension IPAddress {
    var v6Bytes: [UInt8] {
        if case .v6(let a) = self { return a.bytes }
        return []
    }
}
