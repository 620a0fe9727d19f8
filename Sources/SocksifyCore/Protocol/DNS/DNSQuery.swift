/// A DNS query as a program's own resolver sends it (RFC 1035 §4.1): a header and one
/// question. The kernel backstop answers these for programs that resolve names without libc
/// (Go); docs/kernel-backstop.md.
public struct DNSQuery: Equatable, Sendable {
    public var id: UInt16
    /// The header's second word: QR, opcode, AA, TC, RD, RA, Z, RCODE.
    public var flags: UInt16
    /// The question's name, labels joined with ".", as sent (no trailing dot; the root is empty).
    public var name: [UInt8]
    public var type: UInt16
    public var queryClass: UInt16
    /// The question section's bytes, echoed in the reply.
    public var question: [UInt8]

    public static let typeA: UInt16 = 1
    public static let typeAAAA: UInt16 = 28
    public static let classIN: UInt16 = 1

    /// The opcode (0: a standard query).
    public var opcode: UInt8 { UInt8(truncatingIfNeeded: flags >> 11) & 0xF }

    /// Why a packet is not a query this parser takes: the reply code to answer with, when the
    /// packet has an ID to answer to.
    public enum Failure: Error, Equatable {
        /// Shorter than a header, or a reply: nothing to answer.
        case ignore
        case formatError(id: UInt16)
    }

    public static func parse(_ packet: [UInt8]) -> Result<DNSQuery, Failure> {
        guard packet.count >= 12 else { return .failure(.ignore) }
        let id = word(packet, 0)
        let flags = word(packet, 2)
        guard flags & 0x8000 == 0 else { return .failure(.ignore) }  // a response
        guard word(packet, 4) == 1 else { return .failure(.formatError(id: id)) }  // QDCOUNT
        var at = 12
        var name: [UInt8] = []
        while true {
            guard at < packet.count else { return .failure(.formatError(id: id)) }
            let length = Int(packet[at])
            at += 1
            if length == 0 { break }
            // A compression pointer (0xC0) or a reserved label type: not in a question we take.
            guard length <= 63, at + length <= packet.count, name.count + length < 255 else {
                return .failure(.formatError(id: id))
            }
            if !name.isEmpty { name.append(UInt8(ascii: ".")) }
            name += packet[at..<at + length]
            at += length
        }
        guard at + 4 <= packet.count else { return .failure(.formatError(id: id)) }
        let query = DNSQuery(id: id, flags: flags, name: name, type: word(packet, at), queryClass: word(packet, at + 2),
                             question: Array(packet[12..<at + 4]))
        return .success(query)
    }

    /// The reply: this query's ID and question, `code` as RCODE, and one record per address
    /// (owner: the question's name; A or AAAA by the address's family).
    public func reply(code: UInt8, addresses: [IPAddress] = [], ttl: UInt32 = 60) -> [UInt8] {
        // QR, the query's opcode and RD, RA (a resolver that sees no RA on an empty answer
        // takes it for a lame referral).
        let replyFlags = 0x8000 | (flags & 0x7900) | 0x0080 | UInt16(code & 0xF)
        var out = DNSQuery.header(id: id, flags: replyFlags, questions: 1, answers: UInt16(addresses.count))
        out += question
        for address in addresses {
            out += [0xC0, 12]  // a pointer to the question's name
            let data: [UInt8]
            switch address {
            case .v4(let a): data = a.bytes; DNSQuery.append(DNSQuery.typeA, to: &out)
            case .v6(let a): data = a.bytes; DNSQuery.append(DNSQuery.typeAAAA, to: &out)
            }
            DNSQuery.append(DNSQuery.classIN, to: &out)
            DNSQuery.append(UInt16(ttl >> 16), to: &out)
            DNSQuery.append(UInt16(truncatingIfNeeded: ttl), to: &out)
            DNSQuery.append(UInt16(data.count), to: &out)
            out += data
        }
        return out
    }

    /// The A and AAAA records' addresses in a nameserver's reply (for any owner: after CNAMEs
    /// they all answer the question); empty for a reply that cannot be read.
    public static func addresses(inReply reply: [UInt8]) -> [IPAddress] {
        guard reply.count >= 12, reply[2] & 0x80 != 0 else { return [] }
        let questions = Int(word(reply, 4))
        let answers = Int(word(reply, 6))
        var at = 12
        for _ in 0..<questions {
            guard let end = skipName(reply, at), end + 4 <= reply.count else { return [] }
            at = end + 4
        }
        var found: [IPAddress] = []
        for _ in 0..<answers {
            guard let end = skipName(reply, at), end + 10 <= reply.count else { break }
            let type = word(reply, end)
            let length = Int(word(reply, end + 8))
            let data = end + 10
            guard data + length <= reply.count else { break }
            if type == typeA && length == 4 {
                found.append(.v4(IPv4Address(reply[data], reply[data + 1], reply[data + 2], reply[data + 3])))
            } else if type == typeAAAA && length == 16 {
                found.append(.v6(IPv6Address(bytes: Array(reply[data..<data + 16]))))
            }
            at = data + length
        }
        return found
    }

    /// Where the name at `at` ends (after its terminating zero, or after a compression pointer).
    static func skipName(_ bytes: [UInt8], _ start: Int) -> Int? {
        var at = start
        while at < bytes.count {
            let length = Int(bytes[at])
            if length == 0 { return at + 1 }
            if length & 0xC0 == 0xC0 { return at + 2 <= bytes.count ? at + 2 : nil }
            guard length <= 63 else { return nil }
            at += 1 + length
        }
        return nil
    }

    /// A reply without a question, for a query that could not be read.
    public static func failure(id: UInt16, code: UInt8) -> [UInt8] {
        header(id: id, flags: 0x8080 | UInt16(code & 0xF), questions: 0, answers: 0)
    }

    public static let noError: UInt8 = 0
    public static let formatErrorCode: UInt8 = 1
    public static let serverFailure: UInt8 = 2
    public static let nameError: UInt8 = 3  // NXDOMAIN
    public static let notImplemented: UInt8 = 4
    public static let refused: UInt8 = 5

    static func header(id: UInt16, flags: UInt16, questions: UInt16, answers: UInt16) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        for value in [id, flags, questions, answers, 0, 0] { append(value, to: &out) }
        return out
    }

    static func word(_ bytes: [UInt8], _ at: Int) -> UInt16 { UInt16(bytes[at]) << 8 | UInt16(bytes[at + 1]) }

    static func append(_ value: UInt16, to out: inout [UInt8]) {
        out.append(UInt8(value >> 8))
        out.append(UInt8(truncatingIfNeeded: value))
    }
}
