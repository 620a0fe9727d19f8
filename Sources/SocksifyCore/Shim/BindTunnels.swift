import SocksifyLibc

/// The listening sockets of SOCKS5 BIND (Shim+Bind.swift): candidates (bound to one address with
/// port 0, not listening yet) and tunnels (listen made a BIND through the proxy: the socket is
/// the connection to the proxy, the far side's connection arrives on it). Guarded by the process
/// lock; their count goes to the C side, so listen, accept and getsockname cost one load while
/// there are none.
final class BindTunnels: @unchecked Sendable {
    struct Tunnel {
        var fd: Int32
        /// The program's own bind.
        var address: Endpoint
        /// Where the proxy listens for the far side (the first reply): getsockname's answer.
        var announced: Endpoint
        var proxy: String
        /// listen was called (before it, a connect drops the BIND).
        var listening = false
        var accepted = false
    }

    struct Candidate {
        var fd: Int32
        /// The program's bind: the address the proxy of `control` connects from, port 0.
        var address: Endpoint
        /// The control connection's destination (an FTP server): its route picks the proxy.
        var control: Endpoint
    }

    private var candidates: [Candidate] = []
    private var tunnels: [Tunnel] = []
    /// Candidates are forgotten at close; a program that binds many sockets before connecting
    /// them keeps only the latest.
    static let mostCandidates = 64

    func note(_ candidate: Candidate) {
        let fd = candidate.fd
        sx_lock()
        candidates.removeAll { $0.fd == fd }
        tunnels.removeAll { $0.fd == fd }
        candidates.append(candidate)
        if candidates.count > BindTunnels.mostCandidates { candidates.removeFirst() }
        publish()
        sx_unlock()
    }

    /// The candidate on `fd`, if any; it is one no longer.
    func takeCandidate(_ fd: Int32) -> Candidate? {
        sx_lock()
        defer { sx_unlock() }
        guard let at = candidates.firstIndex(where: { $0.fd == fd }) else { return nil }
        let candidate = candidates[at]
        candidates.remove(at: at)
        publish()
        return candidate
    }

    func keep(_ tunnel: Tunnel) {
        sx_lock()
        tunnels.removeAll { $0.fd == tunnel.fd }
        tunnels.append(tunnel)
        publish()
        sx_unlock()
    }

    func tunnel(_ fd: Int32) -> Tunnel? {
        sx_lock()
        defer { sx_unlock() }
        return tunnels.first { $0.fd == fd }
    }

    func isCandidate(_ fd: Int32) -> Bool {
        sx_lock()
        defer { sx_unlock() }
        return candidates.contains { $0.fd == fd }
    }

    func forgetCandidate(_ fd: Int32) {
        sx_lock()
        if let at = candidates.firstIndex(where: { $0.fd == fd }) {
            candidates.remove(at: at)
            publish()
        }
        sx_unlock()
    }

    func markListening(_ fd: Int32) {
        sx_lock()
        if let at = tunnels.firstIndex(where: { $0.fd == fd }) { tunnels[at].listening = true }
        sx_unlock()
    }

    func markAccepted(_ fd: Int32) {
        sx_lock()
        if let at = tunnels.firstIndex(where: { $0.fd == fd }) { tunnels[at].accepted = true }
        sx_unlock()
    }

    /// `fd` is closed or replaced.
    func forget(_ fd: Int32) {
        sx_lock()
        let before = candidates.count + tunnels.count
        candidates.removeAll { $0.fd == fd }
        tunnels.removeAll { $0.fd == fd }
        if candidates.count + tunnels.count != before { publish() }
        sx_unlock()
    }

    private func publish() { sx_bind_watch_set(Int32(candidates.count + tunnels.count)) }
}
