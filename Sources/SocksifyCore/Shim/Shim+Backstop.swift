import SocksifyLibc

// The kernel backstop's policy (docs/kernel-backstop.md): a system call the seccomp filter
// stopped in a program the library cannot reach, decided with the shim's own verdict. The
// launcher's supervisor (Sources/socksify/Backstop.swift) reads the call from the kernel and the
// program's memory; this file says what to answer. Not part of the library (Package.swift
// leaves it out of ShimCore).

/// What the supervisor answers a stopped call.
public enum BackstopAnswer: Equatable, Sendable {
    /// The call returns this (the supervisor did the work, on a copy of the program's socket).
    case value(Int64)
    /// The call fails with this errno.
    case error(Int32)
    /// The kernel runs the call as the program made it (SECCOMP_USER_NOTIF_FLAG_CONTINUE).
    case proceed
    /// Already answered (a descriptor installed as the call's result): nothing more to send.
    case answered
}

/// A call the filter stopped: its number, ABI and arguments as the kernel reported them.
public struct StoppedCall: Sendable {
    public var number: Int32
    public var arch: UInt32
    public var args: [UInt64]
    /// Unpacked from i386 socketcall's block in the program's memory (not registers): the
    /// kernel would read them again if the call proceeded.
    public var argumentsFromMemory = false

    public init(number: Int32, arch: UInt32, args: [UInt64]) {
        self.number = number
        self.arch = arch
        self.args = args
    }

    static let x86_64: UInt32 = 0xC000_003E  // AUDIT_ARCH_X86_64
    static let i386: UInt32 = 0x4000_0003    // AUDIT_ARCH_I386
    static let x32Bit: Int32 = 0x4000_0000

    enum Kind: Equatable { case connect, sendto, sendmsg, sendmmsg, ioUringSetup, socket, socketcall, otherABI(String), unexpected }

    /// A 32-bit program's call: its structures (msghdr, mmsghdr) have 32-bit pointers.
    var is32Bit: Bool { arch == StoppedCall.i386 }

    var kind: Kind {
        if arch == StoppedCall.i386 {
            switch number {
            case 362: return .connect
            case 369: return .sendto
            case 370: return .sendmsg
            case 345: return .sendmmsg
            case 425: return .ioUringSetup
            case 359: return .socket
            case 102: return .socketcall
            default: return .unexpected
            }
        }
        guard arch == StoppedCall.x86_64 else { return .otherABI("non-x86-64") }
        if number & StoppedCall.x32Bit != 0 { return .otherABI("x32") }
        switch number {
        case 42: return .connect
        case 44: return .sendto
        case 46: return .sendmsg
        case 307: return .sendmmsg
        case 425: return .ioUringSetup
        case 41: return .socket
        default: return .unexpected
        }
    }

    /// An argument as the int the program passed (a descriptor, flags).
    func int(_ n: Int) -> Int32 { Int32(truncatingIfNeeded: args[n]) }
}

/// The stopped program, as the supervisor reaches it (the real one through pidfd and
/// process_vm_readv; a fake in tests).
public protocol StoppedProgram {
    /// `count` bytes of the program's memory at `address`; nil when they cannot all be read.
    func read(_ address: UInt64, _ count: Int) -> [UInt8]?
    /// A copy of the program's descriptor `fd` (pidfd_getfd): the same open socket. A negative
    /// value is the errno, negated.
    func copyDescriptor(_ fd: Int32) -> Int32
    /// Whether the call still waits for its answer (SECCOMP_IOCTL_NOTIF_ID_VALID): then the
    /// memory just read was the memory of that call's process.
    func stillWaiting() -> Bool
    /// Runs `body` in the program's working directory (a relative AF_UNIX path is its).
    func inProgramDirectory(_ body: () -> Int32) -> Int32
    /// Installs a copy of `fd` in the program and answers the call with its number
    /// (SECCOMP_IOCTL_NOTIF_ADDFD): 0, or the errno negated.
    func installDescriptor(_ fd: Int32, cloexec: Bool) -> Int32
}

