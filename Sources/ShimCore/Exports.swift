import SocksifyLibc

// The C ABI between the interposers in CShim and the Swift core, compiled as Embedded Swift.
// The C side calls sx_core_init exactly once (pthread_once) before any other entry point, so the
// global below is written once and only read afterwards.

nonisolated(unsafe) var shim: Shim? = nil
/// Written once by the library's constructor, before any thread of the program exists.
nonisolated(unsafe) var heldNameMap: HeldNameMap? = nil

/// Called as the library loads, the one thing that runs then: with SOCKSIFY_DNS_MAP set, attach
/// the run's name map, so the kernel counts this process as using it from its start (a later
/// run's cleanup then leaves it alone, however long before this process first resolves a name).
/// Without the variable this is one getenv.
@_cdecl("sx_core_hold_name_map")
public func sxCoreHoldNameMap() {
    guard let value = sx_getenv(ShimSettings.nameMapVariable) else { return }
    heldNameMap = HeldNameMap.hold(String(cString: value))
}

@_cdecl("sx_core_init")
public func sxCoreInit() {
    let environment: (String) -> String? = { name in
        guard let value = sx_getenv(name) else { return nil }
        return String(cString: value)
    }
    shim = Shim(settings: ShimSettings.fromEnvironment(environment), program: runningProgram(),
                readFile: Shim.readFile, environment: environment, heldNameMap: heldNameMap)
}

func runningProgram() -> RunningProgram {
    var path = [CChar](repeating: 0, count: 4096)
    let length = path.withUnsafeMutableBufferPointer { sx_executable_path($0.baseAddress, $0.count) }
    let executable = length > 0 ? path[0..<length].map { UInt8(bitPattern: $0) } : []
    var argv0: [UInt8] = []
    if let name = sx_program_argv0() { argv0 = Array(UnsafeRawBufferPointer(start: name, count: strlen(name))) }
    return RunningProgram(executable: executable.isEmpty ? argv0 : executable, argv0: argv0)
}

@_cdecl("sx_core_connect")
public func sxCoreConnect(_ fd: Int32, _ address: UnsafePointer<sockaddr>?, _ length: socklen_t) -> Int32 {
    guard let shim else { return sx_real_connect(fd, address, length) }
    return shim.connect(fd, address, length)
}

@_cdecl("sx_core_getpeername")
public func sxCoreGetpeername(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: UnsafeMutablePointer<socklen_t>?) -> Int32 {
    guard let shim else { return sx_real_getpeername(fd, address, length) }
    return shim.getpeername(fd, address, length)
}


@_cdecl("sx_core_resolve")
public func sxCoreResolve(_ name: UnsafePointer<CChar>, _ family: Int32, _ out: UnsafeMutablePointer<sx_resolution>) -> Int32 {
    guard let shim else { return SX_RESOLVE_LIBC }
    return shim.resolve(name, family: family, into: out)
}

@_cdecl("sx_core_reverse")
public func sxCoreReverse(_ family: Int32, _ bytes: UnsafePointer<UInt8>, _ out: UnsafeMutablePointer<sx_resolution>) -> Int32 {
    guard let shim else { return SX_RESOLVE_LIBC }
    return shim.reverse(family: family, bytes: bytes, into: out)
}

@_cdecl("sx_core_sendmsg")
public func sxCoreSendmsg(_ fd: Int32, _ message: UnsafePointer<msghdr>, _ flags: Int32) -> Int {
    guard let shim else { return passToLibc }
    if sx_pending_marked(fd) != 0 {  // a tunnel a signal interrupted: finished before any byte goes
        let failure = shim.settleBeforeIO(fd)
        if failure != 0 { sx_set_errno(failure); return -1 }
        if message.pointee.msg_name == nil && sx_udp_marked(fd) == 0 { return passToLibc }
    }
    return shim.sendDatagram(fd, message, flags: flags)
}

@_cdecl("sx_core_recvmsg")
public func sxCoreRecvmsg(_ fd: Int32, _ message: UnsafeMutablePointer<msghdr>, _ flags: Int32) -> Int {
    guard let shim else { return passToLibc }
    if sx_pending_marked(fd) != 0 {
        let failure = shim.settleBeforeIO(fd)
        if failure != 0 { sx_set_errno(failure); return -1 }
        if sx_udp_marked(fd) == 0 { return passToLibc }
    }
    return shim.receiveDatagram(fd, message, flags: flags)
}

