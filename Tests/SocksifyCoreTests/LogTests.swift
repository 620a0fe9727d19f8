import Testing
@testable import SocksifyCore

@Suite struct LogTests {
    @Test(arguments: [
        (UInt64(0), "0.0 ms"), (49_999, "0.0 ms"), (50_000, "0.1 ms"), (300_000, "0.3 ms"),
        (949_999, "0.9 ms"), (950_000, "1.0 ms"), (1_000_000, "1.0 ms"), (12_345_678, "12.3 ms"),
        (1_234_567_890, "1234.6 ms"),
    ] as [(UInt64, String)])
    func milliseconds(nanoseconds: UInt64, text: String) {
        #expect(Log.milliseconds(nanoseconds) == text)
    }

    @Test func keepsItsSwitches() {
        let log = Log(verbose: true, quiet: false, program: "curl")
        #expect(log.verbose)
        #expect(!log.quiet)
        #expect(log.program == "curl")
    }

    @Test func aLogFileWantsTheDecisionLinesWithoutPuttingThemOnStderr() {
        let log = Log(verbose: false, quiet: true, program: "curl", toFile: true)
        #expect(log.verbose, "callers build the lines: the file takes them")
        #expect(!log.verboseOnStderr && log.quiet)
        #expect(!Log(verbose: false, quiet: false, program: "curl").verbose)
    }
}