extension Shim {
    /// The answer to one stopped call. DNS queries (port 53) and UDP through a proxy go to the
    /// supervisor's `services` when there are some.
    public func answer<P: StoppedProgram>(_ call: StoppedCall, _ program: P, services: (any BackstopServices)? = nil) -> BackstopAnswer {
        switch call.kind {
        case .connect: return backstopConnect(call, program, services)
        case .sendto, .sendmsg, .sendmmsg: return backstopSend(call, program, services)
        case .socketcall:
            // i386's socketcall(call, args): the arguments are 32-bit words in the program's memory.
            let count: Int
            let number: Int32
            switch call.int(0) {
            case 1: (count, number) = (3, 359)    // SYS_SOCKET
            case 3: (count, number) = (3, 362)    // SYS_CONNECT
            case 11: (count, number) = (6, 369)   // SYS_SENDTO
            case 16: (count, number) = (3, 370)   // SYS_SENDMSG
            case 20: (count, number) = (4, 345)   // SYS_SENDMMSG
            default: return .proceed              // the filter stops no other
            }
            guard let words = program.read(call.args[1], 4 * count) else { return .error(EFAULT) }
            var args = [UInt64](repeating: 0, count: 6)
            for i in 0..<count {
                args[i] = UInt64(words[4 * i]) | UInt64(words[4 * i + 1]) << 8 | UInt64(words[4 * i + 2]) << 16 | UInt64(words[4 * i + 3]) << 24
            }
            var unpacked = StoppedCall(number: number, arch: StoppedCall.i386, args: args)
            unpacked.argumentsFromMemory = true
            return answer(unpacked, program, services: services)
        case .ioUringSetup:
            log.error("io_uring_setup refused: socksify cannot see the connections an io_uring makes; program sees EPERM")
            return .error(EPERM)
        case .socket:
            // The filter stops only raw and packet sockets (and every 32-bit SYS_SOCKET): the
            // library's verdict, refused in strict mode, else allowed with a line. Proceeding
            // is safe: the arguments are registers, read by the kernel as the filter saw them.
            let refusal = judgeSocket(domain: call.int(0), type: call.int(1))
            guard refusal == 0 else { return .error(refusal) }
            guard call.argumentsFromMemory && settings.strict else { return .proceed }
            // i386's socketcall: the kernel would read the arguments again from memory another
            // thread can change after this check (SOCK_STREAM into SOCK_RAW). In strict mode the
            // supervisor makes the socket it judged and installs it in the program.
            let type = call.int(1)
            let made = sx_real_socket(call.int(0), type, call.int(2))
            guard made >= 0 else { return .error(kernel.errno) }
            defer { _ = sx_real_close(made) }
            let installed = program.installDescriptor(made, cloexec: type & Int32(SOCK_CLOEXEC.rawValue) != 0)
            return installed == 0 ? .answered : .error(-installed)
        case .otherABI(let abi):
            log.error("a " + abi + " socket call (system call " + String(call.number & ~StoppedCall.x32Bit)
                      + ") refused: the kernel backstop does not carry that ABI yet; program sees EPERM")
            return .error(EPERM)
        case .unexpected:
            return .error(ENOSYS)  // the filter stops no other call
        }
    }

