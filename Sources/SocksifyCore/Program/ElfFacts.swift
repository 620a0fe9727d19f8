/// What the launcher must know about an ELF file to tell whether LD_PRELOAD reaches it: the
/// library is built for one word size, byte order and machine; a file without a dynamic loader
/// (no PT_INTERP) never loads it; a Go program loads it but makes its own system calls.
/// Bytes in, facts out: the caller reads the file, so tests need none.
public struct ElfFacts: Equatable, Sendable {
    public var is64Bit: Bool
    public var isBigEndian: Bool
    /// e_machine: 62 for x86-64, 183 for AArch64, 3 for i386, ...
    public var machine: UInt16
    /// A PT_INTERP program header: the kernel starts the dynamic loader, which reads LD_PRELOAD.
    public var hasInterpreter: Bool
    /// A Go build-id note or a Go section (.go.buildinfo, .note.go.buildid).
    public var isGo: Bool

    public init(is64Bit: Bool, isBigEndian: Bool, machine: UInt16, hasInterpreter: Bool, isGo: Bool) {
        self.is64Bit = is64Bit
        self.isBigEndian = isBigEndian
        self.machine = machine
        self.hasInterpreter = hasInterpreter
        self.isGo = isGo
    }

    /// Reads no more than this at once: a hostile or broken header cannot make us allocate much.
    public static let maximumRead = 1 << 20

    /// `read(offset, count)` gives the bytes at offset (fewer at the end of the file). Nil if
    /// the file is not ELF or its header makes no sense; tables that cannot be read count as
    /// absent (the caller then judges by what it has).
    public static func parse(_ read: (Int, Int) -> [UInt8]) -> ElfFacts? {
        let header = read(0, 64)
        guard header.count >= 52, header[0] == 0x7F, header[1] == 0x45, header[2] == 0x4C, header[3] == 0x46,
              header[4] == 1 || header[4] == 2, header[5] == 1 || header[5] == 2
        else { return nil }
        let layout = Layout(is64Bit: header[4] == 2, isBigEndian: header[5] == 2)
        guard header.count >= layout.headerSize else { return nil }
        var facts = ElfFacts(is64Bit: layout.is64Bit, isBigEndian: layout.isBigEndian,
                             machine: UInt16(truncatingIfNeeded: layout.half(header, 18)),
                             hasInterpreter: false, isGo: false)
        let segments = layout.table(header, read, offsetAt: layout.is64Bit ? 32 : 28, entrySizeAt: layout.is64Bit ? 54 : 42,
                                    minimumEntry: layout.is64Bit ? 56 : 32)
        for entry in segments {
            let type = layout.word32(entry, 0)
            if type == 3 { facts.hasInterpreter = true }  // PT_INTERP
            if type == 4, !facts.isGo {  // PT_NOTE
                let offset = layout.word(entry, layout.is64Bit ? 8 : 4), size = layout.word(entry, layout.is64Bit ? 32 : 16)
                let align = layout.word(entry, layout.is64Bit ? 48 : 28) == 8 ? 8 : 4
                if offset >= 0, size >= 0, size <= 65536 { facts.isGo = hasGoNote(read(offset, size), layout, align: align) }
            }
        }
        if !facts.isGo { facts.isGo = hasGoSection(header, read, layout) }
        return facts
    }

    /// Go's linker writes a note owned by "Go" of type 4 (its build ID).
    static func hasGoNote(_ notes: [UInt8], _ layout: Layout, align: Int) -> Bool {
        var at = 0
        while at + 12 <= notes.count {
            let nameSize = layout.word32(notes, at), descSize = layout.word32(notes, at + 4), type = layout.word32(notes, at + 8)
            let name = at + 12
            guard nameSize <= 256, descSize <= 65536, name + nameSize <= notes.count else { return false }
            if type == 4, nameSize >= 2, notes[name] == 0x47, notes[name + 1] == 0x6F,  // "Go"
               notes[(name + 2)..<(name + nameSize)].allSatisfy({ $0 == 0 }) {
                return true
            }
            at = roundUp(roundUp(name + nameSize, align) + descSize, align)
        }
        return false
    }

    /// Section names, for binaries whose notes were stripped from the segments.
    static func hasGoSection(_ header: [UInt8], _ read: (Int, Int) -> [UInt8], _ layout: Layout) -> Bool {
        let sections = layout.table(header, read, offsetAt: layout.is64Bit ? 40 : 32, entrySizeAt: layout.is64Bit ? 58 : 46,
                                    minimumEntry: layout.is64Bit ? 64 : 40)
        let index = layout.half(header, layout.is64Bit ? 62 : 50)
        guard index < sections.count else { return false }
        let table = sections[index]
        let offset = layout.word(table, layout.is64Bit ? 24 : 16), size = layout.word(table, layout.is64Bit ? 32 : 20)
        guard offset >= 0, size >= 0 else { return false }
        let strings = read(offset, min(size, 65536))
        for section in sections {
            let name = layout.word32(section, 0)
            if matches(strings, at: name, ".go.buildinfo") || matches(strings, at: name, ".note.go.buildid") { return true }
        }
        return false
    }

    static func matches(_ strings: [UInt8], at start: Int, _ name: StaticString) -> Bool {
        let count = name.utf8CodeUnitCount
        guard start >= 0, start + count < strings.count, strings[start + count] == 0 else { return false }
        return name.withUTF8Buffer { wanted in (0..<count).allSatisfy { strings[start + $0] == wanted[$0] } }
    }

    static func roundUp(_ value: Int, _ align: Int) -> Int { (value + align - 1) / align * align }

    /// Field widths and byte order of one ELF flavour.
    struct Layout {
        var is64Bit: Bool
        var isBigEndian: Bool
        var headerSize: Int { is64Bit ? 64 : 52 }

        func bytes(_ data: [UInt8], _ at: Int, _ count: Int) -> Int {
            guard at >= 0, at + count <= data.count else { return 0 }
            var value = 0
            for i in 0..<count {
                let byte = Int(data[at + (isBigEndian ? i : count - 1 - i)])
                value = value << 8 | byte
            }
            return value
        }
        func half(_ data: [UInt8], _ at: Int) -> Int { bytes(data, at, 2) }
        func word32(_ data: [UInt8], _ at: Int) -> Int { bytes(data, at, 4) }
        /// An address or offset: 4 or 8 bytes. Values past Int.max come back negative, and
        /// every caller treats a negative offset as unreadable.
        func word(_ data: [UInt8], _ at: Int) -> Int { bytes(data, at, is64Bit ? 8 : 4) }

        /// The entries of the program or section header table the header points to; none if it
        /// is absent, too large or cut short.
        func table(_ header: [UInt8], _ read: (Int, Int) -> [UInt8], offsetAt: Int, entrySizeAt: Int, minimumEntry: Int) -> [[UInt8]] {
            let offset = word(header, offsetAt), entrySize = half(header, entrySizeAt), count = half(header, entrySizeAt + 2)
            guard offset > 0, entrySize >= minimumEntry, count > 0, entrySize * count <= ElfFacts.maximumRead else { return [] }
            let data = read(offset, entrySize * count)
            guard data.count == entrySize * count else { return [] }
            return (0..<count).map { Array(data[($0 * entrySize)..<(($0 + 1) * entrySize)]) }
        }
    }
}
