import SocksifyLibc

extension Shim {
    /// getaddrinfo, gethostbyname*: what `name` resolves to for `family`, written to `out`.
    /// Returns one of SX_RESOLVE_*.
    public func resolve(_ name: UnsafePointer<CChar>, family: Int32, into out: UnsafeMutablePointer<sx_resolution>) -> Int32 {
        let bytes = Array(UnsafeRawBufferPointer(start: name, count: strlen(name)))
        let answer = names.resolve(bytes, family: family)
        // Names answered from /etc/hosts are remembered like names libc resolved, so name rules
        // still match when the program connects to the address.
        if router.matchesNames, case .addresses(let addresses, _) = answer, let normalized = HostName.normalized(bytes) {
            for address in addresses where names.pool.position(of: address) == nil {
                localNames.note(normalized, for: address.unmapped)
            }
        }
        return write(answer, query: HostName.string(bytes), into: out)
    }

    /// getnameinfo, gethostbyaddr*: the name for an address.
    public func reverse(family: Int32, bytes: UnsafePointer<UInt8>, into out: UnsafeMutablePointer<sx_resolution>) -> Int32 {
        let address: IPAddress
        switch family {
        case AF_INET: address = .v4(IPv4Address(bytes[0], bytes[1], bytes[2], bytes[3]))
        case AF_INET6: address = .v6(IPv6Address(bytes: Array(UnsafeBufferPointer(start: bytes, count: 16))))
        default: return SX_RESOLVE_LIBC
        }
        return write(names.reverse(address), query: address.text, into: out)
    }

    /// After libc resolved `name` itself: remember which addresses it gave, for name rules.
    public func noteLocalAnswer(_ name: UnsafePointer<CChar>, family: Int32, bytes: UnsafePointer<UInt8>) {
        guard router.matchesNames else { return }
        let raw = Array(UnsafeRawBufferPointer(start: name, count: strlen(name)))
        guard !NameResolver.isNumeric(raw), let normalized = HostName.normalized(raw) else { return }
        let address: IPAddress
        switch family {
        case AF_INET: address = .v4(IPv4Address(bytes[0], bytes[1], bytes[2], bytes[3]))
        case AF_INET6: address = .v6(IPv6Address(bytes: Array(UnsafeBufferPointer(start: bytes, count: 16))))
        default: return
        }
        localNames.note(normalized, for: address.unmapped)
    }

    func write(_ answer: NameResolution, query: String, into out: UnsafeMutablePointer<sx_resolution>) -> Int32 {
        switch answer {
        case .libc:
            return SX_RESOLVE_LIBC
        case .notFound:
            log.info("resolve " + query + ": not found")
            return SX_RESOLVE_NOT_FOUND
        case .refused(let why):
            log.error("resolve " + query + " refused: " + why)
            return SX_RESOLVE_REFUSED
        case .addresses(let addresses, let canonical):
            out.pointee.count = 0
            for address in addresses {
                switch address {
                case .v4(let a): a.bytes.withUnsafeBufferPointer { sx_resolution_add(out, AF_INET, $0.baseAddress) }
                case .v6(let a): a.bytes.withUnsafeBufferPointer { sx_resolution_add(out, AF_INET6, $0.baseAddress) }
                }
            }
            canonical.withUnsafeBufferPointer { sx_resolution_set_name(out, $0.baseAddress, $0.count) }
            if log.verbose {
                log.info("resolve " + query + " -> " + HostName.string(canonical) + " " + addresses.map { $0.text }.joined(separator: " "))
            }
            return SX_RESOLVE_ANSWERED
        }
    }
}