    /// connect(fd, address, length): the shim's own connect on a copy of the program's socket,
    /// with the address as read. The call itself never proceeds: another thread could rewrite
    /// the address after it was read.
    func backstopConnect<P: StoppedProgram>(_ call: StoppedCall, _ program: P, _ services: (any BackstopServices)?) -> BackstopAnswer {
        let length = Int(UInt32(truncatingIfNeeded: call.args[2]))
        guard length <= 128 else { return .error(EINVAL) }  // larger than sockaddr_storage: the kernel's answer
        var bytes: [UInt8] = []
        if length > 0 {
            guard let read = program.read(call.args[1], length) else { return .error(EFAULT) }
            bytes = read
        }
        return onCopy(call.int(0), program) { copy in
            let destination = Endpoint(bytes: bytes)
            let kind = transport(of: copy)
            // A query to a nameserver: the name it carries decides, not the nameserver's address.
            if let destination, destination.port == 53, let services, kind == .udp || kind == .tcp {
                log.info("connect " + destination.text + " (" + kind!.name + "): a DNS query; socksify answers it")
                return services.redirect(copy, from: destination, transport: kind!, shim: self)
            }
            if let destination, kind == .udp {
                return datagramConnect(copy, destination, bytes, services)
            }
            let result: Int32 = bytes.withUnsafeBytes { raw in
                let address = raw.baseAddress?.assumingMemoryBound(to: sockaddr.self)
                if Shim.isRelativeUnixPath(bytes) {
                    return program.inProgramDirectory { connect(copy, address, socklen_t(bytes.count)) }
                }
                return connect(copy, address, socklen_t(bytes.count))
            }
            return result == 0 ? .value(0) : .error(kernel.errno)
        }
    }

    /// A UDP socket's connect: the datagrams that follow go where it says. Step 1 carries no UDP
    /// through a proxy, so only a direct verdict connects (here, with the address read).
    func datagramConnect(_ copy: Int32, _ destination: Endpoint, _ bytes: [UInt8], _ services: (any BackstopServices)? = nil) -> BackstopAnswer {
        // A connected UDP socket through one SOCKS5 proxy: the supervisor's relay carries it.
        let attempt = trafficAttempt(.udp, to: destination)
        if let services, case .proxy(.via(let index), _) = TrafficVerdict.decide(attempt, policy),
           roster.proxies[index].spec.proto.carriesUDP, case .success(let endpoint) = roster.endpoint(index) {
            let asked = askedFor(attempt, destination)
            log.info("connect " + asked.text + " (UDP) via " + roster.label(index) + ": relayed by socksify")
            return services.relayDatagrams(copy, to: asked, via: roster.proxies[index].spec, at: endpoint, shim: self)
        }
        if let refusal = datagramRefusal(destination, call: "connect") { return refusal }
        let result = bytes.withUnsafeBytes {
            kernel.connect(copy, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(bytes.count))
        }
        return result == 0 ? .value(0) : .error(kernel.errno)
    }

