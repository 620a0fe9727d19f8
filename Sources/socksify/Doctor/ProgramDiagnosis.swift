import Glibc
import SocksifyCore
import SocksifyLibc

/// Whether socksify can reach a program: the library (a dynamically linked program), the
/// kernel backstop (static, Go, 32-bit), or neither (setuid, file capabilities, another
/// machine, a snap or flatpak sandbox), and what then happens.
enum ProgramDiagnosis {
    static func run(_ program: String, report: DoctorReport) {
        guard let path = ProgramCheck.resolve(program), access(path, X_OK) == 0 else {
            report.section("program \(program)")
            report.add(.problem, "\(program): not found (or not executable) on PATH")
            return
        }
        let resolved = LibraryLocator.absolute(path) ?? path
        report.section("program \(program)" + (resolved == program ? "" : " (\(resolved))"))
        if let sandbox = sandbox(path: path, resolved: resolved) {
            report.add(.problem, sandbox)
            return
        }
        guard let (obstacle, message) = ProgramCheck.obstacle(path) else {
            if let library = LibraryLocator.find() {
                report.add(.ok, "dynamically linked: the library (\(library)) loads into it and carries its connections")
            } else {
                report.add(.problem, "dynamically linked, but the library libsocksify-preload.so is not next to socksify, in ../lib/socksify/ or at $\(LibraryLocator.overrideVariable)")
            }
            return
        }
        guard obstacle.backstopCarries else {
            report.add(.problem, message + "; socksify refuses to start it (exit 126)" + advice(obstacle))
            return
        }
        switch backstopAvailability() {
        case .none:
            let placement = SupervisorPlacement.current == .beside
                ? "beside it: it keeps socksify's pid" : "as its parent (Yama ptrace_scope): it gets a pid of its own"
            report.add(.ok, "\(obstacle.what): the kernel backstop holds its connections (seccomp user notification works here; the supervisor runs \(placement))")
            if Backstop.switchedOff { report.add(.problem, "but $\(Backstop.offVariable) is set: socksify will refuse it (exit 126)") }
        case .some(let why):
            report.add(.problem, message + "; and the kernel backstop is unavailable here (\(why)): socksify refuses to start it (exit 126)")
        }
    }

    /// Snap and flatpak programs start through a confined launcher that a preloaded library
    /// never reaches (snap-confine is setuid root; flatpak's bubblewrap sandbox has neither the
    /// library nor socksify's variables).
    static func sandbox(path: String, resolved: String) -> String? {
        if path.hasPrefix("/snap/") || resolved.hasSuffix("/snap") {
            return "a snap: snap-confine (setuid root) starts it confined, without LD_PRELOAD, and under no_new_privs it could not start at all; socksify cannot reach it: use the program's own proxy setting, or a deb of it"
        }
        if path.contains("/flatpak/exports/bin/") || resolved.hasSuffix("/flatpak") {
            return "a flatpak: its sandbox holds neither the library nor socksify's variables; socksify cannot reach it: use the program's own proxy setting (or flatpak override --env=... for a program that reads ALL_PROXY)"
        }
        return nil
    }

    static func advice(_ obstacle: PreloadObstacle) -> String {
        switch obstacle {
        case .setID, .fileCapabilities:
            return " (the kernel backstop would run it without its privileges): use the program's own proxy setting, or run socksify as root"
        default:
            return ""
        }
    }

    /// Nil when the kernel backstop works here, else why not: a child installs the filter and
    /// this process takes the listener from it with pidfd_getfd, the two steps of the launcher's
    /// own hand-over (kernel 5.9+ for the one, 5.6+ and the right to take another process's
    /// descriptors for the other). The child exits at once: a filter cannot be taken off.
    static func backstopAvailability() -> String? {
        guard sx_backstop_supported() == 0 else { return "seccomp user notification: \(String(cString: strerror(errno)))" }
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            return "socketpair: \(String(cString: strerror(errno)))"
        }
        let child = fork()
        if child == 0 {
            close(pair[0])
            let listener = sx_backstop_install()
            _ = Backstop.send(word: listener >= 0 ? listener : -errno, on: pair[1])
            _ = Backstop.receiveByte(on: pair[1])  // held until the parent has taken the listener
            _exit(0)
        }
        close(pair[1])
        defer {
            close(pair[0])
            var status: Int32 = 0
            if child > 0 { while waitpid(child, &status, 0) < 0 && errno == EINTR {} }
        }
        guard child > 0 else { return "fork: \(String(cString: strerror(errno)))" }
        // The parent placement's own hand-over, as the launcher makes it.
        switch Backstop.takeListener(from: child, channel: pair[0]) {
        case .success(let listener):
            close(listener)
            return nil
        case .failure(let why):
            return why
        }
    }
}
