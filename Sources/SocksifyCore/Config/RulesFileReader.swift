import SocksifyLibc

/// Reads rules files (and the files they name) for the launcher, `check`, `explain` and the
/// library alike, with one size limit. A file read only in part would lose its last lines, a
/// `default via` among them, and the program would go direct: past the limit, nobody reads it.
public enum RulesFileReader {
    public static let limit = 4 << 20
    public static let limitText = "4 MiB"

    public enum Outcome: Equatable, Sendable {
        case contents([UInt8])
        /// The size in bytes (for a file that grew while read: what was read, past the limit).
        case tooLarge(Int)
        /// The errno of the failed open or read.
        case unreadable(Int32)

        public var contents: [UInt8]? {
            if case .contents(let bytes) = self { return bytes }
            return nil
        }

        /// The sentence the launcher and the library both print; nil for contents.
        public func problem(_ path: String) -> String? {
            switch self {
            case .contents: return nil
            case .tooLarge(let size):
                return "the rules file " + path + " is larger than " + RulesFileReader.limitText + " (" + String(size)
                    + " bytes), the most socksify reads"
            case .unreadable: return "cannot read the rules file " + path
            }
        }
    }

    /// Through the real libc read, so the shim never sees its own reads.
    public static func read(_ path: String) -> Outcome {
        let fd = sx_open_readonly(path)
        guard fd >= 0 else { return .unreadable(sx_errno()) }
        defer { _ = sx_real_close(fd) }
        let size = Int(sx_file_size(fd))  // -1 for what is not a regular file: read it to its end
        if size > limit { return .tooLarge(size) }
        // One byte more than the size, so the read that finds the end needs no second buffer.
        var buffer = [UInt8](repeating: 0, count: min(max(size, 4096), limit) + 1)
        var total = 0
        while true {
            if total == buffer.count {
                if total > limit { return .tooLarge(total) }
                buffer += repeatElement(0, count: min(buffer.count, limit + 1 - buffer.count))
            }
            let n = buffer.withUnsafeMutableBytes { sx_real_read(fd, $0.baseAddress! + total, $0.count - total) }
            if n == 0 { break }
            if n < 0 {
                if sx_errno() == EINTR { continue }
                return .unreadable(sx_errno())
            }
            total += n
        }
        return .contents(Array(buffer[0..<total]))
    }
}
