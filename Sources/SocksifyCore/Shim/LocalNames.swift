import SocksifyLibc

/// Names this process resolved through libc (locally), by the addresses libc gave, so a rule
/// such as `to *.corp.example via corp` still matches when the program connects to the
/// address. Bounded: the oldest entries go first.
public final class LocalNames: @unchecked Sendable {
    public let capacity: Int
    private var names: [IPAddress: [UInt8]] = [:]
    private var order: [IPAddress] = []
    private var oldest = 0

    public init(capacity: Int = 1024) { self.capacity = capacity }

    public func note(_ name: [UInt8], for address: IPAddress) {
        sx_lock()
        if names.updateValue(name, forKey: address) == nil {
            if order.count < capacity {
                order.append(address)
            } else {
                names.removeValue(forKey: order[oldest])
                order[oldest] = address
                oldest = (oldest + 1) % capacity
            }
        }
        sx_unlock()
    }

    public func name(of address: IPAddress) -> [UInt8]? {
        sx_lock()
        defer { sx_unlock() }
        return names[address]
    }
}
