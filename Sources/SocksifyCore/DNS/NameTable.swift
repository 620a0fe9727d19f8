import SocksifyLibc

/// The name↔position map behind synthetic addresses, in memory shared by every process of one
/// socksify run (a System V segment the launcher creates, attached by each process, see
/// SharedNameMap; or an anonymous shared mapping that forked children inherit). Fixed size: when
/// full, the oldest name is replaced.
///
/// Layout: a 64-byte header (magic, capacity, last allocation number, the run's stamp), a
/// process-shared robust mutex, an open-addressing index of allocation numbers (2 × capacity),
/// then the entries.
/// Allocation numbers only grow; an entry lives in slot `position % capacity`, where `position`
/// is the allocation number modulo the pool size, so an address finds its entry without a search.
public struct NameTable: @unchecked Sendable {
    public static let defaultCapacity = 8192
    static let magic: UInt64 = 0x534B_534E_414D_4532  // "SKSNAME2": a header with a stamp
    static let headerSize = 64
    static let mutexArea = 64
    static let entrySize = 272
    static let maxNameLength = 255
    static let maxProbes = 32

    let base: UnsafeMutableRawPointer
    public let capacity: Int

    public static func byteCount(capacity: Int) -> Int {
        headerSize + mutexArea + 8 * capacity + entrySize * capacity
    }

    /// Writes an empty table into `memory` (zero-filled, `byteCount(capacity:)` bytes), stamped
    /// with the run it belongs to (a process's own map has the empty stamp).
    public static func format(_ memory: UnsafeMutableRawPointer, capacity: Int, stamp: NameMapStamp = NameMapStamp()) -> NameTable {
        precondition(capacity > 0 && capacity & (capacity - 1) == 0, "capacity is a power of two")
        precondition(sx_shared_mutex_size() <= mutexArea)
        _ = sx_shared_mutex_init(memory + headerSize)
        memory.storeBytes(of: UInt32(capacity), toByteOffset: 8, as: UInt32.self)
        memory.storeBytes(of: UInt32(0), toByteOffset: 12, as: UInt32.self)
        memory.storeBytes(of: stamp.token, toByteOffset: 16, as: UInt64.self)
        memory.storeBytes(of: stamp.creatorPid, toByteOffset: 24, as: Int32.self)
        memory.storeBytes(of: stamp.creatorStartTime, toByteOffset: 32, as: UInt64.self)
        memory.storeBytes(of: magic, toByteOffset: 0, as: UInt64.self)
        return NameTable(base: memory, capacity: capacity)
    }

    /// The stamp of the table in `memory` (`size` bytes), or nil if it holds no table.
    public static func stamp(in memory: UnsafeRawPointer, size: Int) -> NameMapStamp? {
        guard size >= headerSize, memory.load(as: UInt64.self) == magic else { return nil }
        return NameMapStamp(token: memory.load(fromByteOffset: 16, as: UInt64.self),
                            creatorPid: memory.load(fromByteOffset: 24, as: Int32.self),
                            creatorStartTime: memory.load(fromByteOffset: 32, as: UInt64.self))
    }

    public var stamp: NameMapStamp { NameTable.stamp(in: base, size: NameTable.headerSize) ?? NameMapStamp() }

    /// A table another process formatted, if `memory` holds one that fits in `size` bytes.
    public static func attach(_ memory: UnsafeMutableRawPointer, size: Int) -> NameTable? {
        guard size >= headerSize, memory.load(as: UInt64.self) == magic else { return nil }
        let capacity = Int(memory.load(fromByteOffset: 8, as: UInt32.self))
        guard capacity > 0, capacity & (capacity - 1) == 0, byteCount(capacity: capacity) <= size else { return nil }
        return NameTable(base: memory, capacity: capacity)
    }

    var indexSlots: Int { 2 * capacity }
    var index: UnsafeMutablePointer<UInt32> {
        (base + NameTable.headerSize + NameTable.mutexArea).bindMemory(to: UInt32.self, capacity: indexSlots)
    }
    func entry(_ slot: Int) -> UnsafeMutableRawPointer {
        base + NameTable.headerSize + NameTable.mutexArea + 4 * indexSlots + NameTable.entrySize * slot
    }
    func slot(ofAllocation number: UInt32, poolSize: UInt32) -> Int { Int(number % poolSize) % capacity }

