import SocksifyLibc

/// What a socket is, as far as a proxy is concerned: the kinds socksify can carry (TCP, UDP)
/// and the ones it cannot, named for the log. Pure: decided from socket(2)'s type and protocol.
public enum TransportKind: Sendable {
    case tcp
    case udp
    /// A datagram protocol no SOCKS proxy carries (UDP-Lite, ICMP "ping" sockets, raw IP).
    case otherDatagram(String)
    /// A connection-oriented protocol no SOCKS proxy carries (SCTP, DCCP, SEQPACKET).
    case otherStream(String)

    /// `type` as SO_TYPE reports it (no SOCK_NONBLOCK/CLOEXEC bits), `protocol` as SO_PROTOCOL.
    public static func of(type: Int32, protocol proto: Int32) -> TransportKind {
        switch type & 0xF {
        case Int32(SOCK_STREAM.rawValue):
            // MPTCP falls back to TCP and speaks TCP to the proxy: proxied as TCP.
            if proto == 0 || proto == Int32(IPPROTO_TCP) || proto == 262 { return .tcp }
            return .otherStream(protocolName(proto))
        case Int32(SOCK_DGRAM.rawValue):
            if proto == 0 || proto == Int32(IPPROTO_UDP) { return .udp }
            return .otherDatagram(protocolName(proto))
        case Int32(SOCK_SEQPACKET.rawValue): return .otherStream("SEQPACKET " + protocolName(proto))
        case 6: return .otherStream("DCCP")  // SOCK_DCCP
        default: return .otherDatagram("raw " + protocolName(proto))
        }
    }

    static func protocolName(_ proto: Int32) -> String {
        switch proto {
        case 1: return "ICMP"
        case 58: return "ICMPv6"
        case 132: return "SCTP"
        case 136: return "UDP-Lite"
        case 33: return "DCCP"
        default: return "protocol " + String(proto)
        }
    }
}

/// The verdict on creating a socket, io_uring and other ways round the interposed calls.
public enum SocketVerdict: Sendable {
    case allow
    /// Allowed, but the log says why it escapes the proxy (not strict).
    case warn(String)
    case refuse(errno: Int32, String)

    /// socket(2). Raw and packet sockets write packets of their own, past any proxy; families
    /// that leave the machine other than by IP are refused in strict mode.
    public static func socket(domain: Int32, type: Int32, strict: Bool) -> SocketVerdict {
        let base = type & 0xF
        let internet = domain == AF_INET || domain == AF_INET6
        var escapes: String? = nil
        if domain == AF_PACKET || (internet && (base == Int32(SOCK_RAW.rawValue) || base == Int32(SOCK_PACKET.rawValue))) {
            escapes = "raw and packet sockets bypass the proxy"
        } else if !internet && !localFamilies.contains(domain) {
            guard strict else { return .allow }  // Bluetooth, CAN, …: not IP, not ours to judge
            escapes = "address family " + String(domain) + " is not carried by the proxy"
        }
        guard let escapes else { return .allow }
        return strict ? .refuse(errno: EPERM, "strict mode: " + escapes) : .warn(escapes)
    }

    /// Families that never leave the machine: Unix sockets, netlink (glibc's getaddrinfo asks
    /// the kernel for interfaces over it), the kernel's crypto API.
    static let localFamilies: [Int32] = [AF_UNIX, AF_NETLINK, 38 /* AF_ALG */, AF_UNSPEC]

    /// io_uring_setup(2): the ring's connect and sendmsg never pass through libc.
    public static func ioUring(strict: Bool) -> SocketVerdict {
        let why = "io_uring's connect and sendmsg bypass libc and so the proxy"
        return strict ? .refuse(errno: EPERM, "strict mode: " + why) : .warn(why)
    }
}

#if !hasFeature(Embedded)
extension TransportKind: Equatable {}
extension SocketVerdict: Equatable {}
#endif
