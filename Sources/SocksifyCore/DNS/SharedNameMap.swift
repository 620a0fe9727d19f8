import SocksifyLibc

/// A run's shared name map: a System V shared memory segment (`shmget(IPC_PRIVATE, …, 0600)`)
/// that the launcher creates and every process of the run attaches, named by SOCKSIFY_DNS_MAP.
///
/// A segment has no file: nobody can truncate it under the processes using it (a mapped file
/// that shrinks kills them with SIGBUS), and removing it (`ipcrm`) only marks it, so it lives on
/// until the last process detaches. The kernel counts the processes attached (`shm_nattch`),
/// which is what tells a later run whether the map is still in use (NameMapCleanup).
public enum SharedNameMap {
    public static let capacity = NameTable.defaultCapacity
    /// The environment variable that names the run's map (`sysv:ID:TOKEN`).
    public static let environmentVariable = "SOCKSIFY_DNS_MAP"
    public static var size: Int { NameTable.byteCount(capacity: capacity) }

    public enum Attachment {
        case attached(NameTable)
        /// Why the map cannot be used, for the log.
        case failed(String)
    }

    /// Attaches the segment `reference` names, if it is this run's map: made by this user for
    /// this user alone, large enough, holding a table with the run's token. Attached first and
    /// checked after, so the segment checked is the one attached (an identifier is not given to
    /// another segment while someone is attached).
    public static func attach(_ reference: NameMapReference) -> Attachment {
        let id = reference.segment
        guard let memory = sx_shm_attach(id, 0) else {
            let error = sx_errno()
            switch error {
            case EINVAL, EIDRM:
                return .failed("there is no shared memory segment " + String(id) + " here: it was removed, its run has ended, or this process is in another IPC namespace")
            case EACCES:
                return .failed("shared memory segment " + String(id) + " is not this user's")
            default:
                return .failed("cannot attach shared memory segment " + String(id) + ": " + ErrnoName.describe(error))
            }
        }
        var facts = sx_shm_facts()
        var problem: String? = nil
        var table: NameTable? = nil
        if sx_shm_facts_of(id, &facts) != 0 {
            problem = "cannot look at shared memory segment " + String(id) + ": " + ErrnoName.describe(sx_errno())
        } else if let wrong = problemWith(facts, user: UInt32(geteuid())) {
            problem = wrong
        } else if let found = NameTable.attach(memory, size: Int(facts.size)) {
            if found.stamp.token == reference.token {
                table = found
            } else {
                problem = "shared memory segment " + String(id) + " holds the name map of another run"
            }
        } else {
            problem = "shared memory segment " + String(id) + " holds no socksify name map"
        }
        guard let table else {
            _ = sx_shm_detach(memory)
            return .failed(problem ?? "")
        }
        return .attached(table)
    }

    /// Why a segment cannot be a map of this user's runs, or nil if it can: socksify makes its
    /// maps without a key, owned by and readable only by the user, and of one size.
    public static func problemWith(_ facts: sx_shm_facts, user: UInt32) -> String? {
        let id = String(facts.id)
        if facts.owner_uid != user || facts.creator_uid != user {
            return "shared memory segment " + id + " belongs to user " + String(facts.owner_uid) + ", not to this user (" + String(user) + ")"
        }
        if facts.mode & 0o777 != 0o600 {
            return "shared memory segment " + id + " is open to other users (mode " + String(facts.mode & 0o777, radix: 8) + ")"
        }
        if facts.key != 0 {
            return "shared memory segment " + id + " has a key: socksify did not make it"
        }
        if facts.size < UInt64(size) {
            return "shared memory segment " + id + " is too small for a name map (" + String(facts.size) + " bytes)"
        }
        return nil
    }

    public enum Creation {
        /// The new map, still attached to the caller (until it execs or exits).
        case created(NameMapReference)
        case failed(String)
    }

    /// A new, empty map for a run, stamped with `stamp` (whose token the reference carries).
    public static func create(stamp: NameMapStamp) -> Creation {
        let id = sx_shm_create(size)
        guard id >= 0 else {
            return .failed("cannot create a shared memory segment: " + ErrnoName.describe(sx_errno()))
        }
        guard let memory = sx_shm_attach(id, 0) else {
            let error = sx_errno()
            _ = sx_shm_remove(id)
            return .failed("cannot attach the new shared memory segment " + String(id) + ": " + ErrnoName.describe(error))
        }
        _ = NameTable.format(memory, capacity: capacity, stamp: stamp)
        return .created(NameMapReference(segment: id, token: stamp.token))
    }

    /// Marks the segment for removal: it goes when the last process detaches.
    public static func remove(_ reference: NameMapReference) {
        _ = sx_shm_remove(reference.segment)
    }
}

/// The run's name map as the library attached it when it loaded (see sx_core_hold_name_map):
/// from then on the kernel counts this process, and the children it forks, as using the map.
public struct HeldNameMap {
    public let reference: NameMapReference
    public let attachment: SharedNameMap.Attachment

    public init(reference: NameMapReference, attachment: SharedNameMap.Attachment) {
        self.reference = reference
        self.attachment = attachment
    }

    /// Attaches the map SOCKSIFY_DNS_MAP names, if it names one.
    public static func hold(_ value: String?) -> HeldNameMap? {
        guard let value, let reference = NameMapReference.parse(value) else { return nil }
        return HeldNameMap(reference: reference, attachment: SharedNameMap.attach(reference))
    }
}
