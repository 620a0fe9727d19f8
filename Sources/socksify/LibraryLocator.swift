import Glibc

/// Finds libsocksify.so: $SOCKSIFY_LIBRARY if set, else next to this executable (a build
/// folder), else ../lib/socksify/ beside it (an installed copy). Never the current directory.
/// The path is made absolute, since the program may change directory.
enum LibraryLocator {
    static let overrideVariable = "SOCKSIFY_LIBRARY"
    static let fileName = "libsocksify-preload.so"

    static func find() -> String? {
        if let override = Environment.get(overrideVariable), !override.isEmpty {
            return absolute(override)
        }
        guard let executable = absolute("/proc/self/exe") else { return nil }
        let folder = String(executable[..<(executable.lastIndex(of: "/") ?? executable.startIndex)])
        for candidate in [folder + "/" + fileName, folder + "/../lib/socksify/" + fileName] {
            if let path = absolute(candidate) { return path }
        }
        return nil
    }

    /// realpath(3): nil if the file does not exist.
    static func absolute(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
