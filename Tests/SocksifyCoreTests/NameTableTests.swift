import Testing
@testable import SocksifyCore

/// Zeroed memory for a table. Never freed: a table is a view of raw memory, and the few
/// kilobytes each test uses are not worth a lifetime puzzle.
func scratchMemory(capacity: Int) -> (UnsafeMutableRawPointer, Int) {
    let size = NameTable.byteCount(capacity: capacity)
    let memory = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
    memory.initializeMemory(as: UInt8.self, repeating: 0, count: size)
    return (memory, size)
}

func scratchTable(capacity: Int) -> NameTable {
    NameTable.format(scratchMemory(capacity: capacity).0, capacity: capacity)
}

@Suite struct NameTableTests {
    @Test func byteCount() {
        #expect(NameTable.byteCount(capacity: 16) == 64 + 64 + 8 * 16 + 272 * 16)
        #expect(NameTable.byteCount(capacity: NameTable.defaultCapacity) == 64 + 64 + 8 * 8192 + 272 * 8192)
    }

    @Test func formatThenAttach() throws {
        let (memory, size) = scratchMemory(capacity: 64)
        let table = NameTable.format(memory, capacity: 64)
        #expect(table.capacity == 64)
        let attached = try #require(NameTable.attach(memory, size: size))
        #expect(attached.capacity == 64)
    }

    @Test func attachRefusesWhatIsNotATable() {
        let (memory, size) = scratchMemory(capacity: 64)
        #expect(NameTable.attach(memory, size: size) == nil, "zeroed memory has no magic")
        _ = NameTable.format(memory, capacity: 64)
        #expect(NameTable.attach(memory, size: size - 1) == nil, "too small for its capacity")
        #expect(NameTable.attach(memory, size: 63) == nil, "smaller than the header")
        memory.storeBytes(of: UInt32(48), toByteOffset: 8, as: UInt32.self)
        #expect(NameTable.attach(memory, size: size) == nil, "capacity not a power of two")
        memory.storeBytes(of: UInt32(0), toByteOffset: 8, as: UInt32.self)
        #expect(NameTable.attach(memory, size: size) == nil, "capacity 0")
    }

    @Test func stampRoundTrips() throws {
        let (memory, size) = scratchMemory(capacity: 64)
        let stamp = NameMapStamp(token: 0x0123_4567_89AB_CDEF, creatorPid: 4242, creatorStartTime: 987_654_321)
        let table = NameTable.format(memory, capacity: 64, stamp: stamp)
        #expect(table.stamp == stamp)
        #expect(NameTable.stamp(in: memory, size: size) == stamp)
        #expect(try #require(NameTable.attach(memory, size: size)).stamp == stamp)
        #expect(NameTable.stamp(in: memory, size: 63) == nil, "smaller than the header")
    }

    @Test func ownMapsHaveTheEmptyStamp() {
        #expect(scratchTable(capacity: 64).stamp == NameMapStamp())
        let (memory, size) = scratchMemory(capacity: 64)
        #expect(NameTable.stamp(in: memory, size: size) == nil, "no table, no stamp")
    }

    @Test func stampLeavesTheTableAlone() {
        let (memory, _) = scratchMemory(capacity: 64)
        let table = NameTable.format(memory, capacity: 64, stamp: NameMapStamp(token: UInt64.max, creatorPid: -1, creatorStartTime: UInt64.max))
        #expect(table.position(for: ascii("a.example"), poolSize: 256) == 1)
        #expect(table.name(at: 1, poolSize: 256) == ascii("a.example"))
        #expect(table.stamp.token == UInt64.max)
    }

    @Test func firstNamesGetPositionsFromOne() {
        let table = scratchTable(capacity: 64)
        #expect(table.position(for: ascii("a.example"), poolSize: 256) == 1)
        #expect(table.position(for: ascii("b.example"), poolSize: 256) == 2)
        #expect(table.position(for: ascii("a.example"), poolSize: 256) == 1, "same name, same position")
        #expect(table.position(for: ascii("c.example"), poolSize: 256) == 3)
    }

    @Test func nameAtPosition() {
        let table = scratchTable(capacity: 64)
        let position = table.position(for: ascii("example.com"), poolSize: 256)
        #expect(table.name(at: position, poolSize: 256) == ascii("example.com"))
        #expect(table.name(at: position + 1, poolSize: 256) == nil)
        #expect(table.name(at: 0, poolSize: 256) == nil)
        #expect(table.name(at: 255, poolSize: 256) == nil)
    }

