import Testing
import SocksifyLibc
@testable import SocksifyCore

@Suite struct SocketPolicyTests {
    struct KindRow: Sendable, CustomTestStringConvertible {
        var type: Int32
        var proto: Int32
        var expected: TransportKind
        var testDescription: String { "type \(type) protocol \(proto)" }
    }

    static let stream = Int32(SOCK_STREAM.rawValue)
    static let dgram = Int32(SOCK_DGRAM.rawValue)

    static let kinds: [KindRow] = [
        KindRow(type: stream, proto: 0, expected: .tcp),
        KindRow(type: stream, proto: Int32(IPPROTO_TCP), expected: .tcp),
        KindRow(type: stream, proto: 262, expected: .tcp),  // MPTCP speaks TCP to the proxy
        KindRow(type: stream, proto: 132, expected: .otherStream("SCTP")),
        KindRow(type: dgram, proto: 0, expected: .udp),
        KindRow(type: dgram, proto: Int32(IPPROTO_UDP), expected: .udp),
        KindRow(type: dgram, proto: 136, expected: .otherDatagram("UDP-Lite")),
        KindRow(type: dgram, proto: 1, expected: .otherDatagram("ICMP")),
        KindRow(type: dgram, proto: 58, expected: .otherDatagram("ICMPv6")),
        KindRow(type: Int32(SOCK_SEQPACKET.rawValue), proto: 132, expected: .otherStream("SEQPACKET SCTP")),
        KindRow(type: 6, proto: 33, expected: .otherStream("DCCP")),
        KindRow(type: Int32(SOCK_RAW.rawValue), proto: 1, expected: .otherDatagram("raw ICMP")),
        KindRow(type: Int32(SOCK_RAW.rawValue), proto: 255, expected: .otherDatagram("raw protocol 255")),
    ]

    @Test(arguments: kinds)
    func transportKind(_ row: KindRow) {
        #expect(TransportKind.of(type: row.type, protocol: row.proto) == row.expected)
    }

    @Test func typeFlagsDoNotChangeTheKind() {
        let flags = Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        #expect(TransportKind.of(type: Self.stream | flags, protocol: 0) == .tcp)
        #expect(TransportKind.of(type: Self.dgram | flags, protocol: 136) == .otherDatagram("UDP-Lite"))
    }

    struct SocketRow: Sendable, CustomTestStringConvertible {
        var name: String
        var domain: Int32
        var type: Int32
        var strict: SocketVerdict
        var lenient: SocketVerdict
        var testDescription: String { name }
    }

    static let rawWhy = "raw and packet sockets bypass the proxy"
    static let rawStrict = SocketVerdict.refuse(errno: EPERM, "strict mode: " + rawWhy)
    static let raw = Int32(SOCK_RAW.rawValue)

    static let sockets: [SocketRow] = [
        SocketRow(name: "TCP", domain: AF_INET, type: stream, strict: .allow, lenient: .allow),
        SocketRow(name: "UDP over IPv6", domain: AF_INET6, type: dgram, strict: .allow, lenient: .allow),
        SocketRow(name: "Unix", domain: AF_UNIX, type: stream, strict: .allow, lenient: .allow),
        SocketRow(name: "netlink", domain: AF_NETLINK, type: raw, strict: .allow, lenient: .allow),
        SocketRow(name: "AF_ALG", domain: 38, type: Int32(SOCK_SEQPACKET.rawValue), strict: .allow, lenient: .allow),
        SocketRow(name: "raw IPv4", domain: AF_INET, type: raw, strict: rawStrict, lenient: .warn(rawWhy)),
        SocketRow(name: "raw IPv6, non-blocking", domain: AF_INET6, type: raw | Int32(SOCK_NONBLOCK.rawValue), strict: rawStrict, lenient: .warn(rawWhy)),
        SocketRow(name: "SOCK_PACKET", domain: AF_INET, type: Int32(SOCK_PACKET.rawValue), strict: rawStrict, lenient: .warn(rawWhy)),
        SocketRow(name: "AF_PACKET raw", domain: AF_PACKET, type: raw, strict: rawStrict, lenient: .warn(rawWhy)),
        SocketRow(name: "AF_PACKET dgram", domain: AF_PACKET, type: dgram, strict: rawStrict, lenient: .warn(rawWhy)),
        SocketRow(name: "Bluetooth", domain: 31, type: stream,
                  strict: .refuse(errno: EPERM, "strict mode: address family 31 is not carried by the proxy"), lenient: .allow),
    ]

    @Test(arguments: sockets)
    func socketVerdict(_ row: SocketRow) {
        #expect(SocketVerdict.socket(domain: row.domain, type: row.type, strict: true) == row.strict)
        #expect(SocketVerdict.socket(domain: row.domain, type: row.type, strict: false) == row.lenient)
    }

    @Test func ioUringIsRefusedOnlyInStrictMode() {
        #expect(SocketVerdict.ioUring(strict: false) == .warn("io_uring's connect and sendmsg bypass libc and so the proxy"))
        #expect(SocketVerdict.ioUring(strict: true)
                == .refuse(errno: EPERM, "strict mode: io_uring's connect and sendmsg bypass libc and so the proxy"))
    }
}
