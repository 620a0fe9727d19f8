import Glibc
import SocksifyCore

/// What one file is, for LD_PRELOAD: a script whose interpreter decides, a binary the library
/// cannot reach (and why), or neither.
enum ProgramFile {
    enum Verdict {
        case reachable
        case blocked(PreloadObstacle)
        case script(Shebang)
    }

    static func inspect(_ path: String) -> Verdict {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return .reachable }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        defer { if fd >= 0 { close(fd) } }
        // The kernel ignores setuid bits and capabilities on a script: its interpreter's count.
        if fd >= 0, let shebang = Shebang.parse(read(fd, 0, Shebang.lineLimit)) { return .script(shebang) }
        if let obstacle = SecureExecution.obstacle(path, info) { return .blocked(obstacle) }
        // An execute-only binary cannot be read: nothing more to tell, so let it run.
        guard fd >= 0, let facts = ElfFacts.parse({ read(fd, $0, $1) }) else { return .reachable }
        return obstacle(facts).map { .blocked($0) } ?? .reachable
    }

    static func obstacle(_ facts: ElfFacts) -> PreloadObstacle? {
        if let ours = ownFacts {
            if facts.is64Bit != ours.is64Bit {
                return .wordSize(bits: facts.is64Bit ? 64 : 32, ours: ours.is64Bit ? 64 : 32, machine: facts.machine)
            }
            if facts.machine != ours.machine || facts.isBigEndian != ours.isBigEndian {
                return .otherMachine(ElfIdentity(machine: facts.machine, isBigEndian: facts.isBigEndian),
                                     ours: ElfIdentity(machine: ours.machine, isBigEndian: ours.isBigEndian))
            }
        }
        if facts.isGo { return .go }
        if !facts.hasInterpreter { return .staticallyLinked }
        return nil
    }

    /// The machine, word size and byte order the launcher (and the library, built with it) is
    /// compiled for. Known at build time, so the launch reads no header of its own; nil on a
    /// machine not named here, where only the other checks apply.
    static let ownFacts: ElfFacts? = ownMachine.map {
        ElfFacts(is64Bit: MemoryLayout<Int>.size == 8, isBigEndian: 1.bigEndian == 1, machine: $0, hasInterpreter: true, isGo: false)
    }

    /// e_machine of the machine this is built for.
    static var ownMachine: UInt16? {
        #if arch(x86_64)
        return 62
        #elseif arch(arm64)
        return 183
        #elseif arch(i386)
        return 3
        #elseif arch(arm)
        return 40
        #elseif arch(riscv64)
        return 243
        #elseif arch(s390x)
        return 22
        #else
        return nil
        #endif
    }

    /// Up to `count` bytes at `offset` (fewer at the end of the file).
    static func read(_ fd: Int32, _ offset: Int, _ count: Int) -> [UInt8] {
        guard offset >= 0, count > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: count)
        var total = 0
        while total < count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + total, count - total, off_t(offset + total)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            total += n
        }
        return Array(bytes[0..<total])
    }
}
