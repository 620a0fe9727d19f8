import SocksifyLibc

/// Which shared memory segments a new run may remove: name maps of earlier runs that no process
/// uses. A map is in use while any process is attached to it (every process of a run attaches as
/// the library loads, and forked children inherit the attachment), while the launcher that made
/// it runs (from its exec to the program's first attach nobody is attached), and while any
/// process has it in its environment (one between an exec and its attach). Anything else about a
/// segment — another user's, another program's, one this launcher cannot judge — keeps it.
///
/// The facts come from the launcher, cheapest first: what shmctl says about every segment, then,
/// only for an unattached segment of the right shape, its header, its creator and the
/// environments of the running processes.
public enum NameMapCleanup {
    /// A segment touched this recently is left alone: an exec detaches a process before the new
    /// program attaches again, and for a moment the kernel shows neither.
    public static let quietSeconds: Int64 = 2

    public enum Verdict: Sendable {
        /// Not a map of this user's runs (or one this launcher cannot judge), with the reason.
        case notOurs(String)
        /// A map still in use, with the reason.
        case inUse(String)
        /// A map no process uses: remove it.
        case stale
    }

    /// A pid, as /proc shows it.
    public enum ProcessLife: Sendable {
        /// No process has this pid.
        case none
        /// It started this many clock ticks after boot.
        case started(UInt64)
        /// A process has it, but when it started cannot be read.
        case unknown
    }

    /// The verdict on one segment. `stamp` reads its header (nil: no name map there), `creator`
    /// looks up a pid, `named` tells whether a running process has SOCKSIFY_DNS_MAP set to this
    /// map; each is asked only when the answers before it leave the question open.
    public static func verdict(segment: sx_shm_facts, user: UInt32, now: Int64,
                               stamp: () -> NameMapStamp?,
                               creator: (Int32) -> ProcessLife,
                               named: (NameMapReference) -> Bool) -> Verdict {
        if let problem = SharedNameMap.problemWith(segment, user: user) { return .notOurs(problem) }
        guard segment.size == UInt64(SharedNameMap.size) else { return .notOurs("not the size of a name map") }
        guard segment.attachments == 0 else { return .inUse(String(segment.attachments) + " processes attached") }
        let lastUse = max(segment.attach_time, segment.detach_time, segment.change_time)
        guard now - lastUse >= quietSeconds else { return .inUse("used in the last seconds") }
        guard let stamp = stamp(), stamp.token != 0 else { return .notOurs("holds no socksify name map") }
        guard stamp.creatorPid == segment.creator_pid else { return .notOurs("made by another process than its header says") }
        switch creator(stamp.creatorPid) {
        case .started(let ticks) where ticks == stamp.creatorStartTime:
            return .inUse("the process that made it (pid " + String(stamp.creatorPid) + ") still runs")
        case .unknown:
            return .inUse("pid " + String(stamp.creatorPid) + " exists and cannot be looked at")
        case .none, .started:
            break
        }
        if named(NameMapReference(segment: segment.id, token: stamp.token)) {
            return .inUse("a running process has it in its environment")
        }
        return .stale
    }

    static let entryPrefix: [UInt8] = Array((SharedNameMap.environmentVariable + "=").utf8)

    /// The maps a process's environment names: the SOCKSIFY_DNS_MAP entries of
    /// /proc/PID/environ (entries separated by NUL bytes).
    public static func maps(namedIn environment: [UInt8]) -> [NameMapReference] {
        var found: [NameMapReference] = []
        for entry in environment.split(separator: 0, omittingEmptySubsequences: true) {
            guard entry.count > entryPrefix.count, Array(entry.prefix(entryPrefix.count)) == entryPrefix else { continue }
            if let reference = NameMapReference.parse(HostName.string(Array(entry.dropFirst(entryPrefix.count)))) {
                found.append(reference)
            }
        }
        return found
    }

    /// When a process started (field 22 of /proc/PID/stat, clock ticks after boot). The second
    /// field, the command name, is in parentheses and may hold spaces and parentheses itself:
    /// the fields are counted from the last ')'.
    public static func startTime(fromStat text: [UInt8]) -> UInt64? {
        guard let close = text.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = text[(close + 1)...].split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true)
        // fields[0] is field 3 (the state): field 22 is fields[19].
        guard fields.count > 19 else { return nil }
        let digits = fields[19]
        guard !digits.isEmpty, digits.count <= 19 else { return nil }
        var value: UInt64 = 0
        for d in digits {
            guard d >= UInt8(ascii: "0"), d <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + UInt64(d - UInt8(ascii: "0"))
        }
        return value
    }
}
