import Testing
@testable import SocksifyCore

/// The exchange one step at a time, as an event loop would drive it: each step says what to
/// send and exactly how many bytes to wait for, never more than the proxy's replies.
@Suite struct ResumableHandshakeTests {
    static let web = destination("93.184.216.34", 443)
    static let greeting: [UInt8] = [5, 1, 0]
    static let request: [UInt8] = [5, 1, 0, 1, 93, 184, 216, 34, 1, 187]
    static let okReply: [UInt8] = [5, 0, 0, 1, 10, 0, 0, 1, 4, 56]

    static func socks5(_ user: String? = nil) -> ProxySpec {
        var spec = ProxySpec(proto: .socks5, host: "10.0.0.5", port: 1080)
        if let user { spec.credentials = ProxyCredentials(username: ascii(user), password: ascii("pw")) }
        return spec
    }

    @Test func socks5NoAuthInThreeSteps() {
        var h = ResumableHandshake(proxy: Self.socks5(), destination: Self.web)
        guard case .waiting(let s1, let t1) = h.step() else { Issue.record("step 1"); return }
        #expect(s1 == [Self.greeting])
        #expect(t1 == 2)
        h.receive([5, 0])
        guard case .waiting(let s2, let t2) = h.step() else { Issue.record("step 2"); return }
        #expect(s2 == [Self.request])
        #expect(t2 == 7, "the method, then the reply's header and first address byte: enough to know its length")
        h.receive(Self.okReply[0..<5])
        guard case .waiting(let s3, let t3) = h.step() else { Issue.record("step 3"); return }
        #expect(s3.isEmpty, "the request is not sent again")
        #expect(t3 == 12)
        h.receive(Self.okReply[5...])
        guard case .done(let s4, let bound) = h.step() else { Issue.record("step 4"); return }
        #expect(s4.isEmpty)
        #expect(bound == destination("10.0.0.1", 1080))
    }

    @Test func aStepWithNothingNewSendsNothing() {
        var h = ResumableHandshake(proxy: Self.socks5(), destination: Self.web)
        _ = h.step()
        guard case .waiting(let again, 2) = h.step() else { Issue.record("waiting"); return }
        #expect(again.isEmpty)
    }

    @Test func bytesArrivingInPiecesAreWaitedFor() {
        var h = ResumableHandshake(proxy: Self.socks5(), destination: Self.web)
        _ = h.step()
        h.receive([5])
        guard case .waiting(let none, 2) = h.step() else { Issue.record("still waiting"); return }
        #expect(none.isEmpty)
        h.receive([0])
        guard case .waiting(let request, _) = h.step() else { Issue.record("request"); return }
        #expect(request == [Self.request])
    }

    @Test func usernamePassword() {
        var h = ResumableHandshake(proxy: Self.socks5("alice"), destination: Self.web)
        guard case .waiting(let s1, 2) = h.step() else { Issue.record("greeting"); return }
        #expect(s1 == [[5, 2, 0, 2]])
        h.receive([5, 2])
        guard case .waiting(let s2, 4) = h.step() else { Issue.record("auth"); return }  // 2 + 2
        #expect(s2 == [[1, 5] + ascii("alice") + [2] + ascii("pw")])
        h.receive([1, 0])
        guard case .waiting(let s3, _) = h.step() else { Issue.record("request"); return }
        #expect(s3 == [Self.request])
    }

    @Test func refusalsFail() {
        var h = ResumableHandshake(proxy: Self.socks5(), destination: Self.web)
        _ = h.step()
        h.receive([5, 0])
        _ = h.step()
        h.receive([5, 5, 0, 1, 0, 0, 0, 0, 0, 0])
        guard case .failed(let error) = h.step() else { Issue.record("failed"); return }
        #expect(error == .socks5Refused(.connectionRefused))
    }

    @Test func wrongPasswordFails() {
        var h = ResumableHandshake(proxy: Self.socks5("alice"), destination: Self.web)
        _ = h.step()
        h.receive([5, 2])
        _ = h.step()
        h.receive([1, 1])
        guard case .failed(let error) = h.step() else { Issue.record("failed"); return }
        #expect(error == .authenticationFailed(status: 1))
    }

    @Test func socks4a() {
        let spec = ProxySpec(proto: .socks4a, host: "10.0.0.5", port: 1080)
        var h = ResumableHandshake(proxy: spec, destination: SocksDestination(.domain("example.com"), port: 80))
        guard case .waiting(let s1, 8) = h.step() else { Issue.record("request"); return }
        #expect(s1.count == 1)
        h.receive([0, 90, 0, 80, 0, 0, 0, 0])
        guard case .done(let none, _) = h.step() else { Issue.record("done"); return }
        #expect(none.isEmpty)
    }
}
