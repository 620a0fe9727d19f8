import SocksifyLibc

/// One line per decision on stderr, written with a single write(2) so lines from threads do not
/// interleave; never on stdout, never changing errno.
public struct Log: Sendable {
    public var verbose: Bool
    public var quiet: Bool
    public var program: String

    public init(verbose: Bool, quiet: Bool, program: String) {
        self.verbose = verbose
        self.quiet = quiet
        self.program = program
    }

    /// Decisions that went as planned: only with --verbose.
    /// The text is built only when it is printed: connect is a hot path.
    public func info(_ text: @autoclosure () -> String) { if verbose && !quiet { write(text()) } }
    /// Failures and refusals: always, unless --quiet.
    public func error(_ text: @autoclosure () -> String) { if !quiet { write(text()) } }

    func write(_ text: String) {
        let line = "socksify: " + program + " " + text + "\n"
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { sx_write_stderr($0.baseAddress, $0.count) }
    }

    /// "0.3 ms" from nanoseconds.
    public static func milliseconds(_ nanoseconds: UInt64) -> String {
        let tenths = (nanoseconds + 50_000) / 100_000
        return String(tenths / 10) + "." + String(tenths % 10) + " ms"
    }
}
