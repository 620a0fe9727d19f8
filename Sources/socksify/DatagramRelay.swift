import Glibc
import SocksifyCore
import SocksifyLibc

/// UDP through a SOCKS5 proxy for a program the kernel backstop holds (docs/kernel-backstop.md).
/// The library wraps each datagram inside the program; here no code runs in the program, and its
/// sends on a connected socket never stop in the filter. So the supervisor connects the
/// program's socket to a loopback socket of its own, and a thread carries each datagram between
/// it and the proxy's relay (a UDP association), adding and removing the RFC 1928 header. The
/// program sees its peer answer; `getpeername` names the loopback relay. Only connected sockets
/// (connect, then send/recv: Go's net.Dial("udp")): an unconnected socket's replies would come
/// from the relay's address, not the peer's.
enum DatagramRelay {
    /// Sets it up and returns connect's answer for the program.
    static func start(_ copy: Int32, to asked: SocksDestination, via proxy: ProxySpec, at endpoint: Endpoint, shim: Shim) -> BackstopAnswer {
        // The association: a control connection that keeps it alive, and the relay's address.
        let control = socket(endpoint.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard control >= 0 else { return .error(errno) }
        var sockets: [Int32] = [control]
        func fail(_ why: String, _ errno: Int32) -> BackstopAnswer {
            for fd in sockets { close(fd) }
            shim.log.error("connect " + asked.text + " (UDP) via " + proxy.displayName + " failed: " + why + "; program sees " + ErrnoName.name(errno))
            return .error(errno)
        }
        let relay: Endpoint
        do throws(SocksError) {
            relay = try ProxyTunnel.associate(control: control, proxy: proxy, at: endpoint, timeouts: shim.settings.timeouts)
        } catch {
            return fail(error.reason, error.errno)
        }
        // Our side of the relay, and the loopback socket the program's socket is connected to.
        let up = socket(relay.family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        let local = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        sockets += [up, local]
        let loopback = Endpoint(.v4(IPv4Address(127, 0, 0, 1)), port: 0)
        guard up >= 0, local >= 0, relay.withSockaddr({ connect(up, $0, $1) }) == 0,
              loopback.withSockaddr({ bind(local, $0, $1) }) == 0 else {
            return fail("local sockets: " + String(cString: strerror(errno)), EIO)
        }
        var domain: Int32 = 0
        var length = socklen_t(4)
        _ = getsockopt(copy, SOL_SOCKET, SO_DOMAIN, &domain, &length)
        let localAddress = Endpoint(.v4(IPv4Address(127, 0, 0, 1)), port: NameService.localPort(local))
        let target = domain == AF_INET6 ? localAddress.asIPv6 : localAddress
        guard target.withSockaddr({ connect(copy, $0, $1) }) == 0 else { return fail("connect: " + String(cString: strerror(errno)), errno) }
        // Only the program's socket may use the relay, and replies go to it.
        let programPort = NameService.localPort(copy)
        guard Endpoint(.v4(IPv4Address(127, 0, 0, 1)), port: programPort).withSockaddr({ connect(local, $0, $1) }) == 0 else {
            return fail("connect: " + String(cString: strerror(errno)), errno)
        }
        let header: [UInt8]
        do throws(SocksError) {
            header = try Socks5UDPHeader(address: asked).encode()
        } catch {
            return fail(error.reason, error.errno)
        }
        if !Detached.run({ carry(local: local, up: up, control: control, header: header) }) {
            return fail("no thread for the relay", EAGAIN)
        }
        return .value(0)
    }

    /// Until the program's socket goes (a send to it is refused), the proxy closes the control
    /// connection, or nothing has moved for ten minutes.
    static func carry(local: Int32, up: Int32, control: Int32, header: [UInt8]) {
        defer {
            close(local)
            close(up)
            close(control)
        }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var fds = [pollfd(fd: local, events: Int16(POLLIN), revents: 0), pollfd(fd: up, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: control, events: Int16(POLLIN), revents: 0)]
        while true {
            let ready = poll(&fds, 3, 600_000)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { return }
            if fds[2].revents != 0 { return }  // the proxy ended the association (or sent what it should not)
            if fds[0].revents != 0 {
                let n = recv(local, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                if n < 0 && errno == ECONNREFUSED { return }  // the program's socket is gone
                if n >= 0 {
                    let datagram = header + buffer[0..<n]
                    _ = datagram.withUnsafeBytes { send(up, $0.baseAddress, $0.count, 0) }
                }
            }
            if fds[1].revents != 0 {
                let n = recv(up, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                if n > 0 {
                    let decoded = buffer.withUnsafeBytes { raw -> Int? in
                        guard let (parsed, offset) = try? Socks5UDPHeader.decode(UnsafeRawBufferPointer(rebasing: raw[0..<n])),
                              parsed.fragment == 0 else { return nil }  // fragments and garbage are dropped
                        return offset
                    }
                    if let offset = decoded {
                        let sent = buffer.withUnsafeBytes { send(local, $0.baseAddress! + offset, n - offset, 0) }
                        if sent < 0 && errno == ECONNREFUSED { return }
                    }
                }
            }
        }
    }
}

/// The backstop's services, as the policy sees them (BackstopServices): the DNS responder and the
/// datagram relays.
final class SupervisorServices: BackstopServices, @unchecked Sendable {
    private let names = NameService()

    func redirect(_ copy: Int32, from nameserver: Endpoint, transport: TransportKind, shim: Shim) -> BackstopAnswer {
        names.redirect(copy, from: nameserver, transport: transport, shim: shim)
    }

    func deliver(_ copy: Int32, _ query: [UInt8], from nameserver: Endpoint, shim: Shim) -> BackstopAnswer {
        names.deliver(copy, query, from: nameserver, shim: shim)
    }

    func relayDatagrams(_ copy: Int32, to asked: SocksDestination, via proxy: ProxySpec, at endpoint: Endpoint, shim: Shim) -> BackstopAnswer {
        DatagramRelay.start(copy, to: asked, via: proxy, at: endpoint, shim: shim)
    }
}
