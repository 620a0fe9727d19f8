import Glibc

/// Reads the launcher's own environment.
enum Environment {
    static func get(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }
}

/// The variables the launcher hands to the program (and through it to the shim).
struct LaunchEnvironment {
    private(set) var values: [(String, String?)] = []

    mutating func set(_ name: String, _ value: String) { values.append((name, value)) }
    mutating func unset(_ name: String) { values.append((name, nil)) }

    /// Puts the library first in LD_PRELOAD, keeping what the user had there.
    mutating func prependPreload(_ library: String) {
        // Plain loops: a generic split/join here instantiates metadata the launch otherwise
        // never needs (the launcher runs before every program).
        var preload = library
        for other in (Environment.get("LD_PRELOAD") ?? "").split(separator: ":") {
            for part in other.split(separator: " ") {
                let word = String(part)
                if word != library { preload += ":" + word }
            }
        }
        set("LD_PRELOAD", preload)
    }

    func apply() {
        for (name, value) in values {
            if let value { setenv(name, value, 1) } else { unsetenv(name) }
        }
    }
}
