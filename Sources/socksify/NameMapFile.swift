import Glibc
import SocksifyCore
import SocksifyLibc

/// The file that holds one run's name table, so a name resolved by one process (a shell) is
/// known to every process it starts. Named after the launcher's pid, which the program keeps
/// (the launcher execs it); maps whose process is gone are removed by the next run.
enum NameMapFile {
    static let prefix = "socksify-names-"

    static func create() -> String? {
        let folder = directory()
        removeStale(in: folder)
        var random: UInt64 = 0
        arc4random_buf(&random, MemoryLayout<UInt64>.size)
        let path = folder + "/" + prefix + String(getpid()) + "-" + String(random, radix: 16)
        let size = NameTable.byteCount(capacity: NameTable.defaultCapacity)
        guard let memory = sx_map_shared_file(path, size, 1) else { return nil }
        _ = NameTable.format(memory, capacity: NameTable.defaultCapacity)
        munmap(memory, size)
        return path
    }

    /// $XDG_RUNTIME_DIR (private to the user) if usable, else /dev/shm, else /tmp.
    static func directory() -> String {
        for candidate in [Environment.get("XDG_RUNTIME_DIR"), "/dev/shm", "/tmp"] {
            if let candidate, !candidate.isEmpty, access(candidate, W_OK | X_OK) == 0 { return candidate }
        }
        return "/tmp"
    }

    static func removeStale(in folder: String) {
        guard let dir = opendir(folder) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            guard name.hasPrefix(prefix) else { continue }
            let rest = name.dropFirst(prefix.count)
            guard let pidText = rest.split(separator: "-").first, let pid = Int32(pidText) else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH {
                var info = stat()
                let path = folder + "/" + name
                if lstat(path, &info) == 0 && info.st_uid == getuid() { unlink(path) }
            }
        }
    }
}
