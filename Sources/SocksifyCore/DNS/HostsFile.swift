/// The names in /etc/hosts, which stay local whatever the proxy (documented): `localhost` and
/// the machine's own name keep meaning this machine. Read by socksify itself, so a system whose
/// nsswitch asks DNS first still sends no query.
public struct HostsFile: Sendable {
    public struct Entry: Sendable {
        public var address: IPAddress
        public var names: [[UInt8]]
    }

    public var entries: [Entry] = []

    public init(text: [UInt8]) {
        for line in text.split(separator: UInt8(ascii: "\n")) {
            let content = line.split(separator: UInt8(ascii: "#"), maxSplits: 1, omittingEmptySubsequences: false).first ?? []
            let fields = content.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") })
            guard fields.count >= 2, let address = IPAddress.parse(HostName.string(Array(fields[0]))) else { continue }
            let names = fields.dropFirst().compactMap { HostName.normalized(Array($0)) }
            if !names.isEmpty { entries.append(Entry(address: address, names: names)) }
        }
    }

    /// Addresses for a normalized name, in file order; the first name of the line is canonical.
    public func addresses(of name: [UInt8]) -> (addresses: [IPAddress], canonical: [UInt8])? {
        var found: [IPAddress] = []
        var canonical: [UInt8] = []
        for entry in entries where entry.names.contains(where: { $0 == name }) {
            if found.isEmpty { canonical = entry.names[0] }
            if !found.contains(entry.address) { found.append(entry.address) }
        }
        return found.isEmpty ? nil : (found, canonical)
    }

    /// The first name listed for an address.
    public func name(of address: IPAddress) -> [UInt8]? {
        entries.first(where: { $0.address == address })?.names.first
    }
}
