import Synchronization

/// Which sockets are proxied and to where, so `getpeername` can answer with the destination the
/// program asked for. Keyed by descriptor number: every way a number is copied or closed is
/// interposed, and the descriptor registry's peer bit (SX_FACT_PEER) says whether an entry here
/// is current, so a lookup never meets a stale one. Bounded (getpeername also checks the socket
/// really is connected to a proxy). `anyRecorded` spares getpeername the lock until one exists.
public final class PeerRegistry: @unchecked Sendable {
    /// The destination, and the address the proxy connects from (its CONNECT reply's BND, when
    /// it gives a real one): getsockname's answer, as a SOCKS client's (RFC 1928 §6).
    public struct Peer {
        public var destination: Endpoint
        public var bound: Endpoint?
    }

    private let peers: BoundedMap<UInt64, Peer>
    private let anyRecorded = Atomic<Bool>(false)

    public init(capacity: Int = 4096) { peers = BoundedMap(capacity: capacity) }

    public var capacity: Int { peers.capacity }

    public func record(socket: UInt64, destination: Endpoint, bound: Endpoint? = nil) {
        peers.set(Peer(destination: destination, bound: bound), for: socket)
        anyRecorded.store(true, ordering: .relaxed)
    }

    public func destination(ofSocket socket: UInt64) -> Endpoint? { peer(ofSocket: socket)?.destination }

    public func peer(ofSocket socket: UInt64) -> Peer? {
        guard anyRecorded.load(ordering: .relaxed) else { return nil }
        return peers.value(for: socket)
    }

    /// A socket (descriptor number, as recorded) whose proxy connects from `address`, among
    /// those `current` accepts (the registry may hold numbers closed since).
    public func socket(boundAt address: IPAddress, current: (UInt64) -> Bool) -> (UInt64, Peer)? {
        guard anyRecorded.load(ordering: .relaxed) else { return nil }
        return peers.first { socket, peer in peer.bound?.address.unmapped == address && current(socket) }
    }

    /// A dup of a proxied socket: the copy answers the same.
    public func copy(from fd: Int32, to copy: Int32) {
        if let peer = peer(ofSocket: UInt64(UInt32(bitPattern: fd))) {
            record(socket: UInt64(UInt32(bitPattern: copy)), destination: peer.destination, bound: peer.bound)
        }
    }
}