    /// sendto, sendmsg, sendmmsg with a destination: a datagram the verdict sends direct goes
    /// on; any other is refused (the whole call, for sendmmsg).
    func backstopSend<P: StoppedProgram>(_ call: StoppedCall, _ program: P, _ services: (any BackstopServices)?) -> BackstopAnswer {
        let names: [[UInt8]]
        let flags: Int32
        switch Shim.destinations(of: call, program) {
        case .failure(let fault): return .error(fault.errno)
        case .success(let found): (names, flags) = found
        }
        // What the kernel would read again if the call proceeded: a message header (sendmsg,
        // sendmmsg) or i386 socketcall's argument block. Another thread can rewrite it after
        // the check, so a send judged from it is made here, with what was read, never proceeded
        // on a socket where a rewritten name or flag could take data out (an internet socket).
        let reread = call.kind == .sendmsg || call.kind == .sendmmsg || call.argumentsFromMemory
        if names.isEmpty {  // sends on a connected socket: its connect was decided
            guard reread else { return .proceed }
            return onCopy(call.int(0), program) { copy in
                guard Shim.isInternet(kernel.socketDomain(copy)) else { return .proceed }
                // TCP ignores names unless MSG_FASTOPEN, a register but for socketcall
                if transport(of: copy) == .tcp && !call.argumentsFromMemory { return .proceed }
                return sendOnBehalf(call, copy: copy, names: [], flags: flags, program)
            }
        }
        let what = call.kind == .sendto ? "sendto" : call.kind == .sendmsg ? "sendmsg" : "sendmmsg"
        return onCopy(call.int(0), program) { copy in
            guard let transport = transport(of: copy) else { return .proceed }  // not a socket: the kernel says so
            // TCP ignores a send's address, unless it opens the connection (TCP Fast Open).
            if transport == .tcp && flags & Int32(MSG_FASTOPEN) == 0 {
                return call.argumentsFromMemory ? sendOnBehalf(call, copy: copy, names: names, flags: flags, program) : .proceed
            }
            for name in names {
                guard let destination = Endpoint(bytes: name) else {
                    if Shim.claimsInternetFamily(name) {
                        log.error(what + " refused: an address socksify cannot read (" + String(name.count)
                                  + " bytes); program sees EINVAL")
                        return .error(EINVAL)
                    }
                    continue  // AF_UNIX, AF_NETLINK…: not a way out of the machine
                }
                if transport == .tcp {
                    let attempt = trafficAttempt(.tcp, to: destination)
                    if case .direct = TrafficVerdict.decide(attempt, policy) { continue }
                    log.error(what + " " + askedFor(attempt, destination).text
                              + " (TCP Fast Open) refused: the kernel backstop carries TCP through a proxy only from connect; program sees EPERM")
                    return .error(EPERM)
                }
                if transport != .udp {
                    let attempt = trafficAttempt(transport, to: destination)
                    switch TrafficVerdict.decide(attempt, policy) {
                    case .direct: continue
                    case .refuse(let errno, let why):
                        log.error(what + " " + askedFor(attempt, destination).text + " (" + transport.name + ") refused: " + why
                                  + "; program sees " + ErrnoName.name(errno))
                        return .error(errno)
                    case .proxy:
                        log.error(what + " " + askedFor(attempt, destination).text + " (" + transport.name
                                  + ") refused: it cannot go through a SOCKS proxy; program sees EPERM")
                        return .error(EPERM)
                    }
                }
                if destination.port == 53, let services, call.kind == .sendto {
                    // The query is sent from here, to the responder; the program's buffer is read once.
                    let length = min(Int(call.args[2]), 65_535)
                    guard let query = length == 0 ? [] : program.read(call.args[1], length) else { return .error(EFAULT) }
                    log.info(what + " " + destination.text + " (UDP): a DNS query; socksify answers it")
                    return services.deliver(copy, query, from: destination, shim: self)
                }
                if let refusal = datagramRefusal(destination, call: what) { return refusal }
            }
            if names.allSatisfy({ !Shim.claimsInternetFamily($0) }) && !(reread && Shim.isInternet(kernel.socketDomain(copy))) {
                return .proceed  // AF_UNIX, netlink: not a way out
            }
            // Permitted. The call itself never proceeds: another thread could rewrite the address
            // after it was read. The supervisor sends what the program asked, to the address read.
            return sendOnBehalf(call, copy: copy, names: names, flags: flags, program)
        }
    }

    /// A message whose name is not the one judged a moment ago: another thread rewrote it.
    func changedWhileRead(_ what: String) -> BackstopAnswer {
        log.error(what + " refused: the program changed the destination while socksify read it; program sees EINVAL")
        return .error(EINVAL)
    }

    static func isInternet(_ domain: Int32) -> Bool { domain == AF_INET || domain == AF_INET6 }

