import Glibc
import SocksifyCore
import SocksifyLibc

/// The kernel backstop (docs/kernel-backstop.md): for a program the library cannot reach, the
/// launcher forks; the child installs a seccomp filter that stops the calls which open
/// connections and execs the program; this process stays as its parent and answers each stopped
/// call with the shim's verdict, connecting on a copy of the program's socket itself.
enum Backstop {
    /// Set in the program's environment: a socksify started inside the run uses this supervisor.
    static let markerVariable = "SOCKSIFY_BACKSTOP"
    /// "1": refuse such programs (exit 126) as before the backstop.
    static let offVariable = "SOCKSIFY_NO_BACKSTOP"

    static var switchedOff: Bool {
        guard let value = Environment.get(offVariable) else { return false }
        return !["", "0", "no", "off", "false"].contains(value.lowercased())
    }

    /// Starts the program under the filter and supervises it until every process of the run has
    /// exited; exits as the program did. `refusal` is the line to print if the kernel cannot do
    /// it; with `withoutBackstop` (a program the library reaches, held only because of
    /// `--strict`) a warning is printed instead and that runs.
    static func run(_ command: [String], refusal: String, beforeFailing: () -> Void, withoutBackstop: (() -> Never)? = nil) -> Never {
        func unavailable(_ why: String) -> Never {
            if let withoutBackstop {
                Launcher.printError("--strict: the kernel backstop is unavailable here (\(why)); only the library holds the program's connections")
                withoutBackstop()
            }
            beforeFailing()
            fail("\(refusal) (and the kernel backstop is unavailable here: \(why))", status: 126)
        }
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            unavailable("socketpair: \(String(cString: strerror(errno)))")
        }
        fflush(nil)
        let child = fork()
        if child < 0 {
            unavailable("fork: \(String(cString: strerror(errno)))")
        }
        if child == 0 {
            close(pair[0])
            runChild(command, channel: pair[1], beforeFailing: beforeFailing)
        }
        close(pair[1])
        let listener = takeListener(from: child, channel: pair[0])
        close(pair[0])
        guard case .success(let fd) = listener else {
            var status: Int32 = 0
            while waitpid(child, &status, 0) < 0 && errno == EINTR {}
            if case .failure(let why) = listener { unavailable(why) }
            exit(126)
        }
        supervise(child: child, listener: fd)
    }

    /// The child: filter, hand-over, exec. The listener goes to the parent through pidfd_getfd,
    /// not SCM_RIGHTS: the filter already stops this process's own sendmsg, which nobody
    /// would answer before the parent holds the listener.
    static func runChild(_ command: [String], channel: Int32, beforeFailing: () -> Void) -> Never {
        let listener = sx_backstop_install()
        var word: Int32 = listener >= 0 ? listener : -errno
        guard write(channel, &word, 4) == 4, listener >= 0 else { _exit(126) }
        var ack: UInt8 = 0
        guard read(channel, &ack, 1) == 1, ack == 1 else { _exit(126) }
        close(listener)  // the supervisor has its copy; the program must not answer its own calls
        close(channel)
        Launcher.exec(command, beforeFailing: beforeFailing)
    }

    enum Taken { case success(Int32), failure(String) }

    static func takeListener(from child: pid_t, channel: Int32) -> Taken {
        var word: Int32 = 0
        var got = 0
        while got < 4 {
            let n = withUnsafeMutableBytes(of: &word) { read(channel, $0.baseAddress! + got, 4 - got) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return .failure("the child exited before installing the filter") }
            got += n
        }
        guard word >= 0 else {
            return .failure("seccomp user notification: \(String(cString: strerror(-word)))")
        }
        let pidfd = sx_pidfd_open(child)
        var listener: Int32 = -1
        var why = ""
        if pidfd < 0 {
            why = "pidfd_open: \(String(cString: strerror(errno)))"
        } else {
            listener = sx_pidfd_getfd(pidfd, word)
            if listener < 0 { why = "pidfd_getfd: \(String(cString: strerror(errno)))" }
            close(pidfd)
        }
        var ack: UInt8 = listener >= 0 ? 1 : 0
        _ = write(channel, &ack, 1)
        return listener >= 0 ? .success(listener) : .failure(why)
    }

    /// Takes stopped calls until the listener reports POLLHUP (no process holding the filter is
    /// left); each is answered on a thread of its own, so a slow proxy holds up only the calls
    /// that wait for it.
    static func supervise(child: pid_t, listener: Int32) -> Never {
        supervisedChild = child
        // The terminal sends these to the program too; a supervisor that died of them would
        // leave the program without answers.
        signal(SIGINT, SIG_IGN)
        signal(SIGQUIT, SIG_IGN)
        var forward = sigaction()
        forward.__sigaction_handler.sa_handler = { kill(supervisedChild, $0) }
        forward.sa_flags = SA_RESTART
        sigaction(SIGTERM, &forward, nil)
        sigaction(SIGHUP, &forward, nil)

        let supervisor = Supervisor(listener: listener)
        let childExit = sx_pidfd_open(child)  // readable when the program exits: reap it, or no POLLHUP comes
        var status: Int32? = nil
        var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0), pollfd(fd: childExit, events: Int16(POLLIN), revents: 0)]
        while true {
            if poll(&fds, 2, childExit < 0 && status == nil ? 100 : -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            if status == nil {
                var s: Int32 = 0
                if waitpid(child, &s, WNOHANG) == child {
                    status = s
                    fds[1].fd = -1
                }
            }
            if fds[0].revents & Int16(POLLIN) != 0 {
                supervisor.handleOne()
                continue
            }
            if fds[0].revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 { break }
        }
        var s: Int32 = 0
        while status == nil {
            if waitpid(child, &s, 0) == child { status = s } else if errno != EINTR { status = 0 }
        }
        exitAsTheProgramDid(status ?? 0)
    }

    static func exitAsTheProgramDid(_ status: Int32) -> Never {
        let signalNumber = status & 0x7F
        if signalNumber == 0 { exit((status >> 8) & 0xFF) }
        // Killed by a signal: die of the same one, without a core of our own.
        var noCore = rlimit(rlim_cur: 0, rlim_max: 0)
        setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &noCore)
        signal(signalNumber, SIG_DFL)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, signalNumber)
        sigprocmask(SIG_UNBLOCK, &set, nil)
        raise(signalNumber)
        exit(128 + signalNumber)
    }
}

