import SocksifyLibc

// The kernel backstop's name service (docs/kernel-backstop.md): a program that resolves names
// without libc (Go's own resolver) sends DNS queries to port 53; the supervisor points them at
// its own responder, which asks this file what to answer. The same NameResolver decides as for
// a libc program's getaddrinfo: a name the rules send through a proxy gets a synthetic address
// from the run's name map (the connect that follows reaches the proxy as the name); a name
// resolved locally is forwarded to the nameserver the program asked. Not part of the library.

/// What the responder does with one query.
public enum NameQueryAnswer: Equatable, Sendable {
    /// Send these bytes back to the program.
    case reply([UInt8])
    /// Send the query to the nameserver the program addressed, and its reply back (the rules
    /// resolve this name locally).
    case forward
    /// Not a query (a stray reply, a runt): nothing to answer.
    case ignore
}

/// What the supervisor does for a stopped call beyond the verdict: DNS traffic to its responder
/// instead of the network, UDP through a proxy by a relay of its own.
public protocol BackstopServices: AnyObject {
    /// Connects `copy` (a UDP socket) to a relay the supervisor runs, which carries its datagrams
    /// through `proxy` (a UDP association) to `asked`.
    func relayDatagrams(_ copy: Int32, to asked: SocksDestination, via proxy: ProxySpec, at endpoint: Endpoint, shim: Shim) -> BackstopAnswer
    /// Connects `copy` (the program's socket) to the responder, standing in for `nameserver`.
    func redirect(_ copy: Int32, from nameserver: Endpoint, transport: TransportKind, shim: Shim) -> BackstopAnswer
    /// Sends `query` from `copy` to the responder, standing in for `nameserver` (a sendto on an
    /// unconnected socket); the answer is the byte count, as sendto's.
    func deliver(_ copy: Int32, _ query: [UInt8], from nameserver: Endpoint, shim: Shim) -> BackstopAnswer
}

extension Shim {
    /// The answer to one DNS query a supervised program sent.
    public func answerNameQuery(_ packet: [UInt8]) -> NameQueryAnswer {
        let query: DNSQuery
        switch DNSQuery.parse(packet) {
        case .failure(.ignore): return .ignore
        case .failure(.formatError(let id)): return .reply(DNSQuery.failure(id: id, code: DNSQuery.formatErrorCode))
        case .success(let parsed): query = parsed
        }
        guard query.opcode == 0 else { return .reply(query.reply(code: DNSQuery.notImplemented)) }
        let family = query.type == DNSQuery.typeAAAA ? AF_INET6 : AF_INET
        let what = "DNS query " + HostName.string(query.name) + " (" + Shim.typeName(query.type) + ")"
        switch names.resolve(query.name, family: family) {
        case .libc:
            log.info(what + ": resolved locally (the rules send it to no proxy that resolves names)")
            return .forward
        case .notFound:
            log.info(what + ": no such name")
            return .reply(query.reply(code: DNSQuery.nameError))
        case .refused(let why):
            log.error(what + " refused: " + why + "; program sees REFUSED")
            return .reply(query.reply(code: DNSQuery.refused))
        case .addresses(let addresses, _):
            // Only A and AAAA have an answer here; any other type of a name the proxy resolves
            // gets none (NOERROR, no records): its records would come from a DNS query leaving.
            // A synthetic IPv6 address is left out too: one address per name is enough (the proxy
            // resolves it), and with two Go probes each with a UDP connect to port 9 to sort them
            // (RFC 6724), which the backstop would have to refuse.
            let answered = query.queryClass == DNSQuery.classIN && (query.type == DNSQuery.typeA || query.type == DNSQuery.typeAAAA)
            let records = answered ? addresses.filter { !(isSyntheticIPv6($0)) } : []
            log.info(what + ": " + (records.isEmpty ? "no records (the proxy resolves this name)" : records.map { $0.text }.joined(separator: " ")))
            return .reply(query.reply(code: DNSQuery.noError, addresses: records))
        }
    }

    /// After a forwarded query: the addresses the nameserver gave for the name are remembered,
    /// so name rules still match the connect that follows (as after libc's own lookup).
    public func noteForwardedAnswer(query: [UInt8], reply: [UInt8]) {
        guard router.matchesNames, case .success(let parsed) = DNSQuery.parse(query),
              let name = HostName.normalized(parsed.name) else { return }
        for address in DNSQuery.addresses(inReply: reply) {
            localNames.note(name, for: address.unmapped)
        }
    }

    func isSyntheticIPv6(_ address: IPAddress) -> Bool {
        if case .v6 = address { return names.pool.position(of: address) != nil }
        return false
    }

    static func typeName(_ type: UInt16) -> String {
        switch type {
        case DNSQuery.typeA: return "A"
        case DNSQuery.typeAAAA: return "AAAA"
        case 5: return "CNAME"
        case 12: return "PTR"
        case 15: return "MX"
        case 16: return "TXT"
        case 33: return "SRV"
        case 65: return "HTTPS"
        default: return "type " + String(type)
        }
    }
}
