import Glibc
import SocksifyCore
import SocksifyLibc

/// The kernel backstop (docs/kernel-backstop.md): for a program the library cannot reach, a
/// seccomp filter stops the calls which open connections and a supervisor answers each with the
/// shim's verdict, connecting on a copy of the program's socket itself. The supervisor runs
/// beside the program, which keeps the launcher's process, or (under Yama's `ptrace_scope` 1,
/// which lets only an ancestor read the program's children) as its parent.
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
    /// exited. `refusal` is the line to print if the kernel cannot do it; with `withoutBackstop`
    /// (a program the library reaches, held only because of `--strict`) a warning is printed
    /// instead and that runs.
    static func run(_ command: [String], refusal: String, beforeFailing: () -> Void, withoutBackstop: (() -> Never)? = nil) -> Never {
        func unavailable(_ why: String) -> Never { unavailableAfter(why, privilegesKept: true) }
        /// `privilegesKept` false: no_new_privs is set in this process, which must then not run
        /// the program without the filter (setuid helpers it starts would silently fail).
        func unavailableAfter(_ why: String, privilegesKept: Bool) -> Never {
            if let withoutBackstop, privilegesKept {
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
        // Above 2: with the program's stdin or stdout closed, the pair would take 0 or 1, which
        // the supervisor points at /dev/null.
        pair = pair.map(aboveStandardDescriptors)
        fflush(nil)
        if SupervisorPlacement.current == .beside {
            runBeside(command, channel: pair, beforeFailing: beforeFailing, unavailable: unavailableAfter)
        }
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

    /// The program keeps this process (its pid, parent, exit status and terminal): the
    /// supervisor is a grandchild that the middle process leaves behind, so nobody's child the
    /// program could wait for. It first shows it can take this process's descriptors (the rights
    /// it needs for every stopped call); only then is the filter installed here, and its listener
    /// taken with `pidfd_getfd` (not `SCM_RIGHTS`: the filter stops this process's `sendmsg`).
    static func runBeside(_ command: [String], channel pair: [Int32], beforeFailing: () -> Void,
                          unavailable: (String, Bool) -> Never) -> Never {
        // Asked first, so a kernel without it leaves this process as it was (no no_new_privs).
        guard sx_backstop_supported() == 0 else {
            unavailable("seccomp user notification: \(String(cString: strerror(errno)))", true)
        }
        let program = getpid()
        let middle = fork()
        if middle < 0 { unavailable("fork: \(String(cString: strerror(errno)))", true) }
        if middle == 0 {
            close(pair[1])
            let supervisor = fork()
            if supervisor != 0 { _exit(supervisor < 0 ? 1 : 0) }
            superviseBeside(program: program, channel: pair[0])
        }
        close(pair[0])
        let channel = pair[1]
        var status: Int32 = 0
        while waitpid(middle, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else { unavailable("fork: the supervisor could not be started", true) }
        // The probe: the supervisor takes a copy of this channel's descriptor, or says why not.
        guard send(word: channel, on: channel), let probe = receiveWord(on: channel) else {
            unavailable("the supervisor exited during the hand-over", true)
        }
        guard probe == 0 else {
            unavailable("pidfd_getfd: \(String(cString: strerror(probe))) (the supervisor cannot take this process's descriptors)", true)
        }
        let listener = sx_backstop_install()
        guard listener >= 0 else {
            let why = "seccomp user notification: \(String(cString: strerror(errno)))"
            _ = send(word: -1, on: channel)
            unavailable(why, false)
        }
        guard send(word: listener, on: channel), receiveWord(on: channel) == 0 else {
            // The filter is in place and nobody answers it: the program must not run.
            beforeFailing()
            fail("\(command[0]): the kernel backstop's supervisor did not take the filter's listener", status: 126)
        }
        close(listener)  // the supervisor has its copy; the program must not answer its own calls
        close(channel)
        Launcher.exec(command, beforeFailing: beforeFailing)
    }

    /// The supervisor beside the program: answers until no process of the run holds the filter.
    /// A session of its own, so no signal sent to the program's group or by its terminal
    /// (Ctrl-C, `kill -- -PGID`, `timeout`, a job's `kill %1`) ends it; none of the launcher's
    /// descriptors but stderr, for its lines while the program runs (then /dev/null, so a
    /// reader of the program's stderr sees the end when the program ends); `/` as its
    /// working directory, so it holds no mount busy.
    static func superviseBeside(program: pid_t, channel: Int32) -> Never {
        _ = setsid()
        ignoreTerminalSignals()
        _ = chdir("/")
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        if null >= 0 {
            dup2(null, 0)
            dup2(null, 1)
        }
        let kept = [0, 1, 2, channel, null].filter { $0 >= 0 }.sorted()
        var from: UInt32 = 0
        for fd in kept.map(UInt32.init) {
            if fd > from { _ = sx_close_range(from, fd - 1) }
            from = fd + 1
        }
        _ = sx_close_range(from, UInt32.max)
        let pidfd = sx_pidfd_open(program)
        func take(_ fd: Int32) -> Int32 {
            guard pidfd >= 0 else { return -1 }
            return fd >= 0 ? sx_pidfd_getfd(pidfd, fd) : -1
        }
        guard let probe = receiveWord(on: channel) else { _exit(0) }
        let copy = take(probe)
        let why = copy >= 0 ? 0 : (errno != 0 ? errno : EPERM)
        if copy >= 0 { close(copy) }
        guard send(word: why, on: channel), copy >= 0 else { _exit(0) }
        guard let word = receiveWord(on: channel) else { _exit(0) }
        let listener = take(word)
        _ = send(word: listener >= 0 ? 0 : EPERM, on: channel)
        close(channel)
        guard listener >= 0 else { _exit(0) }
        let supervisor = Supervisor(listener: listener)
        // This thread waits for the end: POLLHUP on the listener (asked for no event, it reports
        // that alone), and the program's pidfd, readable once it has exited, when its stderr is
        // let go. Without receiver threads (none could be made) it answers the calls itself.
        let inline = !supervisor.startAnswering()
        var fds = [pollfd(fd: listener, events: inline ? Int16(POLLIN) : 0, revents: 0), pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)]
        while true {
            if poll(&fds, 2, -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            if fds[1].revents != 0 {
                if null >= 0 { dup2(null, 2) }
                fds[1].fd = -1
            }
            if fds[0].revents & Int16(POLLIN) != 0 {
                supervisor.answerOne()
                continue
            }
            if fds[0].revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 { break }
        }
        _exit(0)
    }

    /// A supervisor that died or stopped of a signal meant for the program would leave it
    /// without answers (its connects then fail with ENOSYS); it ends when the run does. Its own
    /// session already keeps the terminal's and the group's signals away: these are for a
    /// signal sent to it by pid.
    static func ignoreTerminalSignals() {
        for number in [SIGINT, SIGQUIT, SIGHUP, SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE, SIGTERM] { signal(number, SIG_IGN) }
    }

    /// MSG_NOSIGNAL: a peer that is gone is an error here, never a SIGPIPE (a send without
    /// an address passes the filter).
    static func send(word: Int32, on channel: Int32) -> Bool {
        var word = word
        return Glibc.send(channel, &word, 4, Int32(MSG_NOSIGNAL)) == 4
    }

    static func send(byte: UInt8, on channel: Int32) -> Bool {
        var byte = byte
        return Glibc.send(channel, &byte, 1, Int32(MSG_NOSIGNAL)) == 1
    }

    /// `fd` moved to a descriptor above 2 (close-on-exec), or as it is if it is there already.
    static func aboveStandardDescriptors(_ fd: Int32) -> Int32 {
        guard fd >= 0, fd <= 2 else { return fd }
        let moved = fcntl(fd, F_DUPFD_CLOEXEC, 3)
        guard moved >= 0 else { return fd }
        close(fd)
        return moved
    }

    static func receiveWord(on channel: Int32) -> Int32? {
        var word: Int32 = 0
        var got = 0
        while got < 4 {
            let n = withUnsafeMutableBytes(of: &word) { read(channel, $0.baseAddress! + got, 4 - got) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            got += n
        }
        return word
    }

    static func receiveByte(on channel: Int32) -> UInt8? {
        var byte: UInt8 = 0
        while true {
            let n = read(channel, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            return n == 1 ? byte : nil
        }
    }

    /// Parent mode's child: filter, hand-over, exec. The listener goes to the parent through
    /// pidfd_getfd, not SCM_RIGHTS: the filter already stops this process's own sendmsg, which
    /// nobody would answer before the parent holds the listener.
    static func runChild(_ command: [String], channel: Int32, beforeFailing: () -> Void) -> Never {
        let listener = sx_backstop_install()
        guard send(word: listener >= 0 ? listener : -errno, on: channel), listener >= 0 else { _exit(126) }
        guard receiveByte(on: channel) == 1 else { _exit(126) }
        close(listener)  // the supervisor has its copy; the program must not answer its own calls
        close(channel)
        Launcher.exec(command, beforeFailing: beforeFailing)
    }

    enum Taken { case success(Int32), failure(String) }

    static func takeListener(from child: pid_t, channel: Int32) -> Taken {
        guard let word = receiveWord(on: channel) else {
            return .failure("the child exited before installing the filter")
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
        _ = send(byte: listener >= 0 ? 1 : 0, on: channel)
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
        let inline = !supervisor.startAnswering()  // no receiver thread: this one answers
        let childExit = sx_pidfd_open(child)  // readable when the program exits: reap it, or no POLLHUP comes
        var status: Int32? = nil
        var fds = [pollfd(fd: listener, events: inline ? Int16(POLLIN) : 0, revents: 0), pollfd(fd: childExit, events: Int16(POLLIN), revents: 0)]
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
                supervisor.answerOne()
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