/// The program's pid, for the signal handler that forwards SIGTERM and SIGHUP to it.
nonisolated(unsafe) var supervisedChild: pid_t = 0

/// Answers stopped calls with the shim's policy: one Shim per program of the run (the rules
/// may differ by program).
final class Supervisor: @unchecked Sendable {
    let listener: Int32
    /// Guarded by `shimsLock` (the answering threads share them).
    private var shims: [String: Shim] = [:]
    private let shimsLock = Mutex()
    /// Answers the DNS queries of programs that resolve names themselves.
    private let services = SupervisorServices()
    private let workers = WorkerPool()
    /// Each process's executable and the key of its Shim, with a pidfd that says whether it is
    /// still the same process (guarded by `shimsLock`): its cmdline is read once.
    private var processes: [Int32: (pidfd: Int32, executable: [UInt8], key: String)] = [:]

    init(listener: Int32) { self.listener = listener }

    /// Takes one stopped call and answers it on a new thread (the answer may wait on a proxy).
    func handleOne() {
        var call = sx_stopped_call()
        guard sx_backstop_receive(listener, &call) == 0 else { return }  // ENOENT: the caller is gone
        let stopped = call
        workers.run { self.respond(to: stopped) }
    }

    private func respond(to call: sx_stopped_call) {
        switch answer(call) {
        case .proceed: _ = sx_backstop_respond(listener, call.id, 0, 0, 1)
        case .value(let value): _ = sx_backstop_respond(listener, call.id, value, 0, 0)
        case .error(let errno): _ = sx_backstop_respond(listener, call.id, 0, errno, 0)
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
