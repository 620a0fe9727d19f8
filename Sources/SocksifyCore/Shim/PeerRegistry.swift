import Synchronization

/// Which sockets are proxied and to where, so `getpeername` can answer with the destination the
/// program asked for. Keyed by descriptor number: every way a number is copied or closed is
/// interposed, and the descriptor registry's peer bit (SX_FACT_PEER) says whether an entry here
/// is current, so a lookup never meets a stale one. Bounded (getpeername also checks the socket
/// really is connected to a proxy). `anyRecorded` spares getpeername the lock until one exists.
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

    /// A dup of a proxied socket: the copy answers the same.
    public func copy(from fd: Int32, to copy: Int32) {
        if let destination = destination(ofSocket: UInt64(UInt32(bitPattern: fd))) {
            record(socket: UInt64(UInt32(bitPattern: copy)), destination: destination)
        }
    }
}