    func withLock<T>(_ body: () -> T) -> T {
        sx_shared_mutex_lock(base + NameTable.headerSize)
        defer { sx_shared_mutex_unlock(base + NameTable.headerSize) }
        return body()
    }

    /// The pool position for a normalized name: the one it already has, or a new one.
    public func position(for name: [UInt8], poolSize: UInt32) -> UInt32 {
        precondition(!name.isEmpty && name.count <= NameTable.maxNameLength)
        let hash = NameTable.hash(name)
        return withLock {
            var probe = Int(hash) & (indexSlots - 1)
            var free: Int? = nil
            for _ in 0..<NameTable.maxProbes {
                let number = index[probe]
                if number == 0 { if free == nil { free = probe }; break }
                let e = entry(slot(ofAllocation: number, poolSize: poolSize))
                if e.load(as: UInt32.self) != number {
                    if free == nil { free = probe }  // the entry was replaced: a reusable index slot
                } else if e.load(fromByteOffset: 4, as: UInt32.self) == hash && storedName(in: e) == name {
                    return number % poolSize
                }
                probe = (probe + 1) & (indexSlots - 1)
            }
            let number = nextAllocation(poolSize: poolSize)
            let e = entry(slot(ofAllocation: number, poolSize: poolSize))
            e.storeBytes(of: number, as: UInt32.self)
            e.storeBytes(of: hash, toByteOffset: 4, as: UInt32.self)
            e.storeBytes(of: UInt16(name.count), toByteOffset: 8, as: UInt16.self)
            name.withUnsafeBytes { (e + 12).copyMemory(from: $0.baseAddress!, byteCount: name.count) }
            index[free ?? probe] = number
            return number % poolSize
        }
    }

    /// The name at a pool position, if one lives there now.
    public func name(at position: UInt32, poolSize: UInt32) -> [UInt8]? {
        withLock {
            let e = entry(slot(ofAllocation: position, poolSize: poolSize))
            let number = e.load(as: UInt32.self)
            guard number != 0, number % poolSize == position else { return nil }
            return storedName(in: e)
        }
    }

    func storedName(in e: UnsafeMutableRawPointer) -> [UInt8] {
        let length = min(Int(e.load(fromByteOffset: 8, as: UInt16.self)), NameTable.maxNameLength)
        return Array(UnsafeRawBufferPointer(start: e + 12, count: length))
    }

    /// Next allocation number, skipping 0 (the empty mark) and the first and last position of
    /// the pool (a network or broadcast-looking address).
    func nextAllocation(poolSize: UInt32) -> UInt32 {
        var number = base.load(fromByteOffset: 12, as: UInt32.self)
        repeat {
            number &+= 1
        } while number == 0 || number % poolSize == 0 || number % poolSize == poolSize - 1
        base.storeBytes(of: number, toByteOffset: 12, as: UInt32.self)
        return number
    }

    /// FNV-1a.
    static func hash(_ bytes: [UInt8]) -> UInt32 {
        var h: UInt32 = 0x811C_9DC5
        for b in bytes { h = (h ^ UInt32(b)) &* 0x0100_0193 }
        return h
    }
}

/// Which run a shared table belongs to, in its header: the token SOCKSIFY_DNS_MAP names, and the
/// launcher that made it (its pid, which the program it execs keeps, and when that process
/// started, in clock ticks after boot as /proc/PID/stat has it, so a reused pid is not taken for it).
public struct NameMapStamp: Equatable, Sendable {
    public var token: UInt64 = 0
    public var creatorPid: Int32 = 0
    public var creatorStartTime: UInt64 = 0

    public init(token: UInt64 = 0, creatorPid: Int32 = 0, creatorStartTime: UInt64 = 0) {
        self.token = token
        self.creatorPid = creatorPid
        self.creatorStartTime = creatorStartTime
    }
}
