import Glibc
import Testing
@testable import SocksifyCore

/// A small ELF file built field by field: a header, program headers, the segments' bytes,
/// the section names and the section headers, in that order.
struct ElfImage {
    struct Segment {
        var type: Int
        var data: [UInt8] = []
        var align = 4
    }

    var is64Bit = true
    var isBigEndian = false
    var machine = 62
    var segments: [Segment] = []
    var sections: [String] = []

    static let interpreter = Segment(type: 3, data: Array("/lib64/ld-linux-x86-64.so.2\0".utf8), align: 1)

    static func note(_ name: [UInt8], type: Int, description: [UInt8], align: Int = 4, bigEndian: Bool = false) -> [UInt8] {
        var bytes = [UInt8]()
        for value in [name.count, description.count, type] { bytes += field(value, 4, bigEndian) }
        func pad() { while bytes.count % align != 0 { bytes.append(0) } }
        bytes += name
        pad()
        bytes += description
        pad()
        return bytes
    }

    static func field(_ value: Int, _ size: Int, _ bigEndian: Bool) -> [UInt8] {
        let little = (0..<size).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
        return bigEndian ? little.reversed() : little
    }

    func bytes() -> [UInt8] {
        let word = is64Bit ? 8 : 4, headerSize = is64Bit ? 64 : 52, phSize = is64Bit ? 56 : 32, shSize = is64Bit ? 64 : 40
        var out = [UInt8](repeating: 0, count: headerSize + phSize * segments.count)
        func put(_ value: Int, _ size: Int, at: Int) {
            out.replaceSubrange(at..<(at + size), with: ElfImage.field(value, size, isBigEndian))
        }
        out.replaceSubrange(0..<4, with: [0x7F, 0x45, 0x4C, 0x46])
        out[4] = is64Bit ? 2 : 1
        out[5] = isBigEndian ? 2 : 1
        out[6] = 1
        put(2, 2, at: 16)  // ET_EXEC
        put(machine, 2, at: 18)
        put(headerSize, word, at: is64Bit ? 32 : 28)  // e_phoff
        put(phSize, 2, at: is64Bit ? 54 : 42)
        put(segments.count, 2, at: is64Bit ? 56 : 44)
        for (i, segment) in segments.enumerated() {
            let entry = headerSize + i * phSize
            put(segment.type, 4, at: entry)
            put(out.count, word, at: entry + (is64Bit ? 8 : 4))
            put(segment.data.count, word, at: entry + (is64Bit ? 32 : 16))
            put(segment.align, word, at: entry + (is64Bit ? 48 : 28))
            out += segment.data
        }
        guard !sections.isEmpty else { return out }
        // Section 0 is the null section; the names table comes last.
        var names: [UInt8] = [0], nameOffsets: [Int] = [0]
        for name in sections + [".shstrtab"] {
            nameOffsets.append(names.count)
            names += Array(name.utf8) + [0]
        }
        let namesAt = out.count
        out += names
        let tableAt = out.count
        put(tableAt, word, at: is64Bit ? 40 : 32)  // e_shoff
        put(shSize, 2, at: is64Bit ? 58 : 46)
        put(nameOffsets.count, 2, at: is64Bit ? 60 : 48)
        put(nameOffsets.count - 1, 2, at: is64Bit ? 62 : 50)  // e_shstrndx
        out += [UInt8](repeating: 0, count: shSize * nameOffsets.count)
        for (i, nameOffset) in nameOffsets.enumerated() {
            let entry = tableAt + i * shSize
            put(nameOffset, 4, at: entry)
            if i == nameOffsets.count - 1 {
                put(namesAt, word, at: entry + (is64Bit ? 24 : 16))
                put(names.count, word, at: entry + (is64Bit ? 32 : 20))
            }
        }
        return out
    }
}

func elfFacts(_ bytes: [UInt8]) -> ElfFacts? {
    ElfFacts.parse { offset, count in
        guard offset >= 0, offset < bytes.count else { return [] }
        return Array(bytes[offset..<min(bytes.count, offset + count)])
    }
}

@Suite struct ElfFactsTests {
    @Test func dynamicAndStatic64Bit() throws {
        let dynamic = try #require(elfFacts(ElfImage(segments: [ElfImage.interpreter]).bytes()))
        #expect(dynamic == ElfFacts(is64Bit: true, isBigEndian: false, machine: 62, hasInterpreter: true, isGo: false))
        let plain = try #require(elfFacts(ElfImage(segments: [.init(type: 1, data: [1, 2, 3])]).bytes()))
        #expect(!plain.hasInterpreter, "no PT_INTERP: statically linked")
    }

    @Test func thirtyTwoBitStaticOrNot() throws {
        let dynamic = try #require(elfFacts(ElfImage(is64Bit: false, machine: 3, segments: [ElfImage.interpreter]).bytes()))
        #expect(dynamic == ElfFacts(is64Bit: false, isBigEndian: false, machine: 3, hasInterpreter: true, isGo: false))
        let plain = try #require(elfFacts(ElfImage(is64Bit: false, machine: 40).bytes()))
        #expect(!plain.is64Bit && !plain.hasInterpreter && plain.machine == 40)
    }

    @Test func bigEndianFieldsAreReadBigEndian() throws {
        let facts = try #require(elfFacts(ElfImage(isBigEndian: true, machine: 22, segments: [ElfImage.interpreter]).bytes()))
        #expect(facts == ElfFacts(is64Bit: true, isBigEndian: true, machine: 22, hasInterpreter: true, isGo: false))
        let ppc = try #require(elfFacts(ElfImage(is64Bit: false, isBigEndian: true, machine: 20, sections: [".go.buildinfo"]).bytes()))
        #expect(ppc.machine == 20 && ppc.isGo)
    }