@_cdecl("sx_core_peer_dup")
public func sxCorePeerDup(_ fd: Int32, _ copy: Int32) {
    guard let shim else { _ = sx_fd_facts_set(copy, SX_FACT_PEER, SX_FACT_PEER); return }
    shim.copyPeer(from: fd, to: copy)
}

@_cdecl("sx_core_socket_error")
public func sxCoreSocketError(_ fd: Int32) -> Int32 {
    guard let shim else { return 0 }
    return shim.socketError(fd)
}

@_cdecl("sx_core_async_need")
public func sxCoreAsyncNeed(_ fd: Int32, _ deadline: UnsafeMutablePointer<UInt64>) -> Int32 {
    guard let shim else { return 0 }
    return shim.asyncNeed(fd, deadline: &deadline.pointee)
}

@_cdecl("sx_core_async_step")
public func sxCoreAsyncStep(_ fd: Int32) -> Int32 {
    guard let shim else { return 0 }
    return shim.asyncStepCode(fd)
}

@_cdecl("sx_core_async_soonest")
public func sxCoreAsyncSoonest() -> UInt64 {
    shim?.asyncSoonestDeadline() ?? UInt64.max
}

@_cdecl("sx_core_async_expire")
public func sxCoreAsyncExpire() {
    shim?.asyncExpire()
}

@_cdecl("sx_core_settle")
public func sxCoreSettle(_ fd: Int32) {
    _ = shim?.settleBeforeIO(fd)
}

@_cdecl("sx_core_forget_interrupted")
public func sxCoreForgetInterrupted(_ fd: Int32) {
    guard let shim else { sx_pending_mark(fd, 0); return }
    shim.forgetInterrupted(fd)
}

@_cdecl("sx_core_udp_close")
public func sxCoreUdpClose(_ fd: Int32) {
    shim?.associations.detach(fd)
}

@_cdecl("sx_core_udp_dup")
public func sxCoreUdpDup(_ fd: Int32, _ copy: Int32) {
    shim?.associations.duplicate(fd, to: copy)
}

@_cdecl("sx_core_socket")
public func sxCoreSocket(_ domain: Int32, _ type: Int32, _ proto: Int32) -> Int32 {
    guard let shim else { return sx_real_socket(domain, type, proto) }
    return shim.socket(domain: domain, type: type, protocol: proto)
}

@_cdecl("sx_core_check_io_uring")
public func sxCoreCheckIoUring() -> Int32 {
    guard let shim else { return 0 }
    return shim.checkIoUring()
}

@_cdecl("sx_core_relocate_own")
public func sxCoreRelocateOwn(_ fd: Int32) {
    shim?.associations.relocateControl(fd)
}

@_cdecl("sx_core_resolver_call_refused")
public func sxCoreResolverCallRefused(_ function: UnsafePointer<CChar>) -> Int32 {
    guard let shim else { return 0 }
    return shim.resolverCallRefused(String(cString: function)) ? 1 : 0
}

@_cdecl("sx_core_names_kept_in")
public func sxCoreNamesKeptIn() -> Int32 {
    guard let shim else { return 0 }
    return shim.names.remote || shim.settings.strict ? 1 : 0
}

@_cdecl("sx_core_note_local_answer")
public func sxCoreNoteLocalAnswer(_ name: UnsafePointer<CChar>, _ family: Int32, _ bytes: UnsafePointer<UInt8>) {
    shim?.noteLocalAnswer(name, family: family, bytes: bytes)
}

@_cdecl("sx_core_bind")
public func sxCoreBind(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
    guard let shim else { return SX_PASS }
    return shim.bindRequested(fd, address, length)
}

@_cdecl("sx_core_listen")
public func sxCoreListen(_ fd: Int32, _ backlog: Int32) -> Int32 {
    guard let shim else { return SX_PASS }
    return shim.listen(fd, backlog)
}

@_cdecl("sx_core_accept")
public func sxCoreAccept(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: UnsafeMutablePointer<socklen_t>?, _ flags: Int32) -> Int32 {
    guard let shim else { return SX_PASS }
    return shim.accept(fd, address, length, flags: flags)
}

@_cdecl("sx_core_getsockname")
public func sxCoreGetsockname(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: UnsafeMutablePointer<socklen_t>?) -> Int32 {
    guard let shim else { return SX_PASS }
    return shim.getsockname(fd, address, length)
}

@_cdecl("sx_core_bind_forget")
public func sxCoreBindForget(_ fd: Int32) {
    shim?.forgetBind(fd)
}

@_cdecl("sx_core_bind_release")
public func sxCoreBindRelease(_ fd: Int32) {
    shim?.releaseBind(fd)
}
