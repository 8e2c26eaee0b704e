// swift-tools-version:6.0
// The ICL workbench: in-context learning experiments in Swift (see README.md for the module map).
import PackageDescription

// Release builds are plain -O: bounds and overflow checks stay on everywhere (untrusted files and configs are
// parsed here); the hot kernels validate shapes once and then use unsafe buffer pointers, so they lose nothing.
// No unsafeFlags, so other packages can depend on the NumericCore library product.

let package = Package(
    name: "ICLWorkbench",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "icl", targets: ["icl"]),
        .library(name: "NumericCore", targets: ["NumericCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Debian's liblapacke-dev (LAPACKE) and libopenblas-dev (CBLAS), linked as system libraries.
        .systemLibrary(
            name: "CLapack",
            providers: [.apt(["liblapacke-dev", "libopenblas-dev"])]),
        // Kernel selection for OpenBLAS and BLAS introspection (C, runs before main).
        .target(name: "BLASRuntime", dependencies: ["CLapack"], exclude: ["README.md"]),
        // Zlib, only to read compressed .npz files (np.savez_compressed).
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // Debian's libsqlite3-dev: the run store (a thin wrapper in Experiments/SQLite.swift).
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .target(
            name: "NumericCore",
            dependencies: ["CLapack", "BLASRuntime", "CZlib"],
            exclude: ["README.md"]),
        .target(name: "TestSupport", dependencies: ["NumericCore"]),
        .target(name: "Tasks", dependencies: ["NumericCore"], exclude: ["README.md"]),
        .target(name: "ClassicalLearners", dependencies: ["NumericCore", "Tasks", "BLASRuntime"], exclude: ["README.md"]),
        .target(name: "Models", dependencies: ["NumericCore", "Tasks", "BLASRuntime"], exclude: ["README.md"]),
        .target(name: "Training", dependencies: ["NumericCore", "Tasks", "Models"], exclude: ["README.md"]),
        .target(name: "Analysis", dependencies: ["NumericCore", "Tasks", "ClassicalLearners"], exclude: ["README.md"]),
        // Figures as SVG text: pure functions of data (no dependencies).
        .target(name: "Plots", exclude: ["README.md"]),
        .target(name: "Experiments",
                dependencies: ["NumericCore", "Tasks", "ClassicalLearners", "Models", "Training", "Analysis", "Plots",
                               "CSQLite"],
                exclude: ["README.md"]),
        .executableTarget(
            name: "icl",
            dependencies: ["NumericCore", "Tasks", "Training", "Experiments",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "icl-bench", dependencies: ["NumericCore", "Tasks", "ClassicalLearners", "Models", "Training"]),
        .executableTarget(name: "notebook-01-von-oswald", dependencies: ["NumericCore", "Tasks", "ClassicalLearners", "Models", "Analysis", "Experiments", "Plots"],
                          path: "Notebooks/01-VonOswald", exclude: ["report"]),
        .executableTarget(name: "notebook-02-mahankali",
                          dependencies: ["NumericCore", "Tasks", "ClassicalLearners", "Models", "Training", "Analysis", "Experiments", "Plots"],
                          path: "Notebooks/02-Mahankali", exclude: ["report"]),
        .executableTarget(name: "notebook-03-zhang-frei-bartlett",
                          dependencies: ["NumericCore", "Tasks", "ClassicalLearners", "Models", "Training", "Analysis", "Experiments", "Plots"],
                          path: "Notebooks/03-ZhangFreiBartlett", exclude: ["report"]),
        .executableTarget(name: "notebook-04-gatmiry",
                          dependencies: ["NumericCore", "Tasks", "ClassicalLearners", "Models", "Training", "Analysis", "Experiments", "Plots"],
                          path: "Notebooks/04-Gatmiry", exclude: ["report"]),
        .executableTarget(name: "notebook-05-fu",
                          dependencies: ["NumericCore", "Tasks", "Models", "Analysis", "Experiments", "Plots"],
                          path: "Notebooks/05-Fu", exclude: ["report"]),
        .executableTarget(name: "notebook-08-boolean-baselines",
                          dependencies: ["NumericCore", "Tasks", "ClassicalLearners", "Analysis", "Experiments", "Plots"],
                          path: "Notebooks/08-BooleanBaselines", exclude: ["report"]),
        .testTarget(name: "NumericCoreTests", dependencies: ["NumericCore", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "PlotsTests", dependencies: ["Plots"]),
        .testTarget(name: "TaskFamilyTests", dependencies: ["NumericCore", "TestSupport", "Tasks", "ClassicalLearners", "Analysis"]),
        .testTarget(name: "LinearRegressionTests",
                    dependencies: ["NumericCore", "TestSupport", "Tasks", "ClassicalLearners", "Models", "Training",
                                   "Analysis", "Experiments", "Plots"],
                    exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v5]
)
