import Testing
@testable import SocksifyCore

@Suite struct PeerRegistryTests {
    static let a = Endpoint(ip("10.0.0.1"), port: 80)
    static let b = Endpoint(ip("2001:db8::1"), port: 443)
    static func endpoint(_ n: Int) -> Endpoint { Endpoint(.v4(IPv4Address(UInt32(n))), port: UInt16(truncatingIfNeeded: n)) }

    @Test func emptyRegistryKnowsNothing() {
        let peers = PeerRegistry()
        #expect(peers.destination(ofSocket: 3) == nil)
        #expect(peers.capacity == 4096)
    }

    @Test func recordAndLookUp() {
        let peers = PeerRegistry()
        peers.record(socket: 5, destination: Self.a)
        peers.record(socket: 0xFFFF_FFFF_0000_0006, destination: Self.b)
        #expect(peers.destination(ofSocket: 5) == Self.a)
        #expect(peers.destination(ofSocket: 0xFFFF_FFFF_0000_0006) == Self.b)
        #expect(peers.destination(ofSocket: 6) == nil)
        #expect(peers.destination(ofSocket: 7) == nil)
    }

    @Test func recordingAgainReplaces() {
        let peers = PeerRegistry()
        peers.record(socket: 5, destination: Self.a)
        peers.record(socket: 5, destination: Self.b)
        #expect(peers.destination(ofSocket: 5) == Self.b)
    }

    @Test func oldestEntryGoesPastCapacity() {
        let peers = PeerRegistry(capacity: 3)
        for socket in 1...4 { peers.record(socket: UInt64(socket), destination: Self.endpoint(socket)) }
        #expect(peers.destination(ofSocket: 1) == nil)
        for socket in 2...4 { #expect(peers.destination(ofSocket: UInt64(socket)) == Self.endpoint(socket)) }
        // Updating an entry does not make it younger: 2 is still the oldest.
        peers.record(socket: 2, destination: Self.a)
        peers.record(socket: 5, destination: Self.endpoint(5))
        #expect(peers.destination(ofSocket: 2) == nil)
        for socket in 3...5 { #expect(peers.destination(ofSocket: UInt64(socket)) == Self.endpoint(socket)) }
    }

    @Test func evictedSocketCanComeBack() {
        let peers = PeerRegistry(capacity: 2)
        peers.record(socket: 1, destination: Self.endpoint(1))
        peers.record(socket: 2, destination: Self.endpoint(2))
        peers.record(socket: 3, destination: Self.endpoint(3))  // evicts 1
        peers.record(socket: 1, destination: Self.a)            // evicts 2
        #expect(peers.destination(ofSocket: 1) == Self.a)
        #expect(peers.destination(ofSocket: 2) == nil)
        #expect(peers.destination(ofSocket: 3) == Self.endpoint(3))
        peers.record(socket: 4, destination: Self.endpoint(4))  // evicts 3
        #expect(peers.destination(ofSocket: 3) == nil)
        #expect(peers.destination(ofSocket: 1) == Self.a)
        #expect(peers.destination(ofSocket: 4) == Self.endpoint(4))
    }

    @Test func manyMoreThanCapacityKeepsTheNewest() {
        let peers = PeerRegistry(capacity: 16)
        for socket in 0..<1000 { peers.record(socket: UInt64(socket), destination: Self.endpoint(socket)) }
        for socket in 0..<984 { #expect(peers.destination(ofSocket: UInt64(socket)) == nil) }
        for socket in 984..<1000 { #expect(peers.destination(ofSocket: UInt64(socket)) == Self.endpoint(socket)) }
    }

    @Test func concurrentUse() async {
        let peers = PeerRegistry()
        await withTaskGroup(of: Void.self) { group in
            for socket in 100..<164 {
                group.addTask {
                    for _ in 0..<100 {
                        peers.record(socket: UInt64(socket), destination: Self.endpoint(socket))
                        _ = peers.destination(ofSocket: UInt64(socket))
                    }
                }
            }
        }
        for socket in 100..<164 {
            #expect(peers.destination(ofSocket: UInt64(socket)) == Self.endpoint(socket))
        }
    }
}
