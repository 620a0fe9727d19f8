import Glibc
import SocksifyCore
import SocksifyLibc

/// The launcher's side of the run's shared name map (SocksifyCore/DNS/SharedNameMap.swift):
/// make one for this run, after removing those of earlier runs that no process uses any more.
enum NameMapSegments {
    enum Outcome {
        case created(NameMapReference)
        /// Why there is no shared map (each process then keeps its own).
        case failed(String)
    }

    /// A new map, stamped with a random token and this process (the program keeps its pid when
    /// the launcher execs it). The launcher stays attached until its exec.
    static func create() -> Outcome {
        if readFile("/proc/sys/kernel/shm_rmid_forced", limit: 16).map({ $0.first == UInt8(ascii: "1") }) == true {
            return .failed("kernel.shm_rmid_forced=1 would remove it whenever no process is attached, as between two programs")
        }
        removeStale()
        var token: UInt64 = 0
        while token == 0 { arc4random_buf(&token, MemoryLayout<UInt64>.size) }
        let stamp = NameMapStamp(token: token, creatorPid: getpid(), creatorStartTime: startTime(of: getpid()) ?? 0)
        switch SharedNameMap.create(stamp: stamp) {
        case .created(let reference): return .created(reference)
        case .failed(let why): return .failed(why)
        }
    }

    /// Removes the maps of earlier runs of this user that no process uses (NameMapCleanup).
    static func removeStale() {
        let highest = sx_shm_highest_index()
        guard highest >= 0 else { return }
        let user = UInt32(geteuid())
        let now = Int64(time(nil))
        var named: [NameMapReference]? = nil  // read from /proc once, when first needed
        for index in 0...highest {
            var facts = sx_shm_facts()
            guard sx_shm_facts_at(index, &facts) == 0 else { continue }
            let verdict = NameMapCleanup.verdict(
                segment: facts, user: user, now: now,
                stamp: { header(of: facts.id) },
                creator: { life(of: $0) },
                named: { reference in
                    if named == nil { named = mapsNamedByRunningProcesses() }
                    return named!.contains(reference)
                })
            guard case .stale = verdict else { continue }
            // Unchanged since the look: the same segment (creator, creation time), nobody attached,
            // and the last to attach was this launcher reading the header.
            var again = sx_shm_facts()
            guard sx_shm_facts_of(facts.id, &again) == 0, again.attachments == 0, again.creator_pid == facts.creator_pid,
                  again.change_time == facts.change_time, again.last_pid == getpid() else { continue }
            _ = sx_shm_remove(facts.id)
        }
    }

    /// The stamp in a segment's header, read through a read-only attachment.
    static func header(of id: Int32) -> NameMapStamp? {
        guard let memory = sx_shm_attach(id, 1) else { return nil }
        defer { _ = sx_shm_detach(memory) }
        return NameTable.stamp(in: memory, size: SharedNameMap.size)
    }

    static func life(of pid: Int32) -> NameMapCleanup.ProcessLife {
        guard pid > 0 else { return .none }
        if let ticks = startTime(of: pid) { return .started(ticks) }
        return kill(pid, 0) == 0 || errno == EPERM ? .unknown : .none
    }

    static func startTime(of pid: Int32) -> UInt64? {
        readFile("/proc/" + String(pid) + "/stat", limit: 4096).flatMap(NameMapCleanup.startTime(fromStat:))
    }

    /// Every map a running process has in its environment (those this user may read).
    static func mapsNamedByRunningProcesses() -> [NameMapReference] {
        guard let proc = opendir("/proc") else { return [] }
        defer { closedir(proc) }
        var found: [NameMapReference] = []
        while let entry = readdir(proc) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            guard let first = name.utf8.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else { continue }
            if let environment = readFile("/proc/" + name + "/environ", limit: 16 << 20) {
                found += NameMapCleanup.maps(namedIn: environment)
            }
        }
        return found
    }

    /// A whole (small, /proc) file, or nil; at most `limit` bytes.
    static func readFile(_ path: String, limit: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while bytes.count < limit {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return nil }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return bytes
    }
}
