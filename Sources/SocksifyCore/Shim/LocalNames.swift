/// Names this process resolved through libc (locally), by the addresses libc gave, so a rule
/// such as `to *.corp.example via corp` still matches when the program connects to the
/// address. Bounded: the oldest entries go first.
public final class LocalNames: @unchecked Sendable {
    private let names: BoundedMap<IPAddress, [UInt8]>

    public init(capacity: Int = 1024) { names = BoundedMap(capacity: capacity) }

    public func note(_ name: [UInt8], for address: IPAddress) { names.set(name, for: address) }
    public func name(of address: IPAddress) -> [UInt8]? { names.value(for: address) }
}
