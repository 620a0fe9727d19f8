import SocksifyLibc
import Synchronization

/// Which descriptors are proxied and to where, so `getpeername` can answer with the destination
/// the program asked for. Guarded by the fork-safe process lock; `count` lets `close` skip the
/// lock entirely when nothing is registered.
public final class PeerRegistry: @unchecked Sendable {
    private var peers: [Int32: Endpoint] = [:]
    private let count = Atomic<Int>(0)

    public init() {}

    public func record(_ fd: Int32, destination: Endpoint) {
        sx_lock()
        peers[fd] = destination
        count.store(peers.count, ordering: .relaxed)
        sx_unlock()
    }

    public func destination(of fd: Int32) -> Endpoint? {
        guard count.load(ordering: .relaxed) > 0 else { return nil }
        sx_lock()
        let found = peers[fd]
        sx_unlock()
        return found
    }

    public func forget(_ fd: Int32) {
        guard count.load(ordering: .relaxed) > 0 else { return }
        sx_lock()
        if peers.removeValue(forKey: fd) != nil { count.store(peers.count, ordering: .relaxed) }
        sx_unlock()
    }
}
