import SocksifyLibc

/// One line per decision on stderr, written with a single write(2) so lines from threads do not
/// interleave; never on stdout, never changing errno. With a log file (SOCKSIFY_LOG) every line,
/// the decisions that went as planned too, is also appended there with the process id.
public struct Log: Sendable {
    /// Whether the decisions that went as planned are written anywhere (stderr with --verbose,
    /// or a log file): callers skip building those lines otherwise.
    public var verbose: Bool
    /// --verbose: they go to stderr too.
    public var verboseOnStderr: Bool
    public var quiet: Bool
    public var program: String

    public init(verbose: Bool, quiet: Bool, program: String, toFile: Bool = false) {
        self.verbose = verbose || toFile
        verboseOnStderr = verbose
        self.quiet = quiet
        self.program = program
    }

    /// Decisions that went as planned: only with --verbose.
    /// The text is built only when it is printed: connect is a hot path.
    public func info(_ text: @autoclosure () -> String) {
        guard verbose else { return }  // one load on the connect path: nobody wants the line
        write(text(), toStderr: verboseOnStderr && !quiet)
    }
    /// Failures and refusals: always, unless --quiet.
    public func error(_ text: @autoclosure () -> String) {
        if !quiet || Log.fileOpen { write(text(), toStderr: !quiet) }
    }

    /// Whether a log file is open (one load).
    static var fileOpen: Bool { sx_log_enabled() != 0 }

    func write(_ text: String, toStderr: Bool = true) {
        if toStderr {
            var bytes = Array(("socksify: " + program + " " + text + "\n").utf8)
            bytes.withUnsafeMutableBytes { sx_write_stderr($0.baseAddress, $0.count) }
        }
        if Log.fileOpen {
            var bytes = Array(("socksify[" + String(sx_getpid()) + "]: " + program + " " + text + "\n").utf8)
            bytes.withUnsafeMutableBytes { sx_log_write($0.baseAddress, $0.count) }
        }
    }

    /// "0.3 ms" from nanoseconds.
    public static func milliseconds(_ nanoseconds: UInt64) -> String {
        let tenths = (nanoseconds + 50_000) / 100_000
        return String(tenths / 10) + "." + String(tenths % 10) + " ms"
    }
}
