import Glibc
import SocksifyCore
import SocksifyLibc

/// What `socksify doctor` found: one line per finding, printed as it is found, then a verdict.
/// Only `problem` lines make the exit status non-zero: they are what the run needs and lacks.
final class DoctorReport {
    enum Level {
        case ok
        /// Works, but worth knowing (a proxy that may not do what the rules could ask of it).
        case warning
        /// Something the run needs does not work.
        case problem
        /// A fact, neither good nor bad (what the proxy offers beyond what is needed).
        case note

        var tag: String {
            switch self {
            case .ok: return "ok  "
            case .warning: return "warn"
            case .problem: return "FAIL"
            case .note: return "  - "
            }
        }
    }

    private(set) var problems: [String] = []
    private(set) var warnings = 0

    private var section = ""

    func section(_ title: String) {
        section = title
        emit(title)
    }

    func add(_ level: Level, _ text: String) {
        if level == .problem { problems.append(section.isEmpty ? text : section + ": " + text) }
        if level == .warning { warnings += 1 }
        emit("  " + level.tag + "  " + text)
    }

    /// The last line, and the exit status: 0 only when nothing needed failed.
    func finish() -> Int32 {
        if problems.isEmpty {
            emit(warnings == 0 ? "verdict: ok, everything checked works" : "verdict: ok, with \(warnings) warning\(warnings == 1 ? "" : "s") above")
            return 0
        }
        emit("verdict: \(problems.count) problem\(problems.count == 1 ? "" : "s"): " + problems.joined(separator: "; "))
        return 1
    }

    private func emit(_ line: String) {
        var bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeMutableBytes { write(1, $0.baseAddress, $0.count) }
    }
}

/// Milliseconds on the monotonic clock, for "in 0.4 ms".
struct Stopwatch {
    let start = RealKernel.shared.monotonicNanoseconds()
    var milliseconds: String {
        let elapsed = Double(RealKernel.shared.monotonicNanoseconds() - start) / 1_000_000
        let tenths = Int((elapsed * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) ms"
    }
}