    @Test func longestName() {
        let table = scratchTable(capacity: 16)
        let name = [UInt8](repeating: UInt8(ascii: "x"), count: 255)
        let position = table.position(for: name, poolSize: 256)
        #expect(table.name(at: position, poolSize: 256) == name)
        #expect(table.position(for: name, poolSize: 256) == position)
    }

    @Test func positionsSkipTheFirstAndLastOfThePool() {
        let table = scratchTable(capacity: 1024)
        var positions: [UInt32] = []
        for i in 0..<600 { positions.append(table.position(for: ascii("n\(i)"), poolSize: 256)) }
        #expect(!positions.contains(0))
        #expect(!positions.contains(255))
        #expect(Array(positions[0..<254]) == Array(1...254), "the pool's 254 usable positions, in order")
        #expect(positions[254] == 1, "then it wraps, replacing the oldest")
    }

    @Test func wrappingReplacesTheOldestName() {
        let table = scratchTable(capacity: 1024)
        for i in 0..<254 { _ = table.position(for: ascii("n\(i)"), poolSize: 256) }
        #expect(table.name(at: 1, poolSize: 256) == ascii("n0"))
        #expect(table.position(for: ascii("new"), poolSize: 256) == 1)
        #expect(table.name(at: 1, poolSize: 256) == ascii("new"))
        // n0 lost its place; asking again gives it the next one, and n1 goes.
        #expect(table.position(for: ascii("n0"), poolSize: 256) == 2)
        #expect(table.name(at: 2, poolSize: 256) == ascii("n0"))
        #expect(table.position(for: ascii("n5"), poolSize: 256) == 6, "untouched names keep their place")
    }

    @Test func capacitySmallerThanThePool() {
        let table = scratchTable(capacity: 4)
        let first = (1...4).map { table.position(for: ascii("h\($0)"), poolSize: 256) }
        #expect(first == [1, 2, 3, 4])
        for (i, position) in first.enumerated() { #expect(table.name(at: position, poolSize: 256) == ascii("h\(i + 1)")) }
        // A fifth name takes h1's entry (slot 5 % 4 == 1).
        #expect(table.position(for: ascii("h5"), poolSize: 256) == 5)
        #expect(table.name(at: 1, poolSize: 256) == nil)
        #expect(table.name(at: 5, poolSize: 256) == ascii("h5"))
        #expect(table.name(at: 2, poolSize: 256) == ascii("h2"))
        #expect(table.position(for: ascii("h1"), poolSize: 256) == 6)
        #expect(table.position(for: ascii("h3"), poolSize: 256) == 3)
    }

    @Test func manyNamesInTheStandardPool() {
        let table = scratchTable(capacity: NameTable.defaultCapacity)
        let size = AddressPool.standard.size
        var seen: [UInt32: Int] = [:]
        for i in 0..<3000 {
            let position = table.position(for: ascii("host\(i).example.net"), poolSize: size)
            #expect(seen[position] == nil, "distinct names get distinct positions")
            seen[position] = i
        }
        for (position, i) in seen {
            #expect(table.name(at: position, poolSize: size) == ascii("host\(i).example.net"))
            #expect(table.position(for: ascii("host\(i).example.net"), poolSize: size) == position)
        }
    }

    @Test func twoViewsOfOneMemoryShareNames() throws {
        let (memory, size) = scratchMemory(capacity: 64)
        let writer = NameTable.format(memory, capacity: 64)
        let reader = try #require(NameTable.attach(memory, size: size))
        let position = writer.position(for: ascii("shared.example"), poolSize: 1024)
        #expect(reader.name(at: position, poolSize: 1024) == ascii("shared.example"))
        #expect(reader.position(for: ascii("shared.example"), poolSize: 1024) == position)
        #expect(writer.position(for: ascii("other.example"), poolSize: 1024) == position + 1)
    }

    @Test func concurrentLookupsAgree() async {
        let table = scratchTable(capacity: 256)
        let results = await withTaskGroup(of: [UInt32].self) { group in
            for _ in 0..<8 {
                group.addTask { (0..<100).map { table.position(for: ascii("c\($0)"), poolSize: 4096) } }
            }
            var all: [[UInt32]] = []
            for await r in group { all.append(r) }
            return all
        }
        for r in results { #expect(r == results[0]) }
        #expect(Set(results[0]).count == 100)
    }

    @Test func fnv1aHash() {
        #expect(NameTable.hash([]) == 0x811C_9DC5)
        #expect(NameTable.hash(ascii("a")) == 0xE40C_292C)
        #expect(NameTable.hash(ascii("foobar")) == 0xBF9C_F968)
    }
}
