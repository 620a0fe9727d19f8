import SocksifyLibc

/// An IP address and port: what a `sockaddr_in`/`sockaddr_in6` holds, as a Swift value.
public struct Endpoint: Hashable, Sendable {
    public var address: IPAddress
    public var port: UInt16
    /// IPv6 scope (interface) id; 0 otherwise.
    public var scopeID: UInt32

    public init(_ address: IPAddress, port: UInt16, scopeID: UInt32 = 0) {
        self.address = address
        self.port = port
        self.scopeID = scopeID
    }

    /// 10.0.0.1:80 or [2001:db8::1]:443.
    public var text: String {
        switch address {
        case .v4: return address.text + ":" + String(port)
        case .v6: return "[" + address.text + "]:" + String(port)
        }
    }

    public var family: Int32 {
        switch address {
        case .v4: return AF_INET
        case .v6: return AF_INET6
        }
    }

    /// Reads a `sockaddr_in` or `sockaddr_in6` (also the 24-byte form); nil for other families or a
    /// length the kernel would refuse (EINVAL).
    public init?(sockaddr pointer: UnsafeRawPointer, length: Int) {
        guard length >= 4 else { return nil }  // family and port, before reading either
        let family = Int32(pointer.loadUnaligned(as: UInt16.self))
        let bytes = UnsafeRawBufferPointer(start: pointer, count: length)
        let port = UInt16(bytes[2]) << 8 | UInt16(bytes[3])
        if family == AF_INET && length >= 16 {
            self.init(.v4(IPv4Address(bytes[4], bytes[5], bytes[6], bytes[7])), port: port)
        } else if family == AF_INET6 && length >= 24 {
            // 24 bytes is RFC 2133's sockaddr_in6, without the scope id: the kernel still takes it.
            let address = IPv6Address(bytes: Array(bytes[8..<24]))
            let scope = length >= 28 ? pointer.loadUnaligned(fromByteOffset: 24, as: UInt32.self) : 0
            self.init(.v6(address), port: port, scopeID: scope)
        } else {
            return nil
        }
    }

    /// Writes this endpoint into a program's sockaddr buffer as the kernel does: at most
    /// `*length` bytes, then `*length` set to the whole size; `asIPv6` for an AF_INET6 socket
    /// (IPv4 as ::ffff:a.b.c.d).
    public func write(to address: UnsafeMutableRawPointer, length: UnsafeMutablePointer<socklen_t>, asIPv6: Bool = false) {
        let bytes = (asIPv6 ? self.asIPv6 : self).sockaddrBytes
        let room = Int(length.pointee)
        bytes.withUnsafeBytes { address.copyMemory(from: $0.baseAddress!, byteCount: min(room, bytes.count)) }
        length.pointee = socklen_t(bytes.count)
    }

    /// The `sockaddr` bytes for this endpoint (16 for IPv4, 28 for IPv6).
    public var sockaddrBytes: [UInt8] {
        withSockaddr { address, length in
            Array(UnsafeRawBufferPointer(start: UnsafeRawPointer(address), count: Int(length)))
        }
    }

    /// Calls `body` with this endpoint as a `sockaddr` on the stack: no allocation, for the
    /// connect calls on every proxied connection.
    public func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var storage = sockaddr_in6()
        return withUnsafeMutableBytes(of: &storage) { raw in
            raw.storeBytes(of: UInt16(family), as: UInt16.self)
            raw[2] = UInt8(port >> 8)
            raw[3] = UInt8(truncatingIfNeeded: port)
            let length: Int
            switch address {
            case .v4(let a):
                raw.storeBytes(of: a.value.bigEndian, toByteOffset: 4, as: UInt32.self)
                length = 16
            case .v6(let a):
                raw.storeBytes(of: a.high.bigEndian, toByteOffset: 8, as: UInt64.self)
                raw.storeBytes(of: a.low.bigEndian, toByteOffset: 16, as: UInt64.self)
                raw.storeBytes(of: scopeID, toByteOffset: 24, as: UInt32.self)
                length = 28
            }
            return body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(length))
        }
    }

    /// The same endpoint as seen from an AF_INET6 socket (IPv4 becomes ::ffff:a.b.c.d).
    public var asIPv6: Endpoint {
        if case .v4(let a) = address { return Endpoint(.v6(IPv6Address(mapping: a)), port: port) }
        return self
    }
}

extension Endpoint {
    /// The same host and port, also when one side names an IPv4 host as ::ffff:a.b.c.d (an
    /// AF_INET6 socket reaching an IPv4 proxy); the scope id does not count.
    public static func sameHost(_ a: Endpoint, _ b: Endpoint) -> Bool {
        a.port == b.port && a.address.unmapped == b.address.unmapped
    }
}

extension IPAddress {
    /// ::ffff:a.b.c.d as a.b.c.d; every other address as it is.
    public var unmapped: IPAddress {
        if case .v6(let v6) = self, let v4 = v6.mappedIPv4 { return .v4(v4) }
        return self
    }
}
