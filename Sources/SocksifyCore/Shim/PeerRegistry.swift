import SocksifyLibc
import Synchronization

/// Which sockets are proxied and to where, so `getpeername` can answer with the destination the
/// program asked for. Keyed by the socket's inode, not its descriptor number, so every copy made
/// by dup, dup2, dup3 or fcntl(F_DUPFD) answers the same without hooking any of them. Bounded:
/// past `capacity` sockets the oldest entry goes (getpeername also checks the socket really is
/// connected to the proxy, so a stale entry can never rename another socket).
public final class PeerRegistry: @unchecked Sendable {
    public let capacity: Int
    private var peers: [UInt64: Endpoint] = [:]
    private var order: [UInt64] = []
    private var oldest = 0
    private let count = Atomic<Int>(0)

    public init(capacity: Int = 4096) { self.capacity = capacity }

    public func record(socket: UInt64, destination: Endpoint) {
        sx_lock()
        if peers.updateValue(destination, forKey: socket) == nil {
            if order.count < capacity {
                order.append(socket)
            } else {
                peers.removeValue(forKey: order[oldest])
                order[oldest] = socket
                oldest = (oldest + 1) % capacity
            }
        }
        count.store(peers.count, ordering: .relaxed)
        sx_unlock()
    }

    public func destination(ofSocket socket: UInt64) -> Endpoint? {
        guard count.load(ordering: .relaxed) > 0 else { return nil }
        sx_lock()
        let found = peers[socket]
        sx_unlock()
        return found
    }
}
