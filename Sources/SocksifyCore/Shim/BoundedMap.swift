import SocksifyLibc

/// A map of at most `capacity` entries, the oldest replaced first, guarded by the process lock:
/// what the shim remembers about sockets and names must stay small in a long-lived program.
public final class BoundedMap<Key: Hashable, Value>: @unchecked Sendable {
    public let capacity: Int
    private var values: [Key: Value] = [:]
    private var order: [Key] = []
    private var oldest = 0

    public init(capacity: Int) { self.capacity = capacity }

    public var isEmpty: Bool {
        sx_lock()
        defer { sx_unlock() }
        return values.isEmpty
    }

    public func set(_ value: Value, for key: Key) {
        sx_lock()
        if values.updateValue(value, forKey: key) == nil {
            if order.count < capacity {
                order.append(key)
            } else {
                values.removeValue(forKey: order[oldest])
                order[oldest] = key
                oldest = (oldest + 1) % capacity
            }
        }
        sx_unlock()
    }

    public func value(for key: Key) -> Value? {
        sx_lock()
        defer { sx_unlock() }
        return values[key]
    }
}