    @Test func goBuildIDNote() throws {
        let go = ElfImage.note(Array("Go\0\0".utf8), type: 4, description: Array("abc/def".utf8))
        let gnu = ElfImage.note(Array("GNU\0".utf8), type: 3, description: [UInt8](repeating: 7, count: 20))
        let facts = try #require(elfFacts(ElfImage(segments: [ElfImage.interpreter, .init(type: 4, data: gnu + go)]).bytes()))
        #expect(facts.isGo && facts.hasInterpreter, "the Go note after a GNU one")
        let aligned8 = ElfImage.note(Array("GNU\0".utf8), type: 5, description: [1, 2, 3, 4, 5], align: 8)
            + ElfImage.note(Array("Go\0\0".utf8), type: 4, description: [9], align: 8)
        #expect(elfFacts(ElfImage(segments: [.init(type: 4, data: aligned8, align: 8)]).bytes())?.isGo == true)
        let big = ElfImage.note(Array("Go\0\0".utf8), type: 4, description: [1], bigEndian: true)
        #expect(elfFacts(ElfImage(isBigEndian: true, segments: [.init(type: 4, data: big)]).bytes())?.isGo == true)
    }

    @Test func notesThatAreNotGo() throws {
        for (name, type) in [("GNU\0", 4), ("Go\0\0", 3), ("Gox\0", 4), ("G\0\0\0", 4)] {
            let note = ElfImage.note(Array(name.utf8), type: type, description: [1, 2, 3, 4])
            #expect(elfFacts(ElfImage(segments: [.init(type: 4, data: note)]).bytes())?.isGo == false, "\(name) type \(type)")
        }
    }

    @Test func goSections() throws {
        for names in [[".text", ".go.buildinfo"], [".note.go.buildid"], [".data", ".note.go.buildid", ".bss"]] {
            #expect(elfFacts(ElfImage(sections: names).bytes())?.isGo == true, "\(names)")
            #expect(elfFacts(ElfImage(is64Bit: false, sections: names).bytes())?.isGo == true, "32-bit \(names)")
        }
        for names in [[".text", ".data"], [".go.buildinfox"], [".go.build"], ["x.go.buildinfo"]] {
            #expect(elfFacts(ElfImage(sections: names).bytes())?.isGo == false, "\(names)")
        }
    }

    @Test func notElfOrBrokenHeader() {
        #expect(elfFacts(Array("#!/bin/sh\necho hi\n".utf8)) == nil)
        #expect(elfFacts([]) == nil)
        var bytes = ElfImage().bytes()
        #expect(elfFacts(Array(bytes.prefix(40))) == nil, "cut inside the header")
        #expect(elfFacts(Array(bytes.prefix(60))) == nil, "a 64-bit header needs 64 bytes")
        bytes[4] = 3
        #expect(elfFacts(bytes) == nil, "no such class")
        bytes[4] = 2
        bytes[5] = 0
        #expect(elfFacts(bytes) == nil, "no such byte order")
    }

    @Test func tablesOutOfBoundsCountAsAbsent() throws {
        var bytes = ElfImage(segments: [ElfImage.interpreter], sections: [".go.buildinfo"]).bytes()
        bytes.replaceSubrange(56..<58, with: [0xFF, 0xFF])  // e_phnum: 65535 entries of 56 bytes
        bytes.replaceSubrange(40..<48, with: [0xF0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])  // e_shoff past Int.max
        let facts = try #require(elfFacts(bytes))
        #expect(!facts.hasInterpreter && !facts.isGo)
    }

    @Test func hostileNotesAndNamesDoNotTrap() {
        let huge = ElfImage.field(0x7FFF_FFFF, 4, false) + ElfImage.field(0x7FFF_FFFF, 4, false) + ElfImage.field(4, 4, false)
        #expect(elfFacts(ElfImage(segments: [.init(type: 4, data: huge)]).bytes())?.isGo == false)
        var bytes = ElfImage(sections: [".text"]).bytes()
        bytes.replaceSubrange(62..<64, with: [200, 0])  // e_shstrndx past the table
        #expect(elfFacts(bytes)?.isGo == false)
    }

    @Test func everyPrefixParsesOrNot() {
        let bytes = ElfImage(segments: [ElfImage.interpreter, .init(type: 4, data: ElfImage.note(Array("Go\0\0".utf8), type: 4, description: [1]))],
                             sections: [".go.buildinfo"]).bytes()
        for length in 0...bytes.count { _ = elfFacts(Array(bytes.prefix(length))) }
        #expect(elfFacts(bytes)?.isGo == true)
    }

    @Test func aProgramOnThisMachine() throws {
        let fd = open("/bin/true", O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        let facts = try #require(ElfFacts.parse { offset, count in
            var buffer = [UInt8](repeating: 0, count: count)
            let n = pread(fd, &buffer, count, off_t(offset))
            return n > 0 ? Array(buffer[0..<n]) : []
        })
        #expect(facts.is64Bit && facts.hasInterpreter && !facts.isGo && !facts.isBigEndian)
        #if arch(x86_64)
        #expect(facts.machine == 62)
        #elseif arch(arm64)
        #expect(facts.machine == 183)
        #endif
    }
}
