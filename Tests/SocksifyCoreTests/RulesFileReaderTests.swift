import Glibc
import Testing
@testable import SocksifyCore

@Suite struct RulesFileReaderTests {
    /// A file of `size` bytes in /tmp ending in a `default` line, removed by the caller.
    func file(size: Int) throws -> String {
        var template = Array("/tmp/socksify-reader-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        try #require(fd >= 0)
        defer { close(fd) }
        let tail = Array("default via p\n".utf8)
        var bytes = [UInt8](repeating: UInt8(ascii: "#"), count: max(0, size - tail.count)) + tail
        bytes = Array(bytes.suffix(size))
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            try #require(n > 0)
            written += n
        }
        return String(cString: template)
    }

    @Test func aFileAtTheLimitIsReadWhole() throws {
        let path = try file(size: RulesFileReader.limit)
        defer { unlink(path) }
        let contents = try #require(RulesFileReader.read(path).contents)
        #expect(contents.count == RulesFileReader.limit)
        #expect(contents.suffix(14) == ArraySlice("default via p\n".utf8), "the last line is there")
        #expect(RulesFileReader.read(path).problem(path) == nil)
    }

    @Test func aByteOverTheLimitIsTooLarge() throws {
        let path = try file(size: RulesFileReader.limit + 1)
        defer { unlink(path) }
        let outcome = RulesFileReader.read(path)
        #expect(outcome == .tooLarge(RulesFileReader.limit + 1))
        #expect(Shim.readFile(path) == nil, "the library's reader is the same")
        let problem = try #require(outcome.problem(path))
        #expect(problem.contains(path) && problem.contains("4 MiB") && problem.contains("4194305 bytes"))
    }

    @Test func smallAndEmptyFiles() throws {
        for size in [0, 1, 4095, 4096, 4097, 70_000] {
            let path = try file(size: size)
            defer { unlink(path) }
            #expect(RulesFileReader.read(path).contents?.count == size, "\(size) bytes")
        }
    }

    @Test func filesWithoutASizeAreReadToTheirEnd() throws {
        // /proc files say 0 bytes; what they hold is read all the same
        let contents = try #require(RulesFileReader.read("/proc/self/status").contents)
        #expect(contents.count > 100 && contents.starts(with: "Name:".utf8))
    }

    @Test func unreadable() {
        #expect(RulesFileReader.read("/nonexistent/socksify.conf") == .unreadable(ENOENT))
        #expect(RulesFileReader.read("/tmp") == .unreadable(EISDIR))
        #expect(RulesFileReader.read("/nonexistent/x").problem("/nonexistent/x") == "cannot read the rules file /nonexistent/x")
    }
}