    /// The send made from the supervisor, on the copy of the program's socket, with the
    /// addresses already judged and the payload read from the program's memory.
    func sendOnBehalf<P: StoppedProgram>(_ call: StoppedCall, copy: Int32, names: [[UInt8]], flags: Int32, _ program: P) -> BackstopAnswer {
        switch call.kind {
        case .sendto:
            let length = Int(UInt32(truncatingIfNeeded: call.args[2]))
            guard length <= Shim.largestSend else { return .error(EMSGSIZE) }
            guard let payload = length == 0 ? [] : program.read(call.args[1], length) else { return .error(EFAULT) }
            guard program.stillWaiting() else { return .error(EINTR) }
            return send(copy, payload, to: names.first ?? [], control: [], flags: flags)
        case .sendmsg:
            switch Shim.message(at: call.args[1], is32Bit: call.is32Bit, program) {
            case .failure(let fault): return .error(fault.errno)
            case .success(let message):
                guard program.stillWaiting() else { return .error(EINTR) }
                guard message.name == (names.first ?? []) else { return changedWhileRead("sendmsg") }
                return send(copy, message.payload, to: message.name, control: message.control, flags: flags)
            }
        case .sendmmsg:
            let count = min(Int(UInt32(truncatingIfNeeded: call.args[2])), 1024)
            let stride = call.is32Bit ? Shim.multipleHeaderSize32 : Shim.multipleHeaderSize
            var sent = 0
            var judged = names[...]  // the names read for the check, in order (messages without one have none)
            for i in 0..<count {
                let answer: BackstopAnswer
                switch Shim.message(at: call.args[1] + UInt64(i * stride), is32Bit: call.is32Bit, program) {
                case .failure(let fault): answer = .error(fault.errno)
                case .success(let message):
                    let expected = message.name.isEmpty ? [] : (judged.popFirst() ?? [])
                    if message.name != expected {
                        answer = changedWhileRead("sendmmsg")
                    } else {
                        answer = program.stillWaiting() ? send(copy, message.payload, to: message.name, control: message.control, flags: flags)
                            : .error(EINTR)
                    }
                }
                guard case .value = answer else { return sent > 0 ? .value(Int64(sent)) : answer }
                sent += 1
            }
            return .value(Int64(sent))
        default:
            return .error(ENOSYS)
        }
    }

    /// A datagram (or a Fast Open segment) larger than this is not read from the program: the
    /// kernel would refuse it (EMSGSIZE) for UDP.
    static let largestSend = 1 << 20

    struct Message {
        var name: [UInt8]
        var payload: [UInt8]
        var control: [UInt8]
    }

