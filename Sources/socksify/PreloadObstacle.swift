/// Why LD_PRELOAD cannot reach a program, in words: what the file is, and what that does to
/// the library.
enum PreloadObstacle: Equatable {
    case staticallyLinked
    /// The kernel will run it in secure mode (AT_SECURE), where the loader ignores LD_PRELOAD.
    case setID
    case fileCapabilities
    /// `machine`: the program's ELF machine (3: i386, which an x86-64 kernel runs natively).
    case wordSize(bits: Int, ours: Int, machine: UInt16)
    case otherMachine(ElfIdentity, ours: ElfIdentity)
    case go

    /// "is statically linked", to follow a file's name.
    var what: String {
        switch self {
        case .staticallyLinked: return "is statically linked"
        case .setID: return "is setuid/setgid"
        case .fileCapabilities: return "has file capabilities"
        case .wordSize(let bits, _, _): return "is a \(bits)-bit program"
        case .otherMachine(let theirs, _): return "is built for another machine (\(theirs))"
        case .go: return "is a Go program"
        }
    }

    /// The kernel backstop can hold it: no_new_privs takes nothing from it. (A setuid program
    /// would run without its privileges; one built for another machine makes no x86-64 calls.)
    var backstopCarries: Bool {
        switch self {
        case .staticallyLinked, .go: return true
        // i386 on x86-64: its socket calls are stopped (and refused in step 1). Other 32-bit
        // machines run only under an emulator, whose calls are not the program's.
        case .wordSize(_, _, let machine): return machine == 3 && ProgramFile.ownFacts?.machine == 62
        case .setID, .fileCapabilities, .otherMachine: return false
        }
    }

    var why: String {
        switch self {
        case .staticallyLinked: return "LD_PRELOAD cannot reach it"
        case .setID: return "the loader ignores LD_PRELOAD for it"
        case .fileCapabilities: return "the loader runs it in secure mode and ignores LD_PRELOAD"
        case .wordSize(_, let ours, _): return "the \(ours)-bit socksify library cannot load into it"
        case .otherMachine(_, let ours): return "the socksify library (\(ours)) cannot load into it"
        case .go: return "it makes its own system calls, which LD_PRELOAD cannot see"
        }
    }
}

/// An ELF file's machine and byte order, named for people.
struct ElfIdentity: Equatable, CustomStringConvertible {
    var machine: UInt16
    var isBigEndian: Bool

    var description: String {
        let names: [UInt16: String] = [
            3: "i386", 8: "MIPS", 20: "PowerPC", 21: "PowerPC 64", 22: "s390", 40: "ARM", 62: "x86-64",
            183: "AArch64", 243: "RISC-V", 258: "LoongArch",
        ]
        let name = names[machine] ?? "ELF machine \(machine)"
        return name + (isBigEndian ? ", big-endian" : ", little-endian")
    }
}
