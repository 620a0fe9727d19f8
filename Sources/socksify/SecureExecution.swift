import Glibc
import SocksifyLibc

/// Whether the kernel will run a binary in secure mode (AT_SECURE), where the loader ignores
/// LD_PRELOAD entries with a slash, as the library's always has. The kernel decides it when the
/// binary is exec'd (security/commoncap.c): secure if the effective user or group it gets differs
/// from the real one we have, or if it gains capabilities while the real user is not root.
enum SecureExecution {
    static func obstacle(_ path: String, _ info: stat) -> PreloadObstacle? {
        let setUID = info.st_mode & S_ISUID != 0 && info.st_uid != getuid()
        // setgid without group execute is a mandatory-locking mark, not setgid
        let setGID = info.st_mode & (S_ISGID | S_IXGRP) == (S_ISGID | S_IXGRP) && info.st_gid != getgid()
        if setUID || setGID { return .setID }
        // For root the kernel grants file capabilities without secure mode (root gains nothing
        // it could not have), so the library loads: refuse only for other users.
        if getuid() != 0 && hasFileCapabilities(path) { return .fileCapabilities }
        return nil
    }

    static func hasFileCapabilities(_ path: String) -> Bool {
        sx_xattr_size(path, "security.capability") > 0
    }
}
