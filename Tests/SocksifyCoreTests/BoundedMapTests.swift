import Testing
@testable import SocksifyCore

@Suite struct BoundedMapTests {
    @Test func emptyMap() {
        let map = BoundedMap<Int, String>(capacity: 4)
        #expect(map.capacity == 4)
        #expect(map.isEmpty)
        #expect(map.value(for: 1) == nil)
    }

    @Test func setAndGet() {
        let map = BoundedMap<Int, String>(capacity: 4)
        map.set("one", for: 1)
        map.set("two", for: 2)
        #expect(!map.isEmpty)
        #expect(map.value(for: 1) == "one")
        #expect(map.value(for: 2) == "two")
        #expect(map.value(for: 3) == nil)
        map.set("uno", for: 1)
        #expect(map.value(for: 1) == "uno")
    }

    @Test func oldestGoesFirst() {
        let map = BoundedMap<Int, Int>(capacity: 3)
        for k in 1...3 { map.set(k * 10, for: k) }
        map.set(40, for: 4)
        #expect(map.value(for: 1) == nil)
        #expect([2, 3, 4].map { map.value(for: $0) } == [20, 30, 40])
        // Updating does not make an entry younger.
        map.set(21, for: 2)
        map.set(50, for: 5)
        #expect(map.value(for: 2) == nil)
        #expect([3, 4, 5].map { map.value(for: $0) } == [30, 40, 50])
        map.set(60, for: 6)
        map.set(70, for: 7)
        #expect([3, 4].map { map.value(for: $0) } == [nil, nil])
        #expect([5, 6, 7].map { map.value(for: $0) } == [50, 60, 70])
    }

    @Test func capacityOne() {
        let map = BoundedMap<Int, Int>(capacity: 1)
        map.set(1, for: 11)
        map.set(2, for: 12)
        #expect(map.value(for: 11) == nil)
        #expect(map.value(for: 12) == 2)
        map.set(3, for: 12)
        #expect(map.value(for: 12) == 3)
    }

    @Test func ipAddressKeys() {
        // How LocalNames uses it.
        let names = LocalNames(capacity: 2)
        names.note(ascii("a.example"), for: ip("10.0.0.1"))
        names.note(ascii("b.example"), for: ip("::1"))
        #expect(names.name(of: ip("10.0.0.1")) == ascii("a.example"))
        #expect(names.name(of: ip("::1")) == ascii("b.example"))
        #expect(names.name(of: ip("::ffff:10.0.0.1")) == nil)
        names.note(ascii("c.example"), for: ip("10.0.0.2"))
        #expect(names.name(of: ip("10.0.0.1")) == nil)
    }

    @Test func concurrentUse() async {
        let map = BoundedMap<Int, Int>(capacity: 64)
        await withTaskGroup(of: Void.self) { group in
            for k in 0..<64 {
                group.addTask {
                    for round in 0..<50 { map.set(round, for: k) }
                }
            }
        }
        for k in 0..<64 { #expect(map.value(for: k) == 49) }
    }
}

@Suite struct BoundedMapManyTests {
    /// Many keys that share buckets, with eviction: every held key is found, every evicted one not.
    @Test func manyKeysWithEviction() {
        let map = BoundedMap<UInt64, UInt64>(capacity: 100)
        for key in UInt64(0)..<1000 { map.set(key * 2, for: key << 20) }
        for key in UInt64(0)..<1000 {
            #expect(map.value(for: key << 20) == (key >= 900 ? key * 2 : nil))
        }
        map.set(7, for: 999 << 20)
        #expect(map.value(for: 999 << 20) == 7)
        #expect(map.value(for: 900 << 20) == 1800)
    }

    /// The buckets grow with the entries (from 16 to half the capacity): every key is still
    /// found after each doubling, and the oldest are still the first replaced once full.
    @Test func findsEveryKeyAcrossGrowth() {
        let map = BoundedMap<Int, Int>(capacity: 1000)
        for i in 0..<1000 { map.set(i * 7, for: i) }
        for i in 0..<1000 { #expect(map.value(for: i) == i * 7) }
        map.set(-1, for: 5000)
        #expect(map.value(for: 0) == nil, "full: the oldest went")
        #expect(map.value(for: 5000) == -1 && map.value(for: 999) == 999 * 7)
    }
}
