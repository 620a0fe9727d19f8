/// Which programs a rule applies to: a glob on the executable's base name, or on its full path
/// when the pattern has a slash.
public struct ProgramPattern: Sendable {
    public var glob: [UInt8]
    public var isPath: Bool { glob.contains(UInt8(ascii: "/")) }
    public init(_ glob: [UInt8]) { self.glob = glob }

    public func matches(_ program: RunningProgram) -> Bool {
        if isPath { return program.paths.contains { Glob.matches(glob, $0) } }
        return program.names.contains { Glob.matches(glob, $0) }
    }
}

/// The program a shim runs in: its executable (/proc/self/exe) and what argv[0] says, each as a
/// full path and a base name, so `curl`, `/usr/bin/curl` and a symlinked name all match.
public struct RunningProgram: Sendable {
    public var paths: [[UInt8]]
    public var names: [[UInt8]]

    public init(executable: [UInt8], argv0: [UInt8]) {
        paths = [executable]
        if argv0.first == UInt8(ascii: "/") && argv0 != executable { paths.append(argv0) }
        names = [RunningProgram.baseName(executable)]
        let argName = RunningProgram.baseName(argv0)
        if !argName.isEmpty && argName != names[0] { names.append(argName) }
    }

    static func baseName(_ path: [UInt8]) -> [UInt8] {
        guard let slash = path.lastIndex(of: UInt8(ascii: "/")) else { return path }
        return Array(path[(slash + 1)...])
    }
}

/// A destination a connection or name lookup is for: an address, and the name when known (a
/// name resolved by the proxy).
public struct RouteTarget: Sendable {
    public var address: IPAddress?
    public var name: [UInt8]?
    public var port: UInt16?
    public init(address: IPAddress? = nil, name: [UInt8]? = nil, port: UInt16? = nil) {
        self.address = address
        self.name = name
        self.port = port
    }
}

/// One item of a rule's `to` list.
public enum DestinationPattern: Sendable {
    case any
    case network(IPAddress, prefix: Int)
    case exactName([UInt8])
    /// `*.example.com`: any name ending in `.example.com`.
    case suffix([UInt8])

    public func matches(_ target: RouteTarget) -> Bool {
        switch self {
        case .any: return true
        case .network(let network, let prefix):
            guard let address = target.address else { return false }
            return DestinationPattern.contains(network, prefix, address)
        case .exactName(let name): return target.name == name
        case .suffix(let tail):
            guard let name = target.name, name.count > tail.count else { return false }
            return name[(name.count - tail.count)...].elementsEqual(tail)
        }
    }

    static func contains(_ network: IPAddress, _ prefix: Int, _ address: IPAddress) -> Bool {
        switch (network, address) {
        case (.v4(let n), .v4(let a)):
            let mask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefix)
            return n.value & mask == a.value & mask
        case (.v4, .v6(let a)):
            guard let v4 = a.mappedIPv4 else { return false }
            return contains(network, prefix, .v4(v4))
        case (.v6(let n), .v6(let a)):
            let highMask: UInt64 = prefix >= 64 ? ~0 : (prefix == 0 ? 0 : ~UInt64(0) << UInt64(64 - prefix))
            let lowMask: UInt64 = prefix <= 64 ? 0 : (prefix == 128 ? ~0 : ~UInt64(0) << UInt64(128 - prefix))
            return n.high & highMask == a.high & highMask && n.low & lowMask == a.low & lowMask
        case (.v6, .v4):
            return false
        }
    }
}

/// Ports as inclusive ranges (a single port is a range of one).
public struct PortSet: Sendable {
    public var ranges: [ClosedRange<UInt16>]
    public init(_ ranges: [ClosedRange<UInt16>]) { self.ranges = ranges }
    public func contains(_ port: UInt16) -> Bool { ranges.contains { $0.contains(port) } }
}
