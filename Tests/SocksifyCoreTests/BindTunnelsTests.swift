import SocksifyLibc
import Testing
@testable import SocksifyCore

@Suite struct BindTunnelsTests {
    @Test func theRegistryFindsTheTunnelWhoseProxyConnectsFromAnAddress() {
        let peers = PeerRegistry()
        peers.record(socket: 5, destination: Endpoint(ip("10.0.0.1"), port: 21), bound: Endpoint(ip("203.0.113.9"), port: 40000))
        peers.record(socket: 6, destination: Endpoint(ip("10.0.0.2"), port: 80))
        #expect(peers.socket(boundAt: ip("203.0.113.9"), current: { _ in true })?.0 == 5)
        #expect(peers.socket(boundAt: ip("203.0.113.9"), current: { $0 != 5 }) == nil, "a closed number is no tunnel")
        #expect(peers.socket(boundAt: ip("10.0.0.2"), current: { _ in true }) == nil)
        peers.copy(from: 5, to: 9)
        #expect(peers.peer(ofSocket: 9)?.bound == Endpoint(ip("203.0.113.9"), port: 40000), "a dup answers the same")
    }

    @Test func onlyARealBoundAddressIsKept() {
        #expect(TunnelProgress.boundAddress(nil) == nil)
        #expect(TunnelProgress.boundAddress(SocksDestination(.ip(ip("0.0.0.0")), port: 0)) == nil, "microsocks says nothing so")
        #expect(TunnelProgress.boundAddress(SocksDestination(.ip(ip("::")), port: 1)) == nil)
        #expect(TunnelProgress.boundAddress(SocksDestination(.domain("proxy"), port: 1)) == nil)
        #expect(TunnelProgress.boundAddress(SocksDestination(.ip(ip("127.0.0.3")), port: 4242)) == Endpoint(ip("127.0.0.3"), port: 4242))
    }

    @Test func candidatesAndTunnelsComeAndGo() {
        let binds = BindTunnels()
        let candidate = BindTunnels.Candidate(fd: 7, address: Endpoint(ip("127.0.0.3"), port: 0), control: Endpoint(ip("127.0.0.1"), port: 21))
        binds.note(candidate)
        #expect(binds.isCandidate(7))
        #expect(binds.takeCandidate(7)?.control == Endpoint(ip("127.0.0.1"), port: 21))
        #expect(!binds.isCandidate(7), "taken once")
        binds.keep(BindTunnels.Tunnel(fd: 7, address: candidate.address, announced: Endpoint(ip("127.0.0.3"), port: 5000), proxy: "p"))
        binds.markListening(7)
        binds.markAccepted(7)
        #expect(binds.tunnel(7)?.listening == true && binds.tunnel(7)?.accepted == true)
        binds.forget(7)
        #expect(binds.tunnel(7) == nil)
        for fd in 0..<Int32(BindTunnels.mostCandidates + 5) {
            var another = candidate
            another.fd = fd
            binds.note(another)
        }
        #expect(!binds.isCandidate(0) && binds.isCandidate(Int32(BindTunnels.mostCandidates + 4)), "the oldest candidates go first")
    }
}
