import Glibc
import SocksifyCore

/// Where the kernel backstop's supervisor runs. Beside the program, the program keeps the
/// launcher's process (its pid, its parent, its exit status) as without socksify. That needs the
/// supervisor to read the memory and take the descriptors of every process of the run, which
/// Yama's `ptrace_scope` 1 allows only to an ancestor: there the supervisor is the parent.
enum SupervisorPlacement: Equatable {
    case beside
    case parent

    /// "parent" or "beside" forces one (tests; a system whose security module refuses one).
    static let variable = "SOCKSIFY_SUPERVISOR"

    static var current: SupervisorPlacement {
        switch Environment.get(variable) {
        case "parent": return .parent
        case "beside": return .beside
        default:
            // As a namespace's init, the launcher would inherit the orphaned supervisor as the
            // program's child, and an init that waits for all its children would wait for it.
            if getpid() == 1 { return .parent }
            return placement(forPtraceScope: Shim.readFile("/proc/sys/kernel/yama/ptrace_scope"))
        }
    }

    /// No Yama (no file) or its scope 0: beside; anything stricter: parent.
    static func placement(forPtraceScope scope: [UInt8]?) -> SupervisorPlacement {
        guard let scope else { return .beside }
        return scope.first == UInt8(ascii: "0") ? .beside : .parent
    }
}
