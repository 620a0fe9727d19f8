// swift-tools-version: 6.1
import PackageDescription

// The core is compiled twice from one folder: as ordinary Swift (SocksifyCore, for the launcher
// and the tests) and as Embedded Swift (ShimCore, a symlink to the same sources plus the C entry
// points) for the library that loads into other people's programs. See ../shared/PRELOAD-NOTES.md.
let versionScript = Context.packageDirectory + "/Sources/CShim/exports.map"
let hotSymbols = Context.packageDirectory + "/Sources/CShim/hot-symbols.txt"
let layoutScript = Context.packageDirectory + "/Sources/CShim/layout.ld"

let package = Package(
    name: "socksify",
    products: [
        .executable(name: "socksify", targets: ["socksify"]),
        // SwiftPM refuses two products named "socksify", so the library is libsocksify-preload.so.
        .library(name: "socksify-preload", type: .dynamic, targets: ["CShim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // libc declarations for both compilations (Embedded Swift has no Glibc module) and the
        // pointers to the real libc functions, so the core never calls its own interposers.
        .target(name: "SocksifyLibc", cSettings: [.unsafeFlags(["-fvisibility=hidden", "-ffunction-sections", "-fdata-sections"])]),
        .target(name: "SocksifyCore", dependencies: ["SocksifyLibc"]),
        .target(
            name: "ShimCore",
            dependencies: ["SocksifyLibc"],
            // The launcher's checks of the program it runs and its backstop policy: nothing the library needs.
            exclude: ["Core/Program", "Core/Protocol/DNS", "Core/Shim/Shim+Backstop.swift", "Core/Shim/Shim+NameQueries.swift"],
            swiftSettings: [
                .enableExperimentalFeature("Embedded"),
                // One section per function, so the link can drop unused ones and order the rest.
                // (The frontend keeps an object whose LLVM IR did not change, so after changing
                // only code-generation flags, delete .build/*/ShimCore.build/*.o.)
                .unsafeFlags(["-wmo", "-Osize", "-Xfrontend", "-function-sections"]),
            ]
        ),
        .target(
            name: "CShim",
            dependencies: ["ShimCore", "SocksifyLibc"],
            cSettings: [.unsafeFlags(["-fvisibility=hidden", "-O2", "-ffunction-sections", "-fdata-sections"])],
            linkerSettings: [
                .linkedLibrary("dl"),
                .unsafeFlags([
                    "-enable-experimental-feature", "Embedded",
                    // lld binds the core's own metadata locally; gold left it in .dynsym.
                    "-use-ld=lld",
                    "-Xlinker", "--version-script=\(versionScript)",
                    "-Xlinker", "-z", "-Xlinker", "nodelete",
                    // Unused functions out; the ones a connection runs first (bench/hot-symbols.sh).
                    "-Xlinker", "--gc-sections",
                    "-Xlinker", "--symbol-ordering-file=\(hotSymbols)", "-Xlinker", "--no-warn-symbol-ordering",
                    "-Xlinker", layoutScript,
                ]),
                // A release shim carries no debug info: smaller to map, and valgrind 3.19 cannot
                // read the DWARF that lld writes.
                .unsafeFlags(["-Xlinker", "--strip-debug"], .when(configuration: .release)),
            ]
        ),
        .executableTarget(
            name: "socksify",
            dependencies: [
                "SocksifyCore",
                "SocksifyLibc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // The launcher runs before every wrapped program: a static stdlib spares it loading
            // and relocating the Swift runtime's shared libraries.
            linkerSettings: [.unsafeFlags(["-static-executable", "-l_FoundationCollections", "-l_FoundationCShims"])]
        ),
        .testTarget(name: "SocksifyCoreTests", dependencies: ["SocksifyCore"]),
        // Measures a rule lookup with a large rules file (bench/rules.sh runs it in release).
        .executableTarget(name: "rules-bench", dependencies: ["SocksifyCore"], path: "bench/RulesBench"),
    ]
)
