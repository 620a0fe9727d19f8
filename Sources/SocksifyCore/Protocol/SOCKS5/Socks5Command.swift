/// The CMD of a SOCKS5 request (RFC 1928 section 4).
public enum Socks5Command: UInt8, Sendable {
    case connect = 0x01
    case bind = 0x02
    case udpAssociate = 0x03
}