    /// A msghdr in the program's memory, its iovecs gathered into one payload (a datagram is
    /// one unit however it was cut), its control messages as bytes.
    static func message<P: StoppedProgram>(at address: UInt64, is32Bit: Bool, _ program: P) -> Result<Message, BackstopFault> {
        let width = is32Bit ? 4 : 8
        guard let header = program.read(address, is32Bit ? messageHeaderSize32 : messageHeaderSize) else { return .failure(BackstopFault(EFAULT)) }
        func word(_ offset: Int, _ size: Int) -> UInt64 {
            header[offset..<offset + size].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        }
        // x86-64: name 0, namelen 8, iov 16, iovlen 24, control 32, controllen 40; i386: 0, 4, 8, 12, 16, 20
        let (iovAt, iovCountAt, controlAt, controlLengthAt) = is32Bit ? (8, 12, 16, 20) : (16, 24, 32, 40)
        let namePointer = word(0, width)
        let nameLength = Int(word(width, 4))
        guard nameLength <= 128 else { return .failure(BackstopFault(EINVAL)) }
        var name: [UInt8] = []
        if namePointer != 0 && nameLength > 0 {
            guard let read = program.read(namePointer, nameLength) else { return .failure(BackstopFault(EFAULT)) }
            name = read
        }
        let iovCount = Int(word(iovCountAt, width))
        guard iovCount <= 1024 else { return .failure(BackstopFault(EMSGSIZE)) }
        var payload: [UInt8] = []
        if iovCount > 0 {
            guard let vector = program.read(word(iovAt, width), iovCount * 2 * width) else { return .failure(BackstopFault(EFAULT)) }
            for i in 0..<iovCount {
                let base = vector[(2 * i) * width..<(2 * i + 1) * width].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                let length = Int(vector[(2 * i + 1) * width..<(2 * i + 2) * width].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
                guard payload.count + length <= largestSend else { return .failure(BackstopFault(EMSGSIZE)) }
                if length > 0 {
                    guard let bytes = program.read(base, length) else { return .failure(BackstopFault(EFAULT)) }
                    payload += bytes
                }
            }
        }
        let controlLength = Int(word(controlLengthAt, width))
        var control: [UInt8] = []
        if controlLength > 0 {
            // i386's cmsghdr is laid out differently from ours: not carried.
            guard !is32Bit, controlLength <= 4096 else { return .failure(BackstopFault(EOPNOTSUPP)) }
            guard let bytes = program.read(word(controlAt, width), controlLength) else { return .failure(BackstopFault(EFAULT)) }
            control = bytes
        }
        return .success(Message(name: name, payload: payload, control: control))
    }

    func send(_ fd: Int32, _ payload: [UInt8], to name: [UInt8], control: [UInt8], flags: Int32) -> BackstopAnswer {
        var payload = payload
        var name = name
        var control = control
        let sent: Int = payload.withUnsafeMutableBytes { data in
            name.withUnsafeMutableBytes { address in
                control.withUnsafeMutableBytes { ancillary in
                    var vector = iovec(iov_base: data.baseAddress, iov_len: data.count)
                    return withUnsafeMutablePointer(to: &vector) { iov in
                        var header = msghdr()
                        header.msg_name = address.count > 0 ? address.baseAddress : nil
                        header.msg_namelen = socklen_t(address.count)
                        header.msg_iov = iov
                        header.msg_iovlen = 1
                        header.msg_control = ancillary.count > 0 ? ancillary.baseAddress : nil
                        header.msg_controllen = ancillary.count
                        return kernel.sendMessage(fd, &header, flags | Int32(MSG_NOSIGNAL))
                    }
                }
            }
        }
        return sent >= 0 ? .value(Int64(sent)) : .error(kernel.errno)
    }

    /// nil when the verdict sends a UDP datagram to `destination` direct; else the refusal,
    /// logged once.
    func datagramRefusal(_ destination: Endpoint, call: String) -> BackstopAnswer? {
        let attempt = trafficAttempt(.udp, to: destination)
        let errno: Int32
        var why: String
        switch TrafficVerdict.decide(attempt, policy) {
        case .direct: return nil
        case .refuse(let e, let reason): (errno, why) = (e, reason)
        case .proxy: (errno, why) = (EPERM, "the kernel backstop carries UDP through a proxy only on a connected socket (connect, then send), through one SOCKS5 proxy")
        }
        if destination.port == 53 {
            why += " (a DNS query: socksify answers a program's own queries when they are sent after connect, or with sendto)"
        }
        log.error(call + " " + askedFor(attempt, destination).text + " (UDP) refused: " + why + "; program sees " + ErrnoName.name(errno))
        return .error(errno)
    }

    /// Runs `body` on a fresh copy of the program's descriptor `fd`, closed afterwards; the
    /// registry's byte for the copy's number starts and ends empty (the number is reused).
    func onCopy<P: StoppedProgram>(_ fd: Int32, _ program: P, _ body: (Int32) -> BackstopAnswer) -> BackstopAnswer {
        let copy = program.copyDescriptor(fd)
        guard copy >= 0 else { return .error(-copy) }
        kernel.setFacts(copy, 0xFF, 0)
        defer {
            kernel.setFacts(copy, 0xFF, 0)
            _ = kernel.close(copy)
        }
        // The address was read from the process whose call this is (not a process that took its pid).
        guard program.stillWaiting() else { return .error(EINTR) }
        return body(copy)
    }

    /// The destinations a send names, and its flags; none for sends on a connected socket.
    static func destinations<P: StoppedProgram>(of call: StoppedCall, _ program: P) -> Result<([[UInt8]], Int32), BackstopFault> {
        switch call.kind {
        case .sendto:
            let length = Int(UInt32(truncatingIfNeeded: call.args[5]))
            guard call.args[4] != 0, length > 0 else { return .success(([], call.int(3))) }
            guard length <= 128 else { return .failure(BackstopFault(EINVAL)) }
            guard let name = program.read(call.args[4], length) else { return .failure(BackstopFault(EFAULT)) }
            return .success(([name], call.int(3)))
        case .sendmsg:
            let size = call.is32Bit ? messageHeaderSize32 : messageHeaderSize
            guard let header = program.read(call.args[1], size) else { return .failure(BackstopFault(EFAULT)) }
            return messageName(header, is32Bit: call.is32Bit, program).map { ($0.map { [$0] } ?? [], call.int(2)) }
        case .sendmmsg:
            // The kernel sends at most UIO_MAXIOV messages of a vector.
            let count = min(Int(UInt32(truncatingIfNeeded: call.args[2])), 1024)
            guard count > 0 else { return .success(([], call.int(3))) }
            let (size, stride) = call.is32Bit ? (messageHeaderSize32, multipleHeaderSize32) : (messageHeaderSize, multipleHeaderSize)
            guard let vector = program.read(call.args[1], count * stride) else { return .failure(BackstopFault(EFAULT)) }
            var names: [[UInt8]] = []
            for i in 0..<count {
                let header = Array(vector[i * stride..<i * stride + size])
                switch messageName(header, is32Bit: call.is32Bit, program) {
                case .failure(let fault): return .failure(fault)
                case .success(let name): if let name { names.append(name) }
                }
            }
            return .success((names, call.int(3)))
        default:
            return .success(([], 0))
        }
    }

    /// x86-64 `struct msghdr` (56 bytes: msg_name at 0, msg_namelen at 8) and `struct mmsghdr`
    /// (64); i386's (28: msg_name at 0, msg_namelen at 4) and (32).
    static let messageHeaderSize = 56
    static let multipleHeaderSize = 64
    static let messageHeaderSize32 = 28
    static let multipleHeaderSize32 = 32

    static func messageName<P: StoppedProgram>(_ header: [UInt8], is32Bit: Bool = false, _ program: P) -> Result<[UInt8]?, BackstopFault> {
        let width = is32Bit ? 4 : 8
        let pointer = header[0..<width].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let length = Int(header[width..<width + 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        guard pointer != 0, length > 0 else { return .success(nil) }
        guard length <= 128 else { return .failure(BackstopFault(EINVAL)) }
        guard let name = program.read(pointer, length) else { return .failure(BackstopFault(EFAULT)) }
        return .success(name)
    }

    static func claimsInternetFamily(_ name: [UInt8]) -> Bool {
        guard name.count >= 2 else { return false }
        let family = Int32(UInt16(name[0]) | UInt16(name[1]) << 8)
        return family == AF_INET || family == AF_INET6
    }

    /// An AF_UNIX address whose path does not start at "/" (nor is abstract or unnamed).
    static func isRelativeUnixPath(_ name: [UInt8]) -> Bool {
        guard name.count > 2, UInt16(name[0]) | UInt16(name[1]) << 8 == UInt16(AF_UNIX) else { return false }
        return name[2] != 0 && name[2] != UInt8(ascii: "/")
    }
}

/// An errno for a call whose arguments could not be read.
public struct BackstopFault: Error, Equatable {
    public var errno: Int32
    init(_ errno: Int32) { self.errno = errno }
}

extension Endpoint {
    /// An internet address as a sockaddr's bytes, or nil (another family, or too short).
    init?(bytes: [UInt8]) {
        guard !bytes.isEmpty else { return nil }
        guard let endpoint = bytes.withUnsafeBytes({ Endpoint(sockaddr: $0.baseAddress!, length: $0.count) }) else { return nil }
        self = endpoint
    }
}
