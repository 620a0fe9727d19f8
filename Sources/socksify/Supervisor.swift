import Glibc
import SocksifyCore
import SocksifyLibc

/// Answers stopped calls with the shim's policy: one Shim per program of the run (the rules
/// may differ by program).
final class Supervisor: @unchecked Sendable {
    let listener: Int32
    /// Guarded by `shimsLock` (the answering threads share them).
    private var shims: [String: Shim] = [:]
    private let shimsLock = Mutex()
    /// Answers the DNS queries of programs that resolve names themselves.
    private let services = SupervisorServices()
    /// Receiver threads, and how many of them wait for a call (guarded by `receiversLock`).
    private var receivers = 0
    private var idleReceivers = 0
    private let receiversLock = Mutex()
    /// Threads that wait in SECCOMP_IOCTL_NOTIF_RECV, at most: past that, stopped calls wait
    /// for one of them to finish (each may wait on a proxy for its handshake timeout).
    static let maximumReceivers = 1024
    /// Idle receivers kept for the next calls; more exit when they finish.
    static let keptReceivers = 4
    /// Each process's executable and the key of its Shim, with a pidfd that says whether it is
    /// still the same process (guarded by `shimsLock`): its cmdline is read once.
    private var processes: [Int32: (pidfd: Int32, executable: [UInt8], key: String)] = [:]

    init(listener: Int32) { self.listener = listener }

    /// Starts the threads that take stopped calls and answer them. Each waits in the kernel
    /// for the next call (SECCOMP_IOCTL_NOTIF_RECV), so a call wakes the thread that answers it,
    /// with no hand-over between threads; while one waits on a slow proxy, the others go on
    /// taking calls, and one more is started whenever none is left waiting.
    /// False when no thread could be made: the caller then answers on its own thread.
    func startAnswering() -> Bool {
        receiversLock.lock()
        defer { receiversLock.unlock() }
        for _ in 0..<2 where startReceiver() {}
        return receivers > 0
    }

    /// Takes one stopped call and answers it on this thread (no receiver thread could be made).
    func answerOne() {
        var call = sx_stopped_call()
        guard sx_backstop_receive(listener, &call) == 0 else { return }  // ENOENT: the caller is gone
        respond(to: call)
    }

    /// Called with `receiversLock` held.
    @discardableResult
    private func startReceiver() -> Bool {
        guard receivers < Supervisor.maximumReceivers, Detached.run({ self.receive() }) else { return false }
        receivers += 1
        idleReceivers += 1
        return true
    }

    private func receive() {
        while true {
            var call = sx_stopped_call()
            guard sx_backstop_receive(listener, &call) == 0 else {
                // ENOENT: the caller went away before it was taken; EINTR: a signal
                if errno == ENOENT || errno == EINTR { continue }
                receiversLock.lock()
                receivers -= 1
                idleReceivers -= 1
                receiversLock.unlock()
                return
            }
            receiversLock.lock()
            idleReceivers -= 1
            if idleReceivers == 0 { startReceiver() }
            receiversLock.unlock()
            respond(to: call)
            receiversLock.lock()
            if idleReceivers >= Supervisor.keptReceivers {
                receivers -= 1
                receiversLock.unlock()
                return
            }
            idleReceivers += 1
            receiversLock.unlock()
        }
    }

    private func respond(to call: sx_stopped_call) {
        switch answer(call) {
        case .proceed: _ = sx_backstop_respond(listener, call.id, 0, 0, 1)
        case .value(let value): _ = sx_backstop_respond(listener, call.id, value, 0, 0)
        case .error(let errno): _ = sx_backstop_respond(listener, call.id, 0, errno, 0)
        case .answered: break
        }
    }

    func answer(_ call: sx_stopped_call) -> BackstopAnswer {
        let thread = Int32(bitPattern: call.pid)
        // The notification names the thread; pidfd_open wants its process (the thread group),
        // and takes a thread only when it leads one: try that first, /proc only for the others.
        var process = thread
        var pidfd = sx_pidfd_open(thread)
        if pidfd < 0 {
            process = Supervisor.threadGroup(of: thread) ?? thread
            pidfd = sx_pidfd_open(process)
        }
        guard pidfd >= 0 else { return .error(EPERM) }  // gone already: nobody reads the answer
        defer { close(pidfd) }
        let args = [call.args.0, call.args.1, call.args.2, call.args.3, call.args.4, call.args.5]
        let stopped = StoppedThread(listener: listener, id: call.id, thread: thread, process: process, pidfd: pidfd)
        return shim(for: process, pidfd: pidfd).answer(StoppedCall(number: call.nr, arch: call.arch, args: args), stopped, services: services)
    }

