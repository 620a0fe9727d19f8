import SocksifyLibc
import Testing
@testable import SocksifyCore

/// A one-client SOCKS server on loopback for the IO tests. `serve` runs on its own OS thread: it
/// accepts one connection, and for each step reads exactly `read` bytes and writes `reply`; then
/// writes `after` (data from "the destination") and reads until the client closes. It returns
/// every byte the client sent. Every wait gives up after 5 seconds so a failing test cannot hang.
final class FakeProxy: @unchecked Sendable {
    let listener: Int32
    let endpoint: Endpoint

    init(family: Int32 = AF_INET) throws {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(fd >= 0)
        let local = Endpoint(family == AF_INET ? ip("127.0.0.1") : ip("::1"), port: 0).sockaddrBytes
        let bound = local.withUnsafeBytes { bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count)) }
        var storage = [UInt8](repeating: 0, count: 128)
        var length = socklen_t(128)
        let named = storage.withUnsafeMutableBytes { getsockname(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), &length) }
        let found = storage.withUnsafeBytes { Endpoint(sockaddr: $0.baseAddress!, length: Int(length)) }
        guard bound == 0, listen(fd, 4) == 0, named == 0, let found else {
            _ = close(fd)
            throw FakeProxyError.setup
        }
        listener = fd
        endpoint = found
    }

    enum FakeProxyError: Error { case setup }

    deinit { _ = close(listener) }

    var spec: ProxySpec { ProxySpec(proto: .socks5, host: endpoint.address.text, port: endpoint.port) }

    func serve(_ steps: [Step], after: [UInt8] = []) -> TestThread<[UInt8]> {
        let listener = listener
        return TestThread {
            guard FakeProxy.wait(listener) else { return [] }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return [] }
            defer { _ = close(connection) }
            var received: [UInt8] = []
            for step in steps {
                received += FakeProxy.read(connection, exactly: step.read)
                FakeProxy.write(connection, step.reply)
            }
            FakeProxy.write(connection, after)
            while true {
                let more = FakeProxy.read(connection, exactly: 1)
                if more.isEmpty { break }
                received += more
            }
            return received
        }
    }

    struct Step: Sendable {
        var read: Int
        var reply: [UInt8]
        init(read: Int, reply: [UInt8]) { self.read = read; self.reply = reply }
    }

    static func wait(_ fd: Int32) -> Bool {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 5000) > 0
    }

    static func read(_ fd: Int32, exactly count: Int) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: max(count, 1))
        while out.count < count {
            guard wait(fd) else { break }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, count - out.count, 0) }
            if n <= 0 { break }
            out += chunk[0..<n]
        }
        return out
    }

    static func write(_ fd: Int32, _ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
