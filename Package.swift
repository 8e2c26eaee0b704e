// swift-tools-version:6.0
// The ICL workbench: in-context learning experiments in Swift (see README.md for the module map).
import PackageDescription

/// Release builds of the numeric libraries drop bounds checks (shapes are checked once per op instead).
let fast: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

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
        .target(name: "BLASRuntime", dependencies: ["CLapack"]),
        // Zlib, only to read compressed .npz files (np.savez_compressed).
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "NumericCore",
            dependencies: ["CLapack", "BLASRuntime", "CZlib"],
            swiftSettings: fast),
        .target(name: "TestSupport", dependencies: ["NumericCore"]),
        .target(name: "Tasks", dependencies: ["NumericCore"], swiftSettings: fast),
        .target(name: "ClassicalLearners", dependencies: ["NumericCore", "Tasks"], swiftSettings: fast),
        .target(name: "Models", dependencies: ["NumericCore", "Tasks"], swiftSettings: fast),
        .target(name: "Training", dependencies: ["NumericCore", "Tasks", "Models"], swiftSettings: fast),
        .target(name: "Analysis", dependencies: ["NumericCore", "Tasks", "ClassicalLearners"], swiftSettings: fast),
        .target(name: "Experiments",
                dependencies: ["NumericCore", "Tasks", "ClassicalLearners", "Models", "Training", "Analysis"]),
        .executableTarget(
            name: "icl",
            dependencies: ["NumericCore", "Tasks", "Experiments",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "icl-bench", dependencies: ["NumericCore", "Tasks", "ClassicalLearners", "Models", "Training"]),
        .testTarget(name: "NumericCoreTests", dependencies: ["NumericCore", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "TaskFamilyTests", dependencies: ["NumericCore", "TestSupport", "Tasks", "ClassicalLearners"]),
        .testTarget(name: "LinearRegressionTests",
                    dependencies: ["NumericCore", "TestSupport", "Tasks", "ClassicalLearners", "Models", "Training",
                                   "Analysis", "Experiments"]),
    ],
    swiftLanguageModes: [.v5]
)
