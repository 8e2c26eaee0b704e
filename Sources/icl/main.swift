import ArgumentParser
import Foundation
import NumericCore

@main
struct ICL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "icl",
        abstract: "The in-context learning workbench: which algorithm does this transformer run?",
        subcommands: [Demo.self, BLASCommand.self])
}

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "A tiny end-to-end computation on the numeric core.")
    @Option(help: "Random seed.") var seed: UInt64 = 0

    func run() throws {
        print(BLASInfo.summary)
        var rng = Xoshiro256(seed: seed)
        let (n, d) = (20, 5)
        let x = Tensor.randomNormal([n, d], using: &rng), w = Tensor.randomNormal([d], using: &rng)
        let y = matmul(x, w.reshaped(to: [d, 1])).reshaped(to: [n])
        let ols = try LinearAlgebra.leastSquares(x, y)
        print("least squares recovers w: max |ŵ − w| = \(ols.maxAbsDifference(w))")
    }
}

struct BLASCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "blas", abstract: "Which BLAS kernel this machine runs.")
    func run() {
        print(BLASInfo.summary)
        print(BLASInfo.configuration)
    }
}
