import SocksifyLibc

extension Shim {
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
