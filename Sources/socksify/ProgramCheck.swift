import Glibc

/// Programs LD_PRELOAD cannot reach: their traffic would silently go direct, so the launcher
/// refuses them with the reason instead.
enum ProgramCheck {
    /// The file execvp would run: a name with a slash as is, else the first match on $PATH.
    static func resolve(_ program: String) -> String? {
        if program.contains("/") { return program }
        let path = Environment.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in path.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (folder.isEmpty ? "." : String(folder)) + "/" + program
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    static func whyPreloadCannotWork(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        let setID = info.st_mode & (S_ISUID | S_ISGID) != 0
        if setID && getuid() != 0 {
            return "\(path) is setuid/setgid: the loader ignores LD_PRELOAD for it, so its connections would bypass the proxy"
        }
        if isStaticELF(path) {
            return "\(path) is statically linked: LD_PRELOAD cannot reach it, so its connections would bypass the proxy"
        }
        return nil
    }

    /// An ELF executable without a PT_INTERP program header has no dynamic loader.
    static func isStaticELF(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: 64)
        guard pread(fd, &header, 64, 0) == 64, header[0..<4] == [0x7F, 0x45, 0x4C, 0x46], header[4] == 2, header[5] == 1 else {
            return false  // not a 64-bit little-endian ELF (a script, or another kind): leave it alone
        }
        func u16(_ o: Int) -> Int { Int(header[o]) | Int(header[o + 1]) << 8 }
        func u64(_ o: Int) -> Int { (0..<8).reduce(0) { $0 | Int(header[o + $1]) << (8 * $1) } }
        let phoff = u64(32), phentsize = u16(54), phnum = u16(56)
        guard phentsize >= 4, phnum > 0, phnum < 256 else { return false }
        var entry = [UInt8](repeating: 0, count: phentsize)
        for i in 0..<phnum {
            guard pread(fd, &entry, phentsize, off_t(phoff + i * phentsize)) == phentsize else { return false }
            let type = UInt32(entry[0]) | UInt32(entry[1]) << 8 | UInt32(entry[2]) << 16 | UInt32(entry[3]) << 24
            if type == 3 { return false }  // PT_INTERP
        }
        return true
    }
}