    func shim(for process: Int32, pidfd: Int32) -> Shim {
        let executable = Supervisor.link("/proc/\(process)/exe")
        shimsLock.lock()
        // The same process as before (its pidfd not yet readable: it has not exited, so the pid
        // was not reused) that has not exec'd another program: its Shim, without reading /proc.
        if let known = processes[process], known.executable == executable, !Supervisor.exited(known.pidfd),
           let shim = shims[known.key] {
            shimsLock.unlock()
            return shim
        }
        shimsLock.unlock()
        let argv0 = Array(Supervisor.contents("/proc/\(process)/cmdline").prefix { $0 != 0 })
        let key = String(decoding: executable, as: UTF8.self) + "\0" + String(decoding: argv0, as: UTF8.self)
        shimsLock.lock()
        defer { shimsLock.unlock() }
        remember(process, pidfd: pidfd, executable: executable, key: key)
        if let known = shims[key] { return known }
        let environment: (String) -> String? = { Environment.get($0) }
        let shim = Shim(settings: ShimSettings.fromEnvironment(environment),
                        program: RunningProgram(executable: executable.isEmpty ? argv0 : executable, argv0: argv0),
                        readFile: Shim.readFile, environment: environment)
        shim.finishesHandshakes = true
        shims[key] = shim
        return shim
    }

    /// Called with `shimsLock` held. Entries of processes that have exited go when the table grows.
    private func remember(_ process: Int32, pidfd: Int32, executable: [UInt8], key: String) {
        let own = fcntl(pidfd, F_DUPFD_CLOEXEC, 0)
        guard own >= 0 else { return }
        if let old = processes[process] { close(old.pidfd) }
        processes[process] = (own, executable, key)
        if processes.count > 256 {
            for (pid, entry) in processes where Supervisor.exited(entry.pidfd) {
                close(entry.pidfd)
                processes[pid] = nil
            }
        }
    }

    /// A pidfd is readable once its process has exited.
    static func exited(_ pidfd: Int32) -> Bool {
        var p = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) != 0
    }

    static func threadGroup(of thread: Int32) -> Int32? {
        let status = String(decoding: contents("/proc/\(thread)/status"), as: UTF8.self)
        for line in status.split(separator: "\n") where line.hasPrefix("Tgid:") {
            return Int32(line.dropFirst(5).trimmingCharacters(in: " \t"))
        }
        return nil
    }

    static func link(_ path: String) -> [UInt8] {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buffer, buffer.count)
        return n > 0 ? buffer[0..<n].map { UInt8(bitPattern: $0) } : []
    }

    static func contents(_ path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        return ProgramFile.read(fd, 0, 4096)
    }
}

/// A thread the filter stopped, reached from outside.
struct StoppedThread: StoppedProgram {
    let listener: Int32
    let id: UInt64
    let thread: Int32
    let process: Int32
    let pidfd: Int32

    func read(_ address: UInt64, _ count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        let n = bytes.withUnsafeMutableBytes { sx_read_process_memory(thread, address, $0.baseAddress, count) }
        return n == count ? bytes : nil
    }

    func copyDescriptor(_ fd: Int32) -> Int32 {
        let copy = sx_pidfd_getfd(pidfd, fd)
        return copy >= 0 ? copy : -errno
    }

    func stillWaiting() -> Bool { sx_backstop_still_waiting(listener, id) != 0 }

    func installDescriptor(_ fd: Int32, cloexec: Bool) -> Int32 {
        sx_backstop_install_descriptor(listener, id, fd, cloexec ? 1 : 0) == 0 ? 0 : -errno
    }

    /// The working directory is the whole supervisor's: one answering thread at a time here.
    static let directoryLock = Mutex()

    func inProgramDirectory(_ body: () -> Int32) -> Int32 {
        StoppedThread.directoryLock.lock()
        defer { StoppedThread.directoryLock.unlock() }
        let here = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard here >= 0, chdir("/proc/\(process)/cwd") == 0 else {
            if here >= 0 { close(here) }
            errno = EACCES
            return -1
        }
        let result = body()
        let saved = errno
        _ = fchdir(here)
        close(here)
        errno = saved
        return result
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> Substring {
        var s = self
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return s
    }
}

/// A pthread mutex with a stable address.
final class Mutex: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    init() { pthread_mutex_init(mutex, nil) }
    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
}

/// Runs a closure on a detached thread.
enum Detached {
    final class Job {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// False when no thread could be made (the caller then runs it itself).
    static func run(_ body: @escaping () -> Void) -> Bool {
        let job = Unmanaged.passRetained(Job(body)).toOpaque()
        var thread = pthread_t()
        let made = pthread_create(&thread, nil, { raw in
            Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, job)
        guard made == 0 else {
            Unmanaged<Job>.fromOpaque(job).release()
            return false
        }
        pthread_detach(thread)
        return true
    }
}
