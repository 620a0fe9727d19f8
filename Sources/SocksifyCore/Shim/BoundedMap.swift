import SocksifyLibc

/// A key BoundedMap can find without Swift's Hasher: in the library (Embedded Swift) every
/// Hasher asks the kernel for a random seed, a getrandom(2) per lookup on the connect path.
public protocol BoundedMapKey: Equatable {
    /// Any well-mixed 64 bits; equal keys give equal values.
    var mixedBits: UInt64 { get }
}

/// A map of at most `capacity` entries, the oldest replaced first, guarded by the process lock:
/// what the shim remembers about sockets and names must stay small in a long-lived program.
/// Entries live in a ring (oldest first out); buckets of ring positions find them.
public final class BoundedMap<Key: BoundedMapKey, Value>: @unchecked Sendable {
    public let capacity: Int
    private var keys: [Key] = []
    private var values: [Value] = []
    private var buckets: [[Int32]]
    private var oldest = 0

    /// The most buckets the map grows to (half the capacity, a power of two). It starts with
    /// few and doubles as entries come: a process that proxies a handful of sockets does not
    /// carry pages of empty buckets.
    private let mostBuckets: Int

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
        var count = 1
        while count < self.capacity / 2 { count <<= 1 }
        mostBuckets = count
        buckets = [[Int32]](repeating: [], count: min(count, 16))
    }

    /// Twice the buckets, every entry placed again. Under the lock.
    private func grow() {
        buckets = [[Int32]](repeating: [], count: buckets.count * 2)
        for slot in keys.indices { buckets[bucket(of: keys[slot])].append(Int32(slot)) }
    }

    public var isEmpty: Bool {
        sx_lock()
        defer { sx_unlock() }
        return keys.isEmpty
    }

    public func set(_ value: Value, for key: Key) {
        sx_lock()
        defer { sx_unlock() }
        let bucket = self.bucket(of: key)
        if let slot = find(key, in: bucket) {
            values[slot] = value
            return
        }
        let slot: Int
        if keys.count < capacity {
            slot = keys.count
            keys.append(key)
            values.append(value)
            if keys.count > buckets.count * 2 && buckets.count < mostBuckets {
                grow()
                return  // grow placed the new entry too
            }
        } else {
            slot = oldest
            oldest = (oldest + 1) % capacity
            let evicted = self.bucket(of: keys[slot])
            buckets[evicted].removeAll { $0 == Int32(slot) }
            keys[slot] = key
            values[slot] = value
        }
        buckets[bucket].append(Int32(slot))
    }

    public func value(for key: Key) -> Value? {
        sx_lock()
        defer { sx_unlock() }
        return find(key, in: bucket(of: key)).map { values[$0] }
    }

    /// The first entry (oldest first) that `match` accepts: for rare lookups by value.
    public func first(where match: (Key, Value) -> Bool) -> (Key, Value)? {
        sx_lock()
        defer { sx_unlock() }
        for i in keys.indices where match(keys[i], values[i]) { return (keys[i], values[i]) }
        return nil
    }

    private func bucket(of key: Key) -> Int {
        // Fibonacci hashing spreads even poorly mixed bits (inode numbers) over the buckets.
        Int(truncatingIfNeeded: (key.mixedBits &* 0x9E37_79B9_7F4A_7C15) >> 32) & (buckets.count - 1)
    }

    private func find(_ key: Key, in bucket: Int) -> Int? {
        for slot in buckets[bucket] where keys[Int(slot)] == key { return Int(slot) }
        return nil
    }
}

extension UInt64: BoundedMapKey {
    public var mixedBits: UInt64 { self }
}

extension Int: BoundedMapKey {
    public var mixedBits: UInt64 { UInt64(bitPattern: Int64(self)) }
}

extension IPAddress: BoundedMapKey {
    public var mixedBits: UInt64 {
        switch self {
        case .v4(let a): return UInt64(a.value)
        case .v6(let a): return a.high ^ (a.low &* 0xFF51_AFD7_ED55_8CCD) ^ 0x6
        }
    }
}
