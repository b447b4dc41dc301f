// swift-tools-version:6.0
// moesim: a discrete-event simulator of Mixture-of-Experts LLM serving on GPU clusters.
// No package dependencies: the standard library, Foundation and the toolchain's Swift Testing only.
import PackageDescription

let package = Package(
    name: "moesim",
    products: [
        .executable(name: "moesim", targets: ["moesim"]),
        .executable(name: "moesim-bench", targets: ["moesim-bench"]),
        .library(name: "MoESim", targets: ["SimKit", "Cluster", "Serving", "Studies", "MoESimCLI"]),
    ],
    targets: [
        .target(name: "SimKit"),
        .target(name: "Cluster", dependencies: ["SimKit"]),
        .target(name: "Serving", dependencies: ["SimKit", "Cluster"]),
        .target(name: "Studies", dependencies: ["SimKit", "Cluster", "Serving"]),
        .target(name: "MoESimCLI", dependencies: ["SimKit", "Cluster", "Serving", "Studies"]),
        .executableTarget(name: "moesim", dependencies: ["MoESimCLI"]),
        .executableTarget(name: "moesim-bench", dependencies: ["MoESimCLI", "Studies", "Serving", "Cluster"]),
        .testTarget(name: "SimKitTests", dependencies: ["SimKit"]),
        .testTarget(name: "ClusterTests", dependencies: ["Cluster"]),
        .testTarget(name: "ServingTests", dependencies: ["Serving"]),
        .testTarget(name: "StudiesTests", dependencies: ["Studies"]),
        .testTarget(name: "MoESimCLITests", dependencies: ["MoESimCLI"]),
    ]
)
