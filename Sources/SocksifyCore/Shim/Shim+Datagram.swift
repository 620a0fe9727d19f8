import SocksifyLibc

extension Shim {
    /// Why a datagram to `destination` must not be sent, or nil to let it go (direct, until UDP
    /// is carried through the proxy).
    public func datagramRefusal(to destination: Endpoint) -> String? {
        if destination.port == 53 && (names.remote || settings.strict) {
            return "DNS must not leave the machine directly (names are resolved by the proxy)"
        }
        if settings.strict && !destination.address.isLoopback {
            return "strict mode: UDP is not carried through the proxy"
        }
        return nil
    }

    /// sendto(2), sendmsg(2), sendmmsg(2): 0 to send, or the errno to fail with.
    public func checkDatagram(_ fd: Int32, _ address: UnsafeRawPointer?, _ length: socklen_t) -> Int32 {
        guard let address, let destination = Endpoint(sockaddr: address, length: Int(length)) else { return 0 }
        guard let refusal = datagramRefusal(to: destination) else { return 0 }
        log.error("send to " + destination.text + " refused: " + refusal + "; program sees EPERM")
        return EPERM
    }

    /// socket(2): in strict mode, no raw or packet sockets (they would bypass the proxy).
    public func checkSocket(domain: Int32, type: Int32) -> Int32 {
        guard settings.strict else { return 0 }
        let base = type & 0xF
        if domain == AF_PACKET || ((domain == AF_INET || domain == AF_INET6) && base == Int32(SOCK_RAW.rawValue)) {
            log.error("socket refused: strict mode allows no raw or packet sockets; program sees EPERM")
            return EPERM
        }
        return 0
    }

    /// res_query(3) and friends build their own DNS packets; with names resolved by the proxy
    /// (or in strict mode) they are refused rather than let a query leave directly.
    public func resolverCallRefused(_ function: String) -> Bool {
        guard names.remote || settings.strict else { return false }
        log.error(function + " refused: DNS queries must not leave the machine directly")
        return true
    }
}
