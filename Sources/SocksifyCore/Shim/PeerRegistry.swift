import Synchronization

/// Which sockets are proxied and to where, so `getpeername` can answer with the destination the
/// program asked for. Keyed by the socket's inode, not its descriptor number, so every copy made
/// by dup, dup2, dup3 or fcntl(F_DUPFD) answers the same without hooking any of them. Bounded
/// (getpeername also checks the socket really is connected to a proxy, so a stale entry can
/// never rename another socket). `anyRecorded` spares getpeername the lock until one exists.
public final class PeerRegistry: @unchecked Sendable {
    private let peers: BoundedMap<UInt64, Endpoint>
    private let anyRecorded = Atomic<Bool>(false)

    public init(capacity: Int = 4096) { peers = BoundedMap(capacity: capacity) }

    public var capacity: Int { peers.capacity }

    public func record(socket: UInt64, destination: Endpoint) {
        peers.set(destination, for: socket)
        anyRecorded.store(true, ordering: .relaxed)
    }

    public func destination(ofSocket socket: UInt64) -> Endpoint? {
        guard anyRecorded.load(ordering: .relaxed) else { return nil }
        return peers.value(for: socket)
    }
}
